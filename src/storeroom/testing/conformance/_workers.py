"""Functions run in worker processes by the pickling tests (importable by spawn)."""

from __future__ import annotations

from storeroom.registry import Registry
from storeroom.store import Store

__all__ = ["read_and_write", "registry_read"]


def read_and_write(store: Store, src: str, dst: str) -> bytes:
    """In the worker: read ``src`` and write it back reversed to ``dst``."""
    data = store.read_bytes(src)
    store.write(dst, data[::-1])
    return data


def registry_read(registry: Registry, name: str, path: str) -> bytes:
    """In the worker: read ``path`` from store ``name`` of an unpickled Registry."""
    with registry:
        return registry.get_store(name).read_bytes(path)
