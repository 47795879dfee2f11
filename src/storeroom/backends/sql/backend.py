"""The ``sql-blob`` backend: files as rows and chunks in a SQL database.

SQLAlchemy Core over SQLite (embedded, the default) or PostgreSQL (psycopg 3).
Content is stored in fixed-size chunks, so reads and writes stream with flat
memory and ranged reads fetch only the chunks they need. Every write puts
its chunks under a new version id and swaps the path row in the same
transaction: a failed write leaves the old content or nothing. A
create-only write claims the name first (unique index on ``path``), so
racing writers get exactly one winner. Listing is a keyset-paged range scan
of the path index. Folders are implied by paths (flat backend).

Caveat: the "a parent is a file" / "the name is a folder" checks are
queries inside the write's transaction; on SQLite the write lock makes
them exact, on PostgreSQL two concurrent writers of ``a`` and ``a/b`` can
both succeed.
"""

from __future__ import annotations

import json
import random
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, ClassVar, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect

from storeroom.backend import Backend, Entry, Source
from storeroom.backends.sql._reader import ChunkStream
from storeroom.backends.sql._schema import create_tables, make_engine, make_tables
from storeroom.backends.sql.config import SQLBlobOptions
from storeroom.backends.sql.errors import BACKEND, map_db_error
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import (
    AlreadyExists,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import RemotePath

__all__ = ["SQLBlobBackend"]

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EMPTY: Mapping[str, str] = types.MappingProxyType({})
#: Rows per listing query: a folder of up to this many entries is one query.
PAGE = 2000
_rand = random.SystemRandom()


def _new_id() -> int:
    """A fresh version id (random, 63 bits: collisions are not a practical concern)."""
    return _rand.getrandbits(63) or 1


def _bounds(key: str) -> tuple[str, str | None]:
    """Index range ``[lo, hi)`` holding exactly the paths below folder ``key``."""
    return (key + "/", key + "0") if key else ("", None)


def _err(cls: type[StoreroomError], message: str, key: str, hint: str | None = None) -> Any:
    return cls(message, path=key, backend=BACKEND, hint=hint)


def _meta(text: str | None) -> Mapping[str, str]:
    return types.MappingProxyType(json.loads(text)) if text else _EMPTY


class _Conflict:
    """What the target check of a write found."""

    __slots__ = ("old_id", "single")

    def __init__(self, old_id: int | None, single: bool = False) -> None:
        self.old_id = old_id
        #: The existing file has at most one chunk (its readers need no later fetch).
        self.single = single


class SQLBlobBackend(Backend):
    """Files in two SQL tables (files and chunks) through SQLAlchemy Core.

    ``SQLBlobBackend(url="sqlite:///blobs.db")``; see ``SQLBlobOptions``.
    User metadata is kept; etags are the version id (new on every write,
    kept by a move).
    """

    type_name = BACKEND
    real_folders = False
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
            Capability.USER_METADATA,
        }
    )
    options_class: ClassVar[type[SQLBlobOptions]] = SQLBlobOptions

    def __init__(self, url: str, **options: Any) -> None:
        self._setup(SQLBlobOptions.parse({"url": url, **options}))

    @classmethod
    def from_options(cls, opts: SQLBlobOptions) -> SQLBlobBackend:
        """Build from parsed options; nothing connects until first use."""
        self = cls.__new__(cls)
        self._setup(opts)
        return self

    def _setup(self, opts: SQLBlobOptions) -> None:
        self.options = opts
        self._where = opts.masked_url
        try:
            self._engine = make_engine(opts)
        except ImportError as exc:
            raise ConfigError(
                f"url: the database driver for {opts.scheme!r} is not installed ({exc.name})",
                key="url",
                backend=BACKEND,
                hint='pip install "storeroom[sql]" "psycopg[binary]" for PostgreSQL',
            ) from None
        except sa.exc.ArgumentError as exc:
            raise ConfigError(
                f"url: not a usable SQLAlchemy URL: {opts.masked_url!r}", key="url"
            ) from exc
        self._dialect = self._engine.dialect.name
        self._sqlite = self._dialect == "sqlite"
        # Reads run outside transactions: SQLite connections are in driver
        # autocommit already; elsewhere one AUTOCOMMIT engine shares the pool.
        self._read_engine = (
            self._engine
            if self._sqlite
            else self._engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._t = make_tables(opts.table_name)
        self._files = self._t.files
        self._chunks = self._t.chunks
        self._cs = opts.chunk_size
        self._ready = False
        self._init_lock = threading.Lock()
        memory = self._engine.pool.__class__.__name__ == "StaticPool"
        self._lock: Any = threading.RLock() if memory else nullcontext()

        if not self._sqlite:  # only servers go away; SQLite skips the event's cost

            @event.listens_for(self._engine, "after_cursor_execute")
            def _count(conn: Any, *_: Any) -> None:
                conn.info["storeroom_n"] = conn.info.get("storeroom_n", 0) + 1

        self._prepare_statements()

    def _prepare_statements(self) -> None:
        f, c = self._files, self._chunks
        self._q_stat = sa.select(f.c.size, f.c.mtime, f.c.id, f.c.meta).where(
            f.c.path == sa.bindparam("k")
        )
        self._q_exists = sa.select(
            sa.or_(
                sa.exists().where(f.c.path == sa.bindparam("k")),
                sa.exists().where(f.c.path >= sa.bindparam("lo"), f.c.path < sa.bindparam("hi")),
            )
        )
        self._q_chunk = sa.select(c.c.data).where(
            c.c.file_id == sa.bindparam("i"), c.c.seq == sa.bindparam("s")
        )
        self._q_slice = sa.select(
            sa.func.substr(
                c.c.data,
                sa.cast(sa.bindparam("o"), sa.Integer),
                sa.cast(sa.bindparam("n"), sa.Integer),
                type_=sa.LargeBinary,
            )
        ).where(c.c.file_id == sa.bindparam("i"), c.c.seq == sa.bindparam("s"))
        # The file row and the needed slice of its first needed chunk, in one query.
        first = sa.func.substr(
            c.c.data,
            sa.cast((sa.bindparam("start", type_=sa.BigInteger) % f.c.chunk_size) + 1, sa.Integer),
            sa.cast(sa.bindparam("n", type_=sa.BigInteger), sa.Integer),
            type_=sa.LargeBinary,
        )
        join = f.outerjoin(
            c,
            sa.and_(
                c.c.file_id == f.c.id,
                c.c.seq == sa.bindparam("start", type_=sa.BigInteger) // f.c.chunk_size,
            ),
        )
        self._q_open = (
            sa.select(f.c.id, f.c.size, f.c.chunk_size, first)
            .select_from(join)
            .where(f.c.path == sa.bindparam("k"))
        )
        self._q_open_all = (
            sa.select(f.c.id, f.c.size, f.c.chunk_size, c.c.data)
            .select_from(f.outerjoin(c, sa.and_(c.c.file_id == f.c.id, c.c.seq == 0)))
            .where(f.c.path == sa.bindparam("k"))
        )
        self._ins_chunk = c.insert()
        self._upd_chunk0 = (
            sa.update(c)
            .where(c.c.file_id == sa.bindparam("old"), c.c.seq == 0)
            .values(file_id=sa.bindparam("new"), data=sa.bindparam("d"))
        )

    # -- connections and errors -------------------------------------------------

    def _init(self) -> None:
        with self._init_lock:
            if self._ready:
                return
            if self.options.create_table:
                create_tables(self._engine, self._t)
            else:
                with self._engine.connect() as conn:
                    insp = sa.inspect(conn)
                    for table in (self._files, self._chunks):
                        if not insp.has_table(table.name):
                            raise ConfigError(
                                f"table {table.name!r} does not exist in {self._where} "
                                "and create_table is false",
                                key="table_name",
                                backend=BACKEND,
                                hint="create it, or set create_table = true",
                            )
            self._ready = True

    def _run(self, key: str, op: str, fn: Callable[[sa.Connection], T], *, write: bool) -> T:
        """Run ``fn`` on a pooled connection (in one transaction when ``write``).

        A pooled connection found dead on its very first statement (the server
        restarted) is replaced once, as ``pool_pre_ping`` would, since nothing
        ran yet. Database errors are mapped through the error table; errors of
        the caller's own content source pass through unchanged.
        """
        engine = self._engine if write else self._read_engine
        for attempt in (0, 1):
            used: dict[str, Any] = {}
            try:
                if not self._ready:
                    self._init()
                with self._lock, engine.connect() as conn:
                    used = conn.info
                    used["storeroom_n"] = 0
                    if not write:
                        return fn(conn)
                    with conn.begin():
                        if self._sqlite:
                            conn.exec_driver_sql("BEGIN IMMEDIATE")
                        return fn(conn)
            except sa.exc.DBAPIError as exc:
                fresh = used.get("storeroom_n", 0) == 0
                if attempt == 0 and exc.connection_invalidated and fresh:
                    continue
                raise map_db_error(exc, key, operation=op, where=self._where) from exc
            except sa.exc.SQLAlchemyError as exc:
                raise map_db_error(exc, key, operation=op, where=self._where) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading ------------------------------------------------------------------

    def _info(self, key: str, row: Any) -> FileInfo:
        size, mtime, fid, meta = row
        return FileInfo._fast(
            key,
            key.rpartition("/")[2],
            size,
            _EPOCH + timedelta(microseconds=mtime),
            etag=f"{fid:016x}",
            metadata=_meta(meta),
        )

    def stat(self, key: str) -> Entry:
        """The file's entry; ``NotFound`` otherwise (folders are implied, not stored)."""
        row = self._run(
            key, "stat", lambda c: c.execute(self._q_stat, {"k": key}).first(), write=False
        )
        if row is None:
            raise _err(NotFound, "file not found", key)
        return self._info(key, row)

    def exists(self, key: str) -> bool:
        if not key:
            return True
        lo, hi = _bounds(key)
        return bool(
            self._run(
                key,
                "exists",
                lambda c: c.execute(self._q_exists, {"k": key, "lo": lo, "hi": hi}).scalar(),
                write=False,
            )
        )

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        return self._run(key, "is_folder", lambda c: self._has_below(c, key), write=False)

    def _has_below(self, conn: sa.Connection, key: str) -> bool:
        lo, hi = _bounds(key)
        cond = self._files.c.path >= lo
        if hi is not None:
            cond = sa.and_(cond, self._files.c.path < hi)
        return conn.execute(sa.select(self._files.c.id).where(cond).limit(1)).first() is not None

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """Stream bytes ``[start, end)``; only the chunks in that range are fetched."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise _err(InvalidPath, "byte offsets must not be negative", key)
        pos = start or 0

        def first(conn: sa.Connection) -> Any:
            if pos == 0 and end is None:
                row = conn.execute(self._q_open_all, {"k": key}).first()
            else:
                n = min(end - pos, 2**31 - 1) if end is not None else 2**31 - 1
                row = conn.execute(self._q_open, {"k": key, "start": pos, "n": max(n, 0)}).first()
            if row is None and self._has_below(conn, key):
                raise _err(InvalidPath, "expected a file, found a folder", key)
            return row

        row = self._run(key, "open_read", first, write=False)
        if row is None:
            raise _err(NotFound, "file not found", key)
        fid, size, cs, data = row
        stop = size if end is None else min(end, size)
        whole = start is None and end is None
        if pos >= stop and not whole:
            return cast(BinaryIO, ChunkStream(b"", 0, 0, cs, self._no_fetch))
        data = bytes(data) if data is not None else b""
        if pos == 0 and end is None and len(data) > stop:
            data = data[:stop]

        def fetch(seq: int, off: int, want: int) -> bytes:
            return self._fetch(key, fid, cs, seq, off, want)

        return cast(BinaryIO, ChunkStream(data, pos, stop, cs, fetch, seekable=whole))

    @staticmethod
    def _no_fetch(seq: int, off: int, want: int) -> bytes:
        return b""

    def _fetch(self, key: str, fid: int, cs: int, seq: int, off: int, want: int) -> bytes:
        def run(conn: sa.Connection) -> Any:
            if off == 0 and want >= cs:
                return conn.execute(self._q_chunk, {"i": fid, "s": seq}).scalar()
            return conn.execute(
                self._q_slice, {"i": fid, "s": seq, "o": off + 1, "n": want}
            ).scalar()

        data = self._run(key, "read", run, write=False)
        if data is None:
            raise NotFound(
                "the file was replaced or deleted while it was being read",
                path=key,
                backend=BACKEND,
                operation="read",
                retryable=True,
                hint="read it again to get the current version",
            )
        return bytes(data)

    # -- listing --------------------------------------------------------------------

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries below ``prefix`` in entry order, one keyset-paged index range scan.

        A page holds ``PAGE`` rows; non-recursive listings skip over the rest of
        a subfolder instead of reading it.
        """
        lo, hi = _bounds(prefix)
        cut = len(base) + 1 if base else 0
        f = self._files
        cols = (f.c.path, f.c.size, f.c.mtime, f.c.id, f.c.meta)

        def page(after: str, inclusive: bool) -> Sequence[Any]:
            cond = f.c.path >= after if inclusive else f.c.path > after
            if hi is not None:
                cond = sa.and_(cond, f.c.path < hi)
            q = sa.select(*cols).where(cond).order_by(f.c.path).limit(PAGE)
            return self._run(prefix, "list", lambda c: c.execute(q).all(), write=False)

        def files() -> Iterator[Any]:
            after, inclusive = lo, True
            folder: str | None = None
            start = len(lo)
            make, folder_entry, epoch, micro = FileInfo._fast, FolderEntry._fast, _EPOCH, timedelta
            while True:
                rows = page(after, inclusive)
                for path, size, mtime, fid, meta in rows:
                    if not recursive:
                        slash = path.find("/", start)
                        if slash >= 0:
                            name = path[start:slash]
                            if name != folder:
                                folder = name
                                yield folder_entry(path[cut:slash], name)
                            continue
                    yield make(
                        path[cut:],
                        path.rpartition("/")[2],
                        size,
                        epoch + micro(microseconds=mtime),
                        etag=f"{fid:016x}",
                        metadata=_meta(meta) if meta else _EMPTY,
                    )
                if len(rows) < PAGE:
                    return
                last = rows[-1][0]
                if folder is not None and last.startswith(f"{lo}{folder}/"):
                    after, inclusive = f"{lo}{folder}0", True  # skip the rest of it
                else:
                    after, inclusive = last, False

        if not recursive:
            return files()
        from storeroom.backend import derive_folders

        return derive_folders(files(), prefix[cut:] if prefix else "")

    # -- writing --------------------------------------------------------------------

    def _target(self, conn: sa.Connection, key: str, overwrite: bool) -> _Conflict:
        """Check ``key`` can take a file; lock its row (PostgreSQL) and return its id.

        ``InvalidPath`` when a parent is a file or ``key`` is a folder;
        ``AlreadyExists`` when it is a file and not ``overwrite``.
        """
        f = self._files
        parts = key.split("/")
        names = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        lo, hi = _bounds(key)
        cond = sa.or_(f.c.path.in_(names), sa.and_(f.c.path >= lo, f.c.path < hi))
        cols = (f.c.path, f.c.id, f.c.size <= f.c.chunk_size)
        q = sa.select(*cols).where(cond).order_by(f.c.path).limit(len(names) + 1)
        if self._dialect == "postgresql":
            q = q.with_for_update()
        old, single = None, False
        for path, fid, small in conn.execute(q):
            if path == key:
                old, single = fid, bool(small)
            elif len(path) < len(key):
                raise _err(InvalidPath, "a parent of this path is a file", key)
            else:
                raise _err(InvalidPath, "a folder exists at this path", key)
        if old is not None and not overwrite:
            raise _err(
                AlreadyExists, "file already exists", key, "pass overwrite=True to replace it"
            )
        return _Conflict(old, single)

    def _claim(
        self, conn: sa.Connection, key: str, overwrite: bool, row: dict[str, Any]
    ) -> _Conflict:
        """Make sure ``key`` has a row to swap: the old one, or (old_id None) ``row`` inserted.

        Without ``overwrite`` the insert is the authority: a concurrent creator
        makes it fail with a unique violation (``AlreadyExists``).
        """
        found = self._target(conn, key, overwrite)
        if found.old_id is not None:
            return found
        if not overwrite:
            conn.execute(self._files.insert(), row)
            return found
        ins = (pg_dialect.insert if self._dialect == "postgresql" else sqlite_dialect.insert)(
            self._files
        )
        claimed = ins.on_conflict_do_nothing().returning(self._files.c.id)
        if conn.execute(claimed, row).first() is not None:
            return found
        # Someone created it meanwhile; their row is committed now: replace it.
        return self._target(conn, key, overwrite)

    def _swap(self, conn: sa.Connection, old_id: int | None, row: dict[str, Any]) -> None:
        """Point the path at the new version and drop the old one's chunks."""
        f, c = self._files, self._chunks
        values = {k: v for k, v in row.items() if k != "path"}
        if old_id is None:
            conn.execute(sa.update(f).where(f.c.id == row["id"]).values(size=row["size"]))
            return
        conn.execute(sa.update(f).where(f.c.id == old_id).values(**values))
        conn.execute(sa.delete(c).where(c.c.file_id == old_id))

    def _replace_small(
        self, conn: sa.Connection, old: int, row: dict[str, Any], data: bytes
    ) -> None:
        """Replace a one-chunk file by one-chunk content, rewriting the chunk row in place.

        Safe for readers: a stream over a one-chunk version got all of it with
        the file row, so it never fetches that chunk again. Saves the database
        from freeing and reallocating the chunk's pages.
        """
        f, c = self._files, self._chunks
        if data:
            moved = conn.execute(self._upd_chunk0, {"old": old, "new": row["id"], "d": data})
            if moved.rowcount == 0:  # the old file was empty: no chunk to reuse
                conn.execute(self._ins_chunk, {"file_id": row["id"], "seq": 0, "data": data})
        else:
            conn.execute(sa.delete(c).where(c.c.file_id == old))
        values = {k: v for k, v in row.items() if k != "path"}
        conn.execute(sa.update(f).where(f.c.id == old).values(**values))

    def _put_chunks(self, conn: sa.Connection, fid: int, src: Source) -> int:
        """Insert ``src`` as chunks of version ``fid``; returns the byte count."""
        cs = self._cs
        ins = self._ins_chunk
        if isinstance(src, bytes | bytearray | memoryview):
            data = bytes(src) if not isinstance(src, bytes) else src
            if len(data) <= cs:
                if data:
                    conn.execute(ins, {"file_id": fid, "seq": 0, "data": data})
                return len(data)
            for seq, i in enumerate(range(0, len(data), cs)):
                conn.execute(ins, {"file_id": fid, "seq": seq, "data": data[i : i + cs]})
            return len(data)
        total = seq = 0
        read = src.read
        while True:
            block = read(cs) or b""
            if not block:
                break
            while len(block) < cs:
                more = read(cs - len(block))
                if not more:
                    break
                block += more
            conn.execute(ins, {"file_id": fid, "seq": seq, "data": bytes(block)})
            total += len(block)
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
        fid = _new_id()
        now = time.time_ns() // 1000
        meta = json.dumps(dict(metadata), sort_keys=True) if metadata else None
        known = len(src) if isinstance(src, bytes | bytearray | memoryview) else 0
        row = {
            "id": fid,
            "path": key,
            "size": known,
            "mtime": now,
            "chunk_size": self._cs,
            "meta": meta,
        }

        def run(conn: sa.Connection) -> int:
            found = self._claim(conn, key, overwrite, row)
            old = found.old_id
            if old is not None and found.single and isinstance(src, bytes) and known <= self._cs:
                self._replace_small(conn, old, row, src)
                return known
            size = self._put_chunks(conn, fid, src)
            if old is not None or size != known:
                row["size"] = size
                self._swap(conn, old, row)
            return size

        size = self._run(key, "write", run, write=True)
        return WriteResult(
            RemotePath._trusted(key),
            size,
            etag=f"{fid:016x}",
            last_modified=_EPOCH + timedelta(microseconds=now),
            metadata=dict(metadata) if metadata else {},
        )

    def delete(self, key: str) -> None:
        f, c = self._files, self._chunks

        def run(conn: sa.Connection) -> None:
            fid = conn.execute(sa.delete(f).where(f.c.path == key).returning(f.c.id)).scalar()
            if fid is None:
                if self._has_below(conn, key):
                    raise _err(InvalidPath, "expected a file, found a folder", key)
                raise _err(NotFound, "file not found", key)
            conn.execute(sa.delete(c).where(c.c.file_id == fid))

        self._run(key, "delete", run, write=True)

    def _source_row(self, conn: sa.Connection, key: str) -> Any:
        f = self._files
        q = sa.select(f.c.id, f.c.size, f.c.chunk_size, f.c.meta).where(f.c.path == key)
        if self._dialect == "postgresql":
            q = q.with_for_update()
        row = conn.execute(q).first()
        if row is None:
            if self._has_below(conn, key):
                raise _err(InvalidPath, "expected a file, found a folder", key)
            raise _err(NotFound, "file not found", key)
        return row

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Server-side copy (``INSERT ... SELECT`` of the chunks) in one transaction."""
        c = self._chunks
        fid = _new_id()
        now = time.time_ns() // 1000

        def run(conn: sa.Connection) -> tuple[int, int, Mapping[str, str]]:
            sid, size, cs, meta = self._source_row(conn, src)
            if src == dst:
                return sid, size, _meta(meta)
            row = {
                "id": fid,
                "path": dst,
                "size": size,
                "mtime": now,
                "chunk_size": cs,
                "meta": meta,
            }
            old = self._claim(conn, dst, overwrite, row).old_id
            copy = sa.select(sa.literal(fid, sa.BigInteger), c.c.seq, c.c.data).where(
                c.c.file_id == sid
            )
            conn.execute(c.insert().from_select(["file_id", "seq", "data"], copy))
            if old is not None:
                self._swap(conn, old, row)
            return fid, size, _meta(meta)

        vid, size, meta = self._run(dst, "copy", run, write=True)
        return WriteResult(
            RemotePath._trusted(dst),
            size,
            etag=f"{vid:016x}",
            last_modified=_EPOCH + timedelta(microseconds=now),
            metadata=dict(meta),
        )

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename in one transaction (one UPDATE of the path); atomic and no-clobber."""
        f, c = self._files, self._chunks

        def run(conn: sa.Connection) -> None:
            sid = self._source_row(conn, src)[0]
            if src == dst:
                return
            old = self._target(conn, dst, overwrite).old_id
            if old is not None:
                conn.execute(sa.delete(f).where(f.c.id == old))
                conn.execute(sa.delete(c).where(c.c.file_id == old))
            # The unique index makes this fail if dst appeared meanwhile.
            conn.execute(sa.update(f).where(f.c.id == sid).values(path=dst))

        self._run(dst, "move", run, write=True)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Delete every file below ``key`` in one transaction (two statements)."""
        f, c = self._files, self._chunks
        lo, hi = _bounds(key)
        cond = f.c.path >= lo
        if hi is not None:
            cond = sa.and_(cond, f.c.path < hi)

        def run(conn: sa.Connection) -> None:
            if not self._has_below(conn, key):
                raise _err(NotFound, "folder not found", key)
            if not recursive:
                raise _err(
                    DirectoryNotEmpty,
                    "folder is not empty",
                    key,
                    "pass recursive=True to delete it with its content",
                )
            ids = sa.select(f.c.id).where(cond).scalar_subquery()
            conn.execute(sa.delete(c).where(c.c.file_id.in_(ids)))
            conn.execute(sa.delete(f).where(cond))

        self._run(key, "remove_folder", run, write=True)

    # -- the rest -------------------------------------------------------------------

    def ping(self) -> None:
        """One ``SELECT 1`` round trip (after creating the tables if needed)."""
        self._run("", "ping", lambda c: c.execute(sa.text("SELECT 1")).scalar(), write=False)

    def native_path(self, key: str) -> str:
        return f"{self.options.table_name}:{key}"

    def describe(self) -> Mapping[str, object]:
        return {"url": self._where, "table_name": self.options.table_name}

    def close(self) -> None:
        """Close pooled connections; the backend reconnects when used again."""
        self._engine.dispose()
