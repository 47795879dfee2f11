"""Tables and engine of the ``sql-blob`` backend.

Two tables. ``<name>`` holds one row per file: ``id`` (a random 63-bit
version id, new on every write), ``path`` (unique, byte-ordered so a range
on the index lists a folder in entry order), ``size``, ``mtime``
(microseconds since the epoch, UTC), ``chunk_size`` (of this file's chunks)
and ``meta`` (user metadata as JSON, or NULL). ``<name>_chunks`` holds the
content: ``(file_id, seq)`` → ``data``, chunk ``seq`` covering bytes
``[seq * chunk_size, (seq + 1) * chunk_size)``. Chunks of a version never
change once committed; a write adds a new version and drops the old one in
the same transaction.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

from storeroom.backends.sql.config import SQLBlobOptions
from storeroom.backends.sql.errors import BACKEND
from storeroom.errors import ConfigError

__all__ = [
    "DEFAULT_TABLE",
    "RS_TABLE",
    "Tables",
    "find_flat",
    "make_engine",
    "make_tables",
    "prepare_tables",
]

#: storeroom's default files table, and remote-store's default table.
DEFAULT_TABLE = "storeroom_files"
RS_TABLE = "remote_store_objects"


class Tables:
    """The two tables of one backend."""

    def __init__(self, metadata: sa.MetaData, files: sa.Table, chunks: sa.Table) -> None:
        self.metadata = metadata
        self.files = files
        self.chunks = chunks


def make_tables(name: str) -> Tables:
    """Table objects for files table ``name`` and its chunks table."""
    md = sa.MetaData()
    # "C" collation on PostgreSQL: byte order, so ranges and ORDER BY follow
    # code points (SQLite's default BINARY collation already does).
    path_type = sa.String(1024).with_variant(sa.Text(collation="C"), "postgresql")
    files = sa.Table(
        name,
        md,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("path", path_type, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("mtime", sa.BigInteger, nullable=False),
        sa.Column("chunk_size", sa.Integer, nullable=False),
        sa.Column("meta", sa.Text, nullable=True),
        sa.Index(f"{name}_path_key", "path", unique=True),
    )
    chunks = sa.Table(
        f"{name}_chunks",
        md,
        sa.Column("file_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    return Tables(md, files, chunks)


def prepare_tables(engine: Engine, tables: Tables, *, create: bool, where: str) -> None:
    """Check the tables before first use; create the missing ones when ``create``.

    Existing tables are never altered. One that lacks a column of storeroom's
    (another application's table of that name) is a ``ConfigError`` naming the
    table and the missing columns, raised before anything is created (SQL-003).
    Two processes preparing a fresh database at once both succeed: SQLite checks
    and creates under its write lock; elsewhere the loser of the CREATE race
    checks again and finds the winner's tables (SQL-003a).
    """
    try:
        _prepare_once(engine, tables, create=create, where=where)
    except sa.exc.DBAPIError:
        if not create:
            raise
        # Most likely another process created the tables between our check and
        # our CREATE; a second check sees them, or raises the real problem.
        _prepare_once(engine, tables, create=create, where=where)


def _prepare_once(engine: Engine, tables: Tables, *, create: bool, where: str) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Check and create under the write lock: SQLite DDL is transactional,
            # so a second process waits (busy timeout) and then sees the tables.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        absent = _absent_tables(conn, tables, where)
        if absent and not create:
            raise ConfigError(
                f"table {absent[0]!r} does not exist in {where} and create_table is false",
                key="table_name",
                backend=BACKEND,
                hint="create it, or set create_table = true",
            )
        if not absent:
            return
        tables.metadata.create_all(conn, checkfirst=True)
        if tables.chunks.name in absent and conn.dialect.name == "postgresql":
            # Blobs are rarely compressible: store them out of line without
            # compression, so a ranged substr reads only the bytes it needs.
            conn.exec_driver_sql(
                f'ALTER TABLE "{tables.chunks.name}" ALTER COLUMN data SET STORAGE EXTERNAL'
            )


def _absent_tables(conn: sa.Connection, tables: Tables, where: str) -> list[str]:
    """Names of the missing tables; a foreign table of one of the names is a ConfigError."""
    insp = sa.inspect(conn)
    absent = []
    for table in (tables.files, tables.chunks):
        if not insp.has_table(table.name):
            absent.append(table.name)
            continue
        have = {col["name"] for col in insp.get_columns(table.name)}
        lacking = [col.name for col in table.columns if col.name not in have]
        if lacking:
            raise ConfigError(
                f"table {table.name!r} in {where} is not a storeroom sql-blob table "
                f"(missing columns: {', '.join(lacking)})",
                key="table_name",
                backend=BACKEND,
                hint="set table_name to a name no other application uses",
            )
    return absent


def find_flat(engine: Engine, name: str) -> sa.Table | None:
    """The remote-store table to serve instead of storeroom's layout, if there is one.

    ``name`` is served in the one-table layout when it has remote-store's
    columns (SQL-040). With the default name and no such table, remote-store's
    default table ``remote_store_objects`` is used when it exists.
    """
    from storeroom.backends.sql._flat import is_flat

    with engine.connect() as conn:
        insp = sa.inspect(conn)
        names = [name, RS_TABLE] if name == DEFAULT_TABLE else [name]
        for cand in names:
            if insp.has_table(cand):
                columns = {col["name"] for col in insp.get_columns(cand)}
                if not is_flat(columns):
                    return None
                return sa.Table(cand, sa.MetaData(), autoload_with=conn)
    return None


def _sqlite_events(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Driver autocommit: the backend issues BEGIN IMMEDIATE itself for
        # writes (taking the write lock up front); reads open no transaction.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
            _to_wal(cur, busy_ms / 1000)
            cur.execute("PRAGMA synchronous = NORMAL")
            # Debian builds SQLite with secure_delete on, which zeroes every freed
            # page: replacing a chunked file would write its size twice.
            cur.execute("PRAGMA secure_delete = FAST")
        finally:
            cur.close()


def make_engine(opts: SQLBlobOptions) -> Engine:
    """A pooled engine for ``opts.url``; SQLite gets WAL, a busy timeout, explicit BEGIN."""
    assert opts.url is not None  # a caller's engine is used as given
    url = sa.make_url(opts.url.reveal())
    kwargs: dict[str, Any] = {"echo": opts.echo, "pool_pre_ping": opts.pool_pre_ping}
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        connect_args["check_same_thread"] = False
        connect_args["timeout"] = opts.busy_timeout
        if memory:
            kwargs["poolclass"] = StaticPool
        else:
            kwargs.update(pool_size=opts.pool_size, max_overflow=opts.max_overflow)
            kwargs.update(pool_timeout=opts.pool_timeout, pool_recycle=opts.pool_recycle)
    else:
        kwargs.update(pool_size=opts.pool_size, max_overflow=opts.max_overflow)
        kwargs.update(pool_timeout=opts.pool_timeout, pool_recycle=opts.pool_recycle)
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = max(1, round(opts.connect_timeout))
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    if url.get_backend_name() == "sqlite":
        _sqlite_events(engine, int(opts.busy_timeout * 1000))
    return engine


def _to_wal(cur: Any, wait: float) -> None:
    """Switch a fresh file to WAL, waiting out processes that hold it meanwhile.

    The switch needs the file to itself, and SQLite may answer "database is
    locked" at once (without its busy handler) while another process is making
    the same switch; retry for up to the busy timeout (SQL-003a).
    """
    deadline = time.monotonic() + max(wait, 1.0)
    delay = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
