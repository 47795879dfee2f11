"""The ``sql-blob`` backend: files as rows and chunks in a SQL database.

SQLAlchemy Core over SQLite (embedded, the default) or PostgreSQL (psycopg 3).
Content is stored in fixed-size chunks, so reads and writes stream with flat
memory and ranged reads fetch only the chunks they need. Writes, copies and
moves (``_write.py``) are single transactions; listing (``_list.py``) is a
keyset-paged range scan of the path index; statements are compiled once
(``_sql.py``). Folders are implied by paths (flat backend).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event

from storeroom._sources import is_user_error
from storeroom.backend import Backend, Entry
from storeroom.backends.sql import _list
from storeroom.backends.sql._cond import ConditionalWrites
from storeroom.backends.sql._flat import FlatTable
from storeroom.backends.sql._reader import ChunkStream
from storeroom.backends.sql._schema import find_flat, make_engine, make_tables, prepare_tables
from storeroom.backends.sql._sql import Prepared, Statements, bounds, err, etag, meta, when
from storeroom.backends.sql.config import SQLBlobOptions
from storeroom.backends.sql.errors import BACKEND, TABLE
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import ConfigError, InvalidPath, NotFound
from storeroom.models import FileInfo

if TYPE_CHECKING:
    from storeroom.backends.sql._txn import SQLTransaction

__all__ = ["SQLBlobBackend"]

T = TypeVar("T")
_MAX_LEN = 2**31 - 1
#: The operations a table layout serves; remote-store tables use ``FlatTable``'s.
_DATA_OPS = (
    "stat",
    "exists",
    "is_folder",
    "open_read",
    "list",
    "write",
    "delete",
    "copy",
    "move",
    "remove_folder",
)


class SQLBlobBackend(ConditionalWrites, Backend):
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
            Capability.CONDITIONAL_WRITE,
            Capability.TRANSACTION,
        }
    )
    options_class: ClassVar[type[SQLBlobOptions]] = SQLBlobOptions

    def __init__(self, url: str | None = None, **options: Any) -> None:
        given = options if url is None else {"url": url, **options}
        self._setup(SQLBlobOptions.parse(given))

    def _setup(self, opts: SQLBlobOptions) -> None:
        self.options = opts
        self._where = opts.masked_url
        self.table_name = opts.table_name
        self._own_engine = opts.engine is None
        try:
            self._engine = make_engine(opts) if opts.engine is None else opts.engine
        except ImportError as exc:
            raise ConfigError(
                f"url: the database driver for {opts.scheme!r} is not installed ({exc.name})",
                key="url",
                backend=BACKEND,
                hint='pip install "storeroom[sql]" "psycopg[binary]" for PostgreSQL',
            ) from None
        except (sa.exc.ArgumentError, ValueError) as exc:
            # Not chained: SQLAlchemy's message quotes the whole URL (SQL-002).
            raise ConfigError(
                f"url: not a usable SQLAlchemy URL: {opts.masked_url!r} ({type(exc).__name__})",
                key="url",
                backend=BACKEND,
            ) from None
        self._sqlite = self._engine.dialect.name == "sqlite"
        # Reads run outside transactions: SQLite connections are in driver
        # autocommit already; elsewhere one AUTOCOMMIT engine shares the pool.
        self._read_engine = (
            self._engine
            if self._sqlite
            else self._engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._t = make_tables(opts.table_name)
        self._files, self._chunks = self._t.files, self._t.chunks
        self._cs = opts.chunk_size
        self._s = Statements(self._t, self._engine.dialect, _list.PAGE)
        self._ready = False
        self._max = opts.max_blob_size
        # Until first use tells the table layout, data operations find it first.
        for name in _DATA_OPS:
            self.__dict__[name] = self._first_use(name)
        self._init_lock = threading.Lock()
        self._txn_local = threading.local()  # .conn: the connection of a commit in progress
        memory = self._engine.pool.__class__.__name__ == "StaticPool"
        self._lock: Any = threading.RLock() if memory else nullcontext()

        if not self._sqlite:  # only servers go away; SQLite skips the event's cost

            @event.listens_for(self._engine, "after_cursor_execute")
            def _count(conn: Any, *_: Any) -> None:
                conn.info["storeroom_n"] = conn.info.get("storeroom_n", 0) + 1

    # -- connections and errors -------------------------------------------------

    def _first_use(self, name: str) -> Callable[..., Any]:
        def op(*args: Any, **kwargs: Any) -> Any:
            self._run("", name, lambda conn: None, write=False)  # runs _init
            return getattr(self, name)(*args, **kwargs)

        return op

    def _init(self) -> None:
        """Find the table layout (SQL-040), create storeroom's tables if needed."""
        with self._init_lock:
            if self._ready:
                return
            flat = find_flat(self._engine, self.options.table_name)
            if flat is not None:
                table = FlatTable(flat, self._run, self._max)
                self.table_name = flat.name
                for name in _DATA_OPS:
                    self.__dict__[name] = getattr(table, name)
                # remote-store's layout keeps no version: nothing to compare (COND-042).
                self.capabilities = self.capabilities - {Capability.CONDITIONAL_WRITE}
            else:
                create, where = self.options.create_table, self._where
                prepare_tables(self._engine, self._t, create=create, where=where)
                for name in _DATA_OPS:
                    self.__dict__.pop(name, None)
            self._ready = True

    def _run(self, key: str, op: str, fn: Callable[[sa.Connection], T], *, write: bool) -> T:
        """Run ``fn`` on a pooled connection (in one transaction when ``write``).

        A pooled connection found dead on its very first statement (the server
        restarted) is replaced once, as ``pool_pre_ping`` would, since nothing
        ran yet. Database errors are mapped through the error table; errors of
        the caller's own content source pass through unchanged.
        """
        joined = getattr(self._txn_local, "conn", None)
        if joined is not None:  # inside a transaction's commit: its connection (TXN-021)
            return fn(joined)
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
                raise TABLE.map(exc, key, operation=op, where=self._where) from exc
            except sa.exc.SQLAlchemyError as exc:
                raise TABLE.map(exc, key, operation=op, where=self._where) from exc
            except UnicodeEncodeError as exc:  # the driver encoding a lone surrogate
                if is_user_error(exc):
                    raise
                raise TABLE.map(exc, key, operation=op) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def begin_transaction(self) -> SQLTransaction:
        """Spooled changes published by one database transaction (TXN-021)."""
        from storeroom.backends.sql._txn import SQLTransaction

        return SQLTransaction(self)

    def _one(self, key: str, op: str, q: Prepared, **params: Any) -> Any:
        """First row of one read-only statement (``None`` when there is none)."""
        return self._run(key, op, lambda c: q(c, **params).first(), write=False)

    # -- reading ------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """The file's entry; ``NotFound`` otherwise (folders are implied, not stored)."""
        row = self._one(key, "stat", self._s.stat, k=key)
        if row is None:
            raise err(NotFound, "file not found", key)
        size, mtime, vid, md = row
        name = key.rpartition("/")[2]
        return FileInfo._fast(key, name, size, when(mtime), etag(vid), None, meta(md))

    def exists(self, key: str) -> bool:
        """A file at ``key``, or a folder as listings show it (foreign rows skipped, SQL-026)."""
        if not key:
            return True
        lo, hi = bounds(key)

        def run(conn: sa.Connection) -> bool:
            at, first = self._s.exists(conn, k=key, lo=lo, hi=hi).first()
            return bool(at) or self._listed_below(conn, key, first)

        return bool(self._run(key, "exists", run, write=False))

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        return self._run(key, "is_folder", lambda c: self._has_below(c, key), write=False)

    def _has_below(self, conn: sa.Connection, key: str) -> bool:
        """Whether folder ``key`` has an entry a listing shows (SQL-026)."""
        lo, hi = bounds(key)
        row = self._s.below_root(conn) if hi is None else self._s.below(conn, lo=lo, hi=hi)
        found = row.first()
        return self._listed_below(conn, key, None if found is None else found[0])

    def _listed_below(self, conn: sa.Connection, key: str, first: str | None) -> bool:
        def fetch(q: Prepared, params: dict[str, Any]) -> Any:
            return _list.fetch_page(conn, q, params)

        return _list.has_entries(self._s, fetch, key, first)

    def _missing(self, conn: sa.Connection, key: str) -> Any:
        """The error for a file ``key`` that has no row: a folder, or not found."""
        if self._has_below(conn, key):
            return err(InvalidPath, "expected a file, found a folder", key)
        return err(NotFound, "file not found", key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """Stream bytes ``[start, end)``; only the chunks in that range are fetched."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise err(InvalidPath, "byte offsets must not be negative", key)
        pos = start or 0

        def first(conn: sa.Connection) -> Any:
            if pos == 0 and end is None:
                row = self._s.open_all(conn, k=key).first()
            else:
                n = max(min(end - pos, _MAX_LEN) if end is not None else _MAX_LEN, 0)
                row = self._s.open(conn, k=key, start=pos, n=n).first()
            if row is None:
                raise self._missing(conn, key)
            return row

        fid, size, cs, data = self._run(key, "open_read", first, write=False)
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
        if off == 0 and want >= cs:
            row = self._one(key, "read", self._s.chunk, i=fid, s=seq)
        else:
            row = self._one(key, "read", self._s.slice, i=fid, s=seq, o=off + 1, n=want)
        if row is None:
            raise NotFound(
                "the file was replaced or deleted while it was being read",
                path=key,
                backend=BACKEND,
                operation="read",
                retryable=True,
                hint="read it again to get the current version",
            )
        return bytes(row[0])

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries below ``prefix`` in entry order: one indexed query per page (``_list``)."""

        def fetch(q: Prepared, params: dict[str, Any]) -> Any:
            return self._run(prefix, "list", lambda c: _list.fetch_page(c, q, params), write=False)

        return _list.entries(self._s, fetch, prefix, recursive, base)

    # -- the rest -------------------------------------------------------------------

    def _native_handles(self) -> Iterator[object]:
        """For ``unwrap``: the SQLAlchemy engine."""
        yield self._engine

    def ping(self) -> None:
        """One ``SELECT 1`` round trip (after creating the tables if needed)."""
        self._run("", "ping", lambda c: c.exec_driver_sql("SELECT 1").scalar(), write=False)

    def native_path(self, key: str) -> str:
        return f"{self.table_name}:{key}"

    def describe(self) -> Mapping[str, object]:
        return {"url": self._where, "table_name": self.table_name}

    def close(self) -> None:
        """Close pooled connections (a caller's ``engine`` is left to its owner)."""
        if self._own_engine:
            self._engine.dispose()
