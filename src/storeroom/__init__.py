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
from storeroom.capabilities import Capability, CapabilitySet
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
from storeroom.credentials import Credentials, Token
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    DecryptionError,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RemoteStoreError,
    ResourceLocked,
    StoreroomError,
)
from storeroom.models import (
    ContentDigest,
    FileInfo,
    FolderEntry,
    FolderInfo,
    PathEntry,
    ResolutionPlan,
    WriteResult,
)
from storeroom.path import RemotePath
from storeroom.registry import Registry, register_backend, register_layer
from storeroom.store import Store

if TYPE_CHECKING:
    from storeroom._info import BackendInfo, ExtensionInfo, InfoResult, info
    from storeroom.aio.adapters import AsyncBackendSyncAdapter
    from storeroom.ext.batch import BatchResult, batch_copy, batch_delete, batch_exists
    from storeroom.ext.cache import CacheBackend, CachedStore, CacheStats, MemoryCache, cache
    from storeroom.ext.integrity import checksum, content_digest, verify
    from storeroom.ext.observe import (
        BufferedObserver,
        ObservedStore,
        StoreEvent,
        observe,
        set_correlation_id,
    )
    from storeroom.ext.streams import ChecksumReader, ChecksumWriter, ProgressReader, ProgressWriter
    from storeroom.ext.transfer import download, transfer, upload
    from storeroom.ext.write import HashingAtomicWriter, open_atomic_with_hash, write_with_hash
    from storeroom.proxy import ProxyStore
    from storeroom.urls import open_store

__version__ = "0.1.0.dev0"

# Library convention: the application decides where log records go. Without a
# handler of its own, Python's last-resort handler would print storeroom's
# warnings to stderr.
logging.getLogger("storeroom").addHandler(logging.NullHandler())


#: Names loaded on first use (``import storeroom`` stays small): name → module.
#: The helpers and wrappers are remote-store's top-level names (spec COMPAT-001).
_LAZY: dict[str, str] = {
    "open_store": "storeroom.urls",
    "ProxyStore": "storeroom.proxy",
    "AsyncBackendSyncAdapter": "storeroom.aio.adapters",
    **dict.fromkeys(("BackendInfo", "ExtensionInfo", "InfoResult", "info"), "storeroom._info"),
    **dict.fromkeys(
        ("BatchResult", "batch_copy", "batch_delete", "batch_exists"), "storeroom.ext.batch"
    ),
    **dict.fromkeys(
        ("CacheBackend", "CacheStats", "CachedStore", "MemoryCache", "cache"), "storeroom.ext.cache"
    ),
    "glob_files": "storeroom.ext.glob",
    **dict.fromkeys(
        ("ParsedPartition", "parse_partition", "partition_path"), "storeroom.ext.partition"
    ),
    **dict.fromkeys(
        ("BufferedObserver", "ObservedStore", "StoreEvent", "observe", "set_correlation_id"),
        "storeroom.ext.observe",
    ),
    **dict.fromkeys(
        ("checksum", "content_digest", "verify", "verify_hex"), "storeroom.ext.integrity"
    ),
    **dict.fromkeys(
        (
            "ChecksumReader",
            "ChecksumWriter",
            "ProgressReader",
            "ProgressWriter",
            "read_with_progress",
        ),
        "storeroom.ext.streams",
    ),
    **dict.fromkeys(("download", "transfer", "upload"), "storeroom.ext.transfer"),
    **dict.fromkeys(
        ("HashingAtomicWriter", "open_atomic_with_hash", "write_with_hash"), "storeroom.ext.write"
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storeroom' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AlreadyExists",
    "AsyncBackendSyncAdapter",
    "Backend",
    "BackendConfig",
    "BackendInfo",
    "BackendOptions",
    "BackendProtocol",
    "BackendUnavailable",
    "BatchResult",
    "BufferedObserver",
    "CacheBackend",
    "CacheStats",
    "CachedStore",
    "Capability",
    "CapabilityNotSupported",
    "CapabilitySet",
    "ChecksumReader",
    "ChecksumWriter",
    "ConfigError",
    "ContentDigest",
    "Credentials",
    "DecryptionError",
    "DirectoryNotEmpty",
    "ExtensionInfo",
    "FileInfo",
    "FolderEntry",
    "FolderInfo",
    "Forwarding",
    "HashingAtomicWriter",
    "InfoResult",
    "InvalidArgument",
    "InvalidPath",
    "LayerConfig",
    "MemoryCache",
    "NotFound",
    "ObservedStore",
    "ParsedPartition",
    "PathEntry",
    "PermissionDenied",
    "PreconditionFailed",
    "ProgressReader",
    "ProgressWriter",
    "ProxyStore",
    "Registry",
    "RegistryConfig",
    "RemotePath",
    "RemoteStoreError",
    "ResolutionPlan",
    "ResourceLocked",
    "RetryPolicy",
    "Secret",
    "SecretRedactionFilter",
    "Store",
    "StoreEvent",
    "StoreProfile",
    "StoreroomError",
    "Token",
    "WriteResult",
    "__version__",
    "batch_copy",
    "batch_delete",
    "batch_exists",
    "cache",
    "checksum",
    "content_digest",
    "download",
    "glob_files",
    "info",
    "observe",
    "open_atomic_with_hash",
    "open_store",
    "parse_partition",
    "partition_path",
    "read_with_progress",
    "register_backend",
    "register_layer",
    "resolve_env",
    "set_correlation_id",
    "transfer",
    "upload",
    "verify",
    "verify_hex",
    "write_with_hash",
]
