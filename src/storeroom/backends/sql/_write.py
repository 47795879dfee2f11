"""Writes of the ``sql-blob`` backend: write, delete, copy, move, remove_folder.

Each is one transaction (SQLite: ``BEGIN IMMEDIATE``). A write inserts its
chunks under a new version id and points the path's row at it, so the path
shows the old content or the new one, never a mix; a new name is claimed by
inserting its row, so the unique index decides races between creators.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa

from storeroom.backend import Source
from storeroom.backends.sql._flat import too_large
from storeroom.backends.sql._sql import Statements, bounds, err, etag, meta, new_id, when
from storeroom.errors import AlreadyExists, DirectoryNotEmpty, InvalidPath, NotFound
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = ["Writes"]

T = TypeVar("T")
_BYTES = (bytes, bytearray, memoryview)


def _result(key: str, size: int, fid: int, now: int, md: str | None) -> WriteResult:
    return WriteResult(
        RemotePath._trusted(key),
        size,
        etag=etag(fid),
        last_modified=when(now),
        metadata=dict(meta(md)),
    )


class Writes:
    """The writing half of ``SQLBlobBackend`` (a mixin: it uses the backend's ``_run``)."""

    _s: Statements
    _cs: int
    _max: int | None
    _files: sa.Table
    _chunks: sa.Table

    if TYPE_CHECKING:

        def _run(
            self, key: str, op: str, fn: Callable[[sa.Connection], T], *, write: bool
        ) -> T: ...

        def _missing(self, conn: sa.Connection, key: str) -> Any: ...

        def _has_below(self, conn: sa.Connection, key: str) -> bool: ...

    def _check_new(self, conn: sa.Connection, key: str) -> None:
        """``InvalidPath`` when a parent of the new name ``key`` is a file or it is a folder.

        Only new names need this: an existing file has neither (writes keep
        that true; SQL-024 has the PostgreSQL caveat).
        """
        parts = key.split("/")
        names = {f"p{i}": "/".join(parts[: i + 1]) for i in range(len(parts) - 1)}
        lo, hi = bounds(key)
        hit = self._s.conflicts(len(names))(conn, lo=lo, hi=hi, **names).first()
        if hit is not None and len(hit[0]) < len(key):
            raise err(InvalidPath, "a parent of this path is a file", key)
        if hit is not None:
            raise err(InvalidPath, "a folder exists at this path", key)

    def _claim(
        self, conn: sa.Connection, key: str, overwrite: bool, row: dict[str, Any]
    ) -> tuple[int | None, bool]:
        """``(old id, old has ≤ 1 chunk)`` of the file at ``key``, locked; or ``(None, False)``
        after inserting ``row`` for a new name.

        Without ``overwrite`` the insert is the authority: a concurrent creator
        makes it fail with a unique violation (``AlreadyExists``). With it, a
        name created meanwhile is replaced.
        """
        s = self._s
        while True:
            found = s.find(conn, k=key).first()
            if found is not None:
                if not overwrite:
                    hint = "pass overwrite=True to replace it"
                    raise err(AlreadyExists, "file already exists", key, hint)
                return found[0], bool(found[1])
            self._check_new(conn, key)
            if not overwrite:
                s.insert(conn, **row)
                return None, False
            if s.claim(conn, **row).first() is not None:
                return None, False

    def _swap(self, conn: sa.Connection, old: int, row: dict[str, Any]) -> None:
        """Point the path's row (version ``old``) at version ``row`` and drop old chunks."""
        self._s.swap(conn, old=old, **{f"n_{k}": v for k, v in row.items() if k != "path"})
        self._s.drop(conn, old=old)

    def _put_chunks(self, conn: sa.Connection, fid: int, src: Source, key: str = "") -> int:
        """Insert ``src`` as chunks of version ``fid``; returns the byte count."""
        cs, put, limit = self._cs, self._s.put, self._max
        if isinstance(src, _BYTES):
            data = src if type(src) is bytes else bytes(src)
            for seq, i in enumerate(range(0, len(data), cs)):
                put(
                    conn,
                    file_id=fid,
                    seq=seq,
                    data=data[i : i + cs] if i or len(data) > cs else data,
                )
            return len(data)
        total = seq = 0
        read = src.read
        while block := read(cs) or b"":
            while len(block) < cs and (more := read(cs - len(block))):
                block += more
            total += len(block)
            if limit is not None and total > limit:
                raise too_large(key, limit)  # the transaction rolls back: nothing written
            put(conn, file_id=fid, seq=seq, data=bytes(block))
            seq += 1
            if len(block) < cs:
                break
        return total

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Write ``src`` in one transaction: the path shows the old or the new content."""
        fid, now, s = new_id(), time.time_ns() // 1000, self._s
        md = json.dumps(dict(metadata), sort_keys=True) if metadata else None
        known = len(src) if isinstance(src, _BYTES) else -1
        if self._max is not None and known > self._max:
            raise too_large(key, self._max)
        row = {"id": fid, "path": key, "size": max(known, 0), "mtime": now}
        row.update(chunk_size=self._cs, meta=md)

        def run(conn: sa.Connection) -> int:
            old, single = self._claim(conn, key, overwrite, row)
            if old is not None and single and type(src) is bytes and known <= self._cs:
                # One chunk over one chunk: rewrite the chunk row in place (SQL-020).
                if not known:
                    s.drop(conn, old=old)
                elif s.rewrite0(conn, old=old, n_id=fid, d=src).rowcount == 0:
                    s.put(conn, file_id=fid, seq=0, data=src)
                row.pop("path")
                s.swap(conn, old=old, **{f"n_{k}": v for k, v in row.items()})
                return known
            row["size"] = size = self._put_chunks(conn, fid, src, key)
            if old is not None:
                self._swap(conn, old, row)
            elif size != known:
                s.resize(conn, n_id=fid, n_size=size)
            return size

        size = self._run(key, "write", run, write=True)
        return _result(key, size, fid, now, md)

    def delete(self, key: str) -> None:
        def run(conn: sa.Connection) -> None:
            row = self._s.delete(conn, k=key).first()
            if row is None:
                raise self._missing(conn, key)
            self._s.drop(conn, old=row[0])

        self._run(key, "delete", run, write=True)

    def _source(self, conn: sa.Connection, key: str) -> Any:
        row = self._s.source(conn, k=key).first()
        if row is None:
            raise self._missing(conn, key)
        return row

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Server-side copy (``INSERT ... SELECT`` of the chunks) in one transaction."""
        fid, now = new_id(), time.time_ns() // 1000

        def run(conn: sa.Connection) -> tuple[int, int, int, str | None]:
            sid, size, cs, md = self._source(conn, src)
            if src == dst:
                return sid, size, now, md
            row = {"id": fid, "path": dst, "size": size, "mtime": now, "chunk_size": cs}
            row["meta"] = md
            old, _ = self._claim(conn, dst, overwrite, row)
            self._s.copy(conn, n_id=fid, old=sid)
            if old is not None:
                self._swap(conn, old, row)
            return fid, size, now, md

        vid, size, stamp, md = self._run(dst, "copy", run, write=True)
        return _result(dst, size, vid, stamp, md)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename in one transaction (one UPDATE of the path); atomic and no-clobber."""
        s = self._s

        def run(conn: sa.Connection) -> None:
            sid = self._source(conn, src)[0]
            if src == dst:
                return
            found = s.find(conn, k=dst).first()
            if found is None:
                self._check_new(conn, dst)
            elif not overwrite:
                raise err(AlreadyExists, "file already exists", dst, "pass overwrite=True")
            else:
                s.drop_row(conn, old=found[0])
                s.drop(conn, old=found[0])
            # The unique index makes this fail if dst appeared meanwhile.
            s.rename(conn, old=sid, dst=dst)

        self._run(dst, "move", run, write=True)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Delete every file below ``key`` in one transaction (two statements)."""
        f, c = self._files, self._chunks
        lo, hi = bounds(key)
        cond = f.c.path >= lo if hi is None else sa.and_(f.c.path >= lo, f.c.path < hi)

        def run(conn: sa.Connection) -> None:
            if not self._has_below(conn, key):
                raise err(NotFound, "folder not found", key)
            if not recursive:
                hint = "pass recursive=True to delete it with its content"
                raise err(DirectoryNotEmpty, "folder is not empty", key, hint)
            ids = sa.select(f.c.id).where(cond).scalar_subquery()
            conn.execute(sa.delete(c).where(c.c.file_id.in_(ids)))
            conn.execute(sa.delete(f).where(cond))

        self._run(key, "remove_folder", run, write=True)
