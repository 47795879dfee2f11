"""Conditional writes of the ``sql-blob`` backend: compare-and-swap in one transaction.

The path's row is read with ``FOR UPDATE`` (PostgreSQL) or under SQLite's
``BEGIN IMMEDIATE`` write lock, its version id compared with the caller's
etag, and the new version swapped in (or the row deleted) before the
transaction commits, so no other writer can slip in between (spec COND-042).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from storeroom._cond import precondition_failed
from storeroom.backend import Source, unsupported
from storeroom.backends.sql._flat import too_large
from storeroom.backends.sql._sql import err, etag, new_id
from storeroom.backends.sql._write import Writes, _result
from storeroom.backends.sql.errors import BACKEND
from storeroom.capabilities import Capability
from storeroom.errors import InvalidPath
from storeroom.models import WriteResult

__all__ = ["ConditionalWrites"]

_BYTES = (bytes, bytearray, memoryview)


class ConditionalWrites(Writes):
    """``write_if_match`` / ``delete_if_match`` of ``SQLBlobBackend`` (a mixin)."""

    _ready: bool
    capabilities: frozenset[Capability]

    if TYPE_CHECKING:

        def _has_below(self, conn: sa.Connection, key: str) -> bool: ...

    def _versioned(self, op: str) -> None:
        """``CapabilityNotSupported`` for a table in remote-store's layout (no versions)."""
        if not self._ready:
            self._run("", op, lambda conn: None, write=False)  # finds the layout
        if Capability.CONDITIONAL_WRITE not in self.capabilities:
            raise unsupported(Capability.CONDITIONAL_WRITE, BACKEND, op)

    def _matched(self, conn: sa.Connection, key: str, expected: str, op: str) -> int:
        """The locked version id of file ``key`` when its etag is ``expected``."""
        found = self._s.find(conn, k=key).first()
        if found is None:
            if key and self._has_below(conn, key):
                raise err(InvalidPath, "expected a file, found a folder", key)
            raise precondition_failed(key, BACKEND, expected, None, op)
        vid: int = found[0]
        if etag(vid) != expected:
            raise precondition_failed(key, BACKEND, expected, etag(vid), op)
        return vid

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Compare the version id and swap in the new version in one transaction."""
        self._versioned("write")
        expected = etag
        fid, now = new_id(), time.time_ns() // 1000
        md = json.dumps(dict(metadata), sort_keys=True) if metadata else None
        known = len(src) if isinstance(src, _BYTES) else -1
        if self._max is not None and known > self._max:
            raise too_large(key, self._max)
        row: dict[str, Any] = {"id": fid, "path": key, "size": 0, "mtime": now}
        row.update(chunk_size=self._cs, meta=md)

        def run(conn: sa.Connection) -> int:
            old = self._matched(conn, key, expected, "write")
            row["size"] = size = self._put_chunks(conn, fid, src, key)
            self._swap(conn, old, row)
            return size

        size = self._run(key, "write", run, write=True)
        return _result(key, size, fid, now, md)

    def delete_if_match(self, key: str, etag: str) -> None:
        """Compare the version id and delete the row and its chunks in one transaction."""
        self._versioned("delete")

        def run(conn: sa.Connection) -> None:
            old = self._matched(conn, key, etag, "delete")
            self._s.drop_row(conn, old=old)
            self._s.drop(conn, old=old)

        self._run(key, "delete", run, write=True)
