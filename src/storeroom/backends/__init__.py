"""Backends shipped with storeroom. Each is imported only when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeroom.backends.local import LocalBackend
    from storeroom.backends.memory import MemoryBackend
    from storeroom.backends.s3 import S3Backend

__all__ = ["LocalBackend", "MemoryBackend", "S3Backend"]

_LAZY = {
    "LocalBackend": "storeroom.backends.local",
    "MemoryBackend": "storeroom.backends.memory",
    "S3Backend": "storeroom.backends.s3",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storeroom.backends' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
