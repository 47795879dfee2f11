"""Shared helpers of the fsspec tests: a config-based filesystem on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from every_backend import registry_on
from storeroom import Store
from storeroom.ext.fsspec import StoreroomFileSystem, clear_registry_cache


@contextmanager
def fs_on(backend: str, tmp_path: Path, **store_extra: Any) -> Iterator[StoreroomFileSystem]:
    """A ``StoreroomFileSystem`` over a config whose store ``s`` is on ``backend``."""
    registry = registry_on(backend, tmp_path, **store_extra)
    fs = StoreroomFileSystem(config=registry.config)
    try:
        yield fs
    finally:
        try:
            store = fs.store_for("s")
            whole = Store(store.backend, owns_backend=False)
            whole.delete_folder(store.root_path, recursive=True, missing_ok=True)
        except Exception:  # cleanup only
            pass
        clear_registry_cache()
        registry.close()
