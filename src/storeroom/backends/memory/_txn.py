"""Transactions of the ``memory`` backend: checked and published under its one lock.

Every check runs before the first change, all under the core's lock, so a
reader sees the store before the commit or after it, never in between (TXN-020).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

from storeroom._txn_core import GONE, BackendTransaction, Moved, Plan, conflict
from storeroom.backend import Backend, Source, read_all
from storeroom.backends.memory._core import EMPTY, File, Folder, MemoryCore
from storeroom.errors import InvalidPath

__all__ = ["MemoryTransaction"]


class MemoryTransaction(BackendTransaction):
    """Staged files are immutable records held by the transaction until the commit."""

    def __init__(self, backend: Backend, core: MemoryCore) -> None:
        super().__init__(backend)
        self.core = core

    def _stage(self, key: str, src: Source, metadata: Mapping[str, str] | None) -> Any:
        meta = types.MappingProxyType(dict(metadata)) if metadata else EMPTY
        return File(read_all(src), meta)

    def _read_staged(self, handle: Any) -> bytes:
        data: bytes = handle.data
        return data

    def _publish(self, plan: Plan) -> None:
        core = self.core
        changes = plan.changes
        with core.lock:
            index = core.index
            for key, was_file in plan.expect.items():
                if (type(index.get(key)) is File) != was_file:
                    raise conflict(key, was_file)
            moved: dict[str, Any] = {src: index[src] for src in plan.sources()}
            puts = [k for k, v in changes.items() if v is not GONE]
            targets = set(puts)
            for key in puts:
                if type(index.get(key)) is Folder:
                    raise InvalidPath("a folder exists at this path", path=key)
                up = key.rpartition("/")[0]
                while up:
                    node = index.get(up)
                    if up in targets or (type(node) is File and changes.get(up) is not GONE):
                        raise InvalidPath("a parent of this path is a file", path=key)
                    up = up.rpartition("/")[0]
            # Nothing can fail from here on.
            for key, value in changes.items():
                if (value is GONE or isinstance(value, Moved)) and type(index.get(key)) is File:
                    core.detach(key)
            for key in puts:
                value = changes[key]
                core.put(key, moved[value.src] if isinstance(value, Moved) else value)
