"""Backends shipped with storeroom. Each is imported only when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeroom.backends.azure import AzureBackend
    from storeroom.backends.http import HTTPBackend
    from storeroom.backends.local import LocalBackend
    from storeroom.backends.memory import MemoryBackend
    from storeroom.backends.s3 import S3Backend
    from storeroom.backends.sftp import SFTPBackend
    from storeroom.backends.sql import SQLBlobBackend

__all__ = [
    "AzureBackend",
    "HTTPBackend",
    "LocalBackend",
    "MemoryBackend",
    "S3Backend",
    "SFTPBackend",
    "SQLBlobBackend",
]

_LAZY = {
    "AzureBackend": "storeroom.backends.azure",
    "LocalBackend": "storeroom.backends.local",
    "MemoryBackend": "storeroom.backends.memory",
    "HTTPBackend": "storeroom.backends.http",
    "SQLBlobBackend": "storeroom.backends.sql",
    "SFTPBackend": "storeroom.backends.sftp",
    "S3Backend": "storeroom.backends.s3",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storeroom.backends' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
