"""storeroom: one folder-scoped Store API over many storage backends, chosen by config.

>>> from storeroom import Registry, RegistryConfig
>>> config = RegistryConfig.from_dict({
...     "backends": {"main": {"type": "memory"}},
...     "stores": {"data": {"backend": "main", "root_path": "reports"}},
... })
>>> with Registry(config) as registry:
...     store = registry.get_store("data")
...     _ = store.write("hello.txt", b"hi")
...     store.read_bytes("hello.txt")
b'hi'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from storeroom.backend import Backend, BackendProtocol, Forwarding
from storeroom.capabilities import Capability
from storeroom.config import (
    BackendConfig,
    BackendOptions,
    LayerConfig,
    RegistryConfig,
    RetryPolicy,
    Secret,
    SecretRedactionFilter,
    StoreProfile,
    resolve_env,
)
from storeroom.models import (
    ContentDigest,
    FileInfo,
    FolderEntry,
    FolderInfo,
    ResolutionPlan,
    WriteResult,
)
from storeroom.path import RemotePath
from storeroom.registry import Registry, register_backend, register_layer
from storeroom.store import Store

if TYPE_CHECKING:
    from storeroom.urls import open_store

__version__ = "0.1.0.dev0"

# Library convention: the application decides where log records go. Without a
# handler of its own, Python's last-resort handler would print storeroom's
# warnings to stderr.
logging.getLogger("storeroom").addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    # ``open_store`` is loaded on first use: ``import storeroom`` stays small.
    if name == "open_store":
        from storeroom.urls import open_store

        return open_store
    raise AttributeError(f"module 'storeroom' has no attribute {name!r}")


__all__ = [
    "Backend",
    "BackendConfig",
    "BackendOptions",
    "BackendProtocol",
    "Capability",
    "ContentDigest",
    "FileInfo",
    "FolderEntry",
    "FolderInfo",
    "Forwarding",
    "LayerConfig",
    "Registry",
    "RegistryConfig",
    "RemotePath",
    "ResolutionPlan",
    "RetryPolicy",
    "Secret",
    "SecretRedactionFilter",
    "Store",
    "StoreProfile",
    "WriteResult",
    "__version__",
    "open_store",
    "register_backend",
    "register_layer",
    "resolve_env",
]
