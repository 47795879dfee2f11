"""The one-table layout of ``sql-blob``: tables written by remote-store (spec SQL-040..).

remote-store keeps one row per file: ``key`` (the path), ``data`` (the whole
content) and, when present, ``size``, ``modified_at`` (seconds since the
epoch, a float), ``user_metadata`` (JSON), ``content_type``, ``digest`` and
``extra``. ``FlatTable`` serves such a table through the backend's data
operations, writing rows remote-store reads back: content in ``data``, the
optional columns it writes kept up to date, the others left as they are.
Folders are implied by keys. Content is read and written whole (no chunks).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, TypeVar, cast

import sqlalchemy as sa

from storeroom.backend import Entry, Source, derive_folders, entry_sort_key, rel_key
from storeroom.backends.sql._sql import err, meta
from storeroom.errors import (
    AlreadyExists,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import RemotePath, is_store_key, listable

__all__ = ["REQUIRED", "FlatTable", "is_flat"]

T = TypeVar("T")
Run = Callable[..., Any]
#: Columns a one-table layout must have; the others are optional.
REQUIRED = frozenset({"key", "data"})
_OPTIONAL = ("size", "modified_at", "user_metadata", "content_type")
_ESC = "\\"


def is_flat(columns: set[str]) -> bool:
    """True for a remote-store table (``key`` and ``data``, no storeroom ``path``)."""
    return columns >= REQUIRED and "path" not in columns


def _like(prefix: str) -> str:
    body = prefix.replace(_ESC, _ESC * 2).replace("%", _ESC + "%").replace("_", _ESC + "_")
    return body + "%"


class FlatTable:
    """Data operations over one remote-store table (reflected ``table``).

    ``run(key, op, fn, write=...)`` is the backend's runner (transactions,
    error mapping); ``max_size`` the ``max_blob_size`` limit.
    """

    def __init__(self, table: sa.Table, run: Run, max_size: int | None) -> None:
        self.t = table
        self._run = run
        self._max = max_size
        self._cols = {c.name for c in table.columns}
        self._sel = [table.c[n] for n in _OPTIONAL if n in self._cols]

    # -- reading ------------------------------------------------------------------

    def _info(self, key: str, cut: int, row: Any) -> FileInfo:
        got = dict(zip((c.name for c in self._sel), row[1:], strict=True))
        mtime = got.get("modified_at")
        size = got.get("size")
        return FileInfo._fast(
            key[cut:],
            key.rpartition("/")[2],
            int(size) if size is not None else int(row[0] or 0),
            datetime.fromtimestamp(float(mtime), UTC) if mtime is not None else None,
            None,
            got.get("content_type"),
            meta(got.get("user_metadata")),
        )

    def _row(self, conn: sa.Connection, key: str) -> Any:
        size = sa.func.length(self.t.c.data)
        return conn.execute(sa.select(size, *self._sel).where(self.t.c.key == key)).first()

    def _below(self, conn: sa.Connection, key: str) -> bool:
        """Whether folder ``key`` has an entry a listing shows: keys that are not store
        paths (written by another program) do not count, as in listings (SQL-026)."""
        q = sa.select(self.t.c.key).where(self._under(key))
        first = conn.execute(q.limit(1)).first()
        if first is None:
            return False
        if is_store_key(first[0]):  # the common case: one row answers
            return True
        return any(listable(k, "sql-blob") for (k,) in conn.execute(q))

    def _under(self, key: str) -> Any:
        """Keys below folder ``key``: an escaped ``LIKE`` (index-friendly), then an exact
        prefix comparison (SQLite's ``LIKE`` ignores ASCII case)."""
        if not key:
            return sa.true()
        lead = key + "/"
        exact = sa.func.substr(self.t.c.key, 1, len(lead)) == sa.literal(lead, sa.Text)
        return sa.and_(self.t.c.key.like(_like(lead), escape=_ESC), exact)

    def _missing(self, conn: sa.Connection, key: str) -> Any:
        if self._below(conn, key):
            return err(InvalidPath, "expected a file, found a folder", key)
        return err(NotFound, "file not found", key)

    def stat(self, key: str) -> Entry:
        def run(conn: sa.Connection) -> FileInfo:
            row = self._row(conn, key)
            if row is None:
                raise err(NotFound, "file not found", key)
            return self._info(key, 0, row)

        return cast(Entry, self._run(key, "stat", run, write=False))

    def exists(self, key: str) -> bool:
        if not key:
            return True

        def run(conn: sa.Connection) -> bool:
            return self._row(conn, key) is not None or self._below(conn, key)

        return bool(self._run(key, "exists", run, write=False))

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        return bool(self._run(key, "is_folder", lambda c: self._below(c, key), write=False))

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise err(InvalidPath, "byte offsets must not be negative", key)

        def run(conn: sa.Connection) -> bytes:
            row = conn.execute(sa.select(self.t.c.data).where(self.t.c.key == key)).first()
            if row is None:
                raise self._missing(conn, key)
            return bytes(row[0] or b"")

        data = self._run(key, "open_read", run, write=False)
        if start is None and end is None:
            return io.BytesIO(data)
        return io.BytesIO(data[start or 0 : end])

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries below ``prefix`` in entry order (the keys are read in one query)."""
        cut = len(base) + 1 if base else 0
        lead = prefix + "/" if prefix else ""
        size = sa.func.length(self.t.c.data)
        q = sa.select(self.t.c.key, size, *self._sel).where(self._under(prefix))

        def run(conn: sa.Connection) -> list[Any]:
            return list(conn.execute(q))

        rows = sorted(
            (r for r in self._run(prefix, "list", run, write=False) if r[0].startswith(lead)),
            key=lambda r: r[0],
        )
        files = [self._info(r[0], cut, (r[1], *r[2:])) for r in rows if listable(r[0], "sql-blob")]
        rel = rel_key(prefix, base) if prefix else ""
        if recursive:
            return derive_folders(files, rel)
        out: dict[str, Entry] = {}
        for info in files:
            rest = str(info.path)[len(rel) + 1 :] if rel else str(info.path)
            head, slash, _ = rest.partition("/")
            if slash:
                full = f"{rel}/{head}" if rel else head
                out.setdefault(full + "/", FolderEntry._fast(full, head))
            else:
                out[str(info.path)] = info
        return iter(sorted(out.values(), key=entry_sort_key))

    # -- writing ------------------------------------------------------------------

    def _values(
        self, data: bytes, metadata: Mapping[str, str] | None, now: float
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"data": data}
        if "size" in self._cols:
            values["size"] = len(data)
        if "modified_at" in self._cols:
            values["modified_at"] = now
        if "user_metadata" in self._cols:
            values["user_metadata"] = json.dumps(dict(metadata)) if metadata else None
        return values

    def _check_new(self, conn: sa.Connection, key: str) -> None:
        parts = key.split("/")
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        if parents:
            q = sa.select(self.t.c.key).where(self.t.c.key.in_(parents)).limit(1)
            if conn.execute(q).first() is not None:
                raise err(InvalidPath, "a parent of this path is a file", key)
        if self._below(conn, key):
            raise err(InvalidPath, "a folder exists at this path", key)

    def _store(
        self, conn: sa.Connection, key: str, values: dict[str, Any], overwrite: bool
    ) -> None:
        t = self.t
        found = conn.execute(sa.select(sa.literal(1)).where(t.c.key == key)).first()
        if found is not None:
            if not overwrite:
                raise err(AlreadyExists, "file already exists", key, "pass overwrite=True")
            conn.execute(t.update().where(t.c.key == key).values(**values))
            return
        self._check_new(conn, key)
        conn.execute(t.insert().values(key=key, **values))

    def _read_source(self, key: str, src: Source) -> bytes:
        if isinstance(src, bytes | bytearray | memoryview):
            data = bytes(src)
        else:
            limit = -1 if self._max is None else self._max + 1
            data = src.read(limit) or b""
        if self._max is not None and len(data) > self._max:
            raise too_large(key, self._max)
        return data

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        data, now = self._read_source(key, src), time.time()
        values = self._values(data, metadata, now)
        self._run(key, "write", lambda c: self._store(c, key, values, overwrite), write=True)
        keep = dict(metadata or {}) if "user_metadata" in self._cols else {}
        stamp = datetime.fromtimestamp(now, UTC) if "modified_at" in self._cols else None
        return WriteResult(RemotePath._trusted(key), len(data), last_modified=stamp, metadata=keep)

    def delete(self, key: str) -> None:
        def run(conn: sa.Connection) -> None:
            if conn.execute(sa.delete(self.t).where(self.t.c.key == key)).rowcount == 0:
                raise self._missing(conn, key)

        self._run(key, "delete", run, write=True)

    def _source(self, conn: sa.Connection, key: str) -> tuple[bytes, Any]:
        md = self.t.c.user_metadata if "user_metadata" in self._cols else sa.null()
        row = conn.execute(sa.select(self.t.c.data, md).where(self.t.c.key == key)).first()
        if row is None:
            raise self._missing(conn, key)
        return bytes(row[0] or b""), row[1]

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        now = time.time()

        def run(conn: sa.Connection) -> tuple[int, Any]:
            data, md = self._source(conn, src)
            if src != dst:
                values = self._values(data, meta(md), now)
                self._store(conn, dst, values, overwrite)
            return len(data), md

        size, md = self._run(dst, "copy", run, write=True)
        return WriteResult(RemotePath._trusted(dst), size, metadata=dict(meta(md)))

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        t = self.t

        def run(conn: sa.Connection) -> None:
            self._source(conn, src)
            if src == dst:
                return
            found = conn.execute(sa.select(sa.literal(1)).where(t.c.key == dst)).first()
            if found is None:
                self._check_new(conn, dst)
            elif not overwrite:
                raise err(AlreadyExists, "file already exists", dst, "pass overwrite=True")
            else:
                conn.execute(sa.delete(t).where(t.c.key == dst))
            conn.execute(t.update().where(t.c.key == src).values(key=dst))

        self._run(dst, "move", run, write=True)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        def run(conn: sa.Connection) -> None:
            if not self._below(conn, key):
                raise err(NotFound, "folder not found", key)
            if not recursive:
                hint = "pass recursive=True to delete it with its content"
                raise err(DirectoryNotEmpty, "folder is not empty", key, hint)
            keys = [k for (k,) in conn.execute(sa.select(self.t.c.key).where(self._under(key)))]
            doomed = [k for k in keys if not key or k.startswith(key + "/")]
            for i in range(0, len(doomed), 500):
                conn.execute(sa.delete(self.t).where(self.t.c.key.in_(doomed[i : i + 500])))

        self._run(key, "remove_folder", run, write=True)


def too_large(key: str, limit: int) -> InvalidArgument:
    """The error for content over ``max_blob_size`` (nothing is written)."""
    return InvalidArgument(
        f"content exceeds max_blob_size ({limit} bytes)",
        path=key,
        backend="sql-blob",
        operation="write",
        hint="write a smaller file, or raise max_blob_size",
    )
