"""Backends shipped with storeroom. Each is imported only when first used."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeroom.backends.local import LocalBackend
    from storeroom.backends.memory import MemoryBackend
    from storeroom.backends.sftp import SFTPBackend

__all__ = ["LocalBackend", "MemoryBackend", "SFTPBackend"]

_LAZY = {
    "LocalBackend": "storeroom.backends.local",
    "MemoryBackend": "storeroom.backends.memory",
    "SFTPBackend": "storeroom.backends.sftp",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'storeroom.backends' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
