"""Tests specific to the ``sql-blob`` backend (spec 45-backend-sql.md).

SQLite tests need nothing; PostgreSQL tests use the server of
``scripts/services up postgres`` (``STOREROOM_TEST_SQL_URL``) and fail when
it is expected but missing. The fault tests stop and restart that server.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import sqlalchemy as sa

from services_support import services_disabled
from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.sql import SQLBlobBackend, SQLBlobOptions
from storeroom.backends.sql.errors import TABLE
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    UnexpectedError,
)

REPO = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


def _store(url: str, **options: Any) -> Store:
    config = {
        "backends": {"b": {"type": "sql-blob", "options": {"url": url, **options}}},
        "stores": {"data": {"backend": "b", "root_path": f"t{time.time_ns()}"}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("data")


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get("STOREROOM_TEST_SQL_URL", "")
    if not url:
        if services_disabled():
            pytest.skip("STOREROOM_TEST_NO_SERVICES is set")
        pytest.fail('STOREROOM_TEST_SQL_URL is not set: eval "$(scripts/services up postgres)"')
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'blobs.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    value: str = request.getfixturevalue(name)
    return value


def _backend(store: Store) -> SQLBlobBackend:
    backend = store.unwrap(SQLBlobBackend)
    assert isinstance(backend, SQLBlobBackend)
    return backend


# -- options -----------------------------------------------------------------------


def test_options_mask_the_password_everywhere() -> None:
    """SQL-002: a password in the url never shows in repr, describe or errors."""
    opts = SQLBlobOptions.parse({"url": "postgresql+psycopg://u:hunter2x@db.example/app"})
    backend = SQLBlobBackend.from_options(opts)
    for text in (repr(opts), repr(backend), str(backend.describe()), opts.masked_url):
        assert "hunter2x" not in text
    assert "u:***@db.example" in opts.masked_url
    with pytest.raises(ConfigError) as info:
        SQLBlobOptions.parse({"url": "postgresql://u:hunter2x@h/db", "table_name": "1bad"})
    assert "hunter2x" not in str(info.value)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"url": "sqlite:///x.db", "colour": 1}, "colour"),
        ({"url": ""}, "url"),
        ({"url": "no-scheme"}, "url"),
        ({"url": "sqlite:///x.db", "chunk_size": 100}, "chunk_size"),
        ({"url": "sqlite:///x.db", "table_name": "a-b"}, "table_name"),
        ({}, "url"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], key: str) -> None:
    """SQL-001: unknown keys, missing url and bad values name the key."""
    with pytest.raises(ConfigError) as info:
        SQLBlobOptions.parse(options)
    assert key in str(info.value)


def test_create_table_false_on_missing_tables_names_them(sqlite_url: str) -> None:
    """SQL-003: without create_table, missing tables are a ConfigError, not a retry."""
    store = _store(sqlite_url, create_table=False)
    with pytest.raises(ConfigError) as info:
        store.exists("a")
    assert "storeroom_files" in str(info.value)


@pytest.mark.parametrize("create_table", [True, False])
def test_foreign_table_of_that_name_is_named_and_nothing_is_created(
    url: str, create_table: bool
) -> None:
    """SQL-003: another application's table under table_name is a ConfigError naming the
    table and its missing columns (not "server unreachable"); nothing is created."""
    table = f"foreign{time.time_ns()}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE TABLE "{table}" (id INTEGER PRIMARY KEY, path TEXT)')
        before = sorted(sa.inspect(engine).get_table_names())
        store = _store(url, table_name=table, create_table=create_table)
        for op in (lambda: store.write("a.txt", b"x"), store.ping, lambda: store.exists("a")):
            with pytest.raises(ConfigError) as info:
                op()
            message = str(info.value)
            assert f"table {table!r}" in message and "not a storeroom sql-blob table" in message
            assert "missing columns: size, mtime, chunk_size, meta" in message
            assert "unreachable" not in message
        assert sorted(sa.inspect(engine).get_table_names()) == before
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}"')
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}_chunks"')
        engine.dispose()


# -- error table -------------------------------------------------------------------


def _dbapi(orig: BaseException, cls: type[sa.exc.DBAPIError] = sa.exc.OperationalError) -> Any:
    return cls("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("exc", "expected", "retryable"),
    [
        (_dbapi(psycopg.errors.UniqueViolation(), sa.exc.IntegrityError), AlreadyExists, False),
        (_dbapi(psycopg.errors.InvalidPassword()), PermissionDenied, False),
        (_dbapi(psycopg.errors.InvalidAuthorizationSpecification()), PermissionDenied, False),
        (_dbapi(psycopg.errors.InsufficientPrivilege()), PermissionDenied, False),
        (_dbapi(psycopg.errors.AdminShutdown()), BackendUnavailable, True),
        (_dbapi(psycopg.errors.SerializationFailure()), BackendUnavailable, True),
        (_dbapi(psycopg.errors.ConnectionFailure()), BackendUnavailable, True),
        (_dbapi(psycopg.errors.UndefinedTable(), sa.exc.ProgrammingError), ConfigError, False),
        (_dbapi(psycopg.errors.NotNullViolation(), sa.exc.IntegrityError), UnexpectedError, False),
        (_dbapi(psycopg.OperationalError()), BackendUnavailable, True),
        (sa.exc.TimeoutError(), BackendUnavailable, True),
        (_dbapi(psycopg.errors.ProgramLimitExceeded()), InvalidArgument, False),
    ],
)
def test_error_table_postgres(exc: Exception, expected: type, retryable: bool) -> None:
    """SQL-030: SQLSTATE (exact, then class), then SQLAlchemy type; never message text."""
    err = TABLE.map(exc, "k", operation="op", where="postgresql://u:***@h/db")
    assert type(err) is expected
    assert err.retryable is retryable
    assert (err.path, err.backend, err.operation) == ("k", "sql-blob", "op")


def _sqlite_error(cls: type[sqlite3.Error], code: int) -> sqlite3.Error:
    err = cls("whatever the text says")
    err.sqlite_errorcode = code  # type: ignore[attr-defined]
    return err


@pytest.mark.parametrize(
    ("code", "sa_cls", "expected", "retryable"),
    [
        (2067, sa.exc.IntegrityError, AlreadyExists, False),  # CONSTRAINT_UNIQUE
        (1555, sa.exc.IntegrityError, AlreadyExists, False),  # CONSTRAINT_PRIMARYKEY
        (5, sa.exc.OperationalError, BackendUnavailable, True),  # BUSY
        (517, sa.exc.OperationalError, BackendUnavailable, True),  # BUSY_SNAPSHOT (extended)
        (8, sa.exc.OperationalError, PermissionDenied, False),  # READONLY
        (10, sa.exc.OperationalError, BackendUnavailable, True),  # IOERR
        (14, sa.exc.OperationalError, BackendUnavailable, False),  # CANTOPEN
        (26, sa.exc.DatabaseError, UnexpectedError, False),  # NOTADB
    ],
)
def test_error_table_sqlite(code: int, sa_cls: type, expected: type, retryable: bool) -> None:
    """SQL-031: SQLite extended result codes, then primary codes."""
    err = TABLE.map(_dbapi(_sqlite_error(sqlite3.OperationalError, code), sa_cls), "k")
    assert type(err) is expected
    assert err.retryable is retryable


# -- chunking, ranges, memory -----------------------------------------------------------


def _chunk_queries(backend: SQLBlobBackend) -> list[str]:
    seen: list[str] = []

    @sa.event.listens_for(backend._engine, "before_cursor_execute")
    def _log(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if "_chunks" in statement:
            seen.append(statement)

    return seen


def test_multi_chunk_file_and_ranged_reads_touch_only_needed_chunks(url: str) -> None:
    """SQL-010/011: content is chunked; a ranged read fetches only chunks in range."""
    store = _store(url, chunk_size=4096)
    backend = _backend(store)
    data = os.urandom(4096 * 5 + 123)
    store.write("big.bin", data)
    with backend._engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(backend._chunks)).scalar()
    assert n is not None and n >= 6
    assert store.read_bytes("big.bin") == data
    seen = _chunk_queries(backend)
    assert store.read_range("big.bin", 5000, 6000) == data[5000:6000]
    assert len(seen) == 1  # file row + the slice of chunk 1, one query
    seen.clear()
    assert store.read_range("big.bin", 4000, 9000) == data[4000:9000]
    assert len(seen) == 3  # chunks 0, 1 and 2 only
    seen.clear()
    with store.read("big.bin") as fh:
        fh.seek(4096 * 4 + 10)
        assert fh.read(20) == data[4096 * 4 + 10 : 4096 * 4 + 30]


def test_streaming_keeps_memory_flat(sqlite_url: str) -> None:
    """SQL-012: a 48 MiB write and read allocate about one chunk at a time."""
    store = _store(sqlite_url)
    block = os.urandom(MiB)

    class Source(io.RawIOBase):
        left = 48

        def readable(self) -> bool:
            return True

        def readinto(self, buf: Any) -> int:
            if not self.left:
                return 0
            self.left -= 1
            n = min(len(buf), MiB)
            buf[:n] = block[:n]
            return n

    tracemalloc.start()
    try:
        store.write("s.bin", io.BufferedReader(Source(), MiB))
        _, peak_write = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0
        with store.read("s.bin") as fh:
            while piece := fh.read(256 * 1024):
                total += len(piece)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 48 * MiB
    assert peak_write < 12 * MiB, peak_write
    assert peak_read < 12 * MiB, peak_read


# -- transactions and races ---------------------------------------------------------------


class Boom(Exception):
    """The caller's source failing."""


def _failing(after: int, block: bytes) -> Iterator[bytes]:
    for _ in range(after):
        yield block
    raise Boom("source broke")


class _IterReader(io.RawIOBase):
    def __init__(self, it: Iterator[bytes]) -> None:
        self._it = it

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return next(self._it, b"")


def test_failed_write_leaves_old_content_or_nothing(url: str) -> None:
    """SQL-020: a source failing mid-write leaves nothing (new) or the old content."""
    store = _store(url, chunk_size=4096)
    backend = _backend(store)
    block = b"x" * 4096
    with pytest.raises(Boom):
        store.write("new.bin", _IterReader(_failing(3, block)))  # type: ignore[arg-type]
    assert not store.exists("new.bin")
    store.write("old.bin", b"old content")
    with pytest.raises(Boom):
        store.write("old.bin", _IterReader(_failing(3, block)), overwrite=True)  # type: ignore[arg-type]
    assert store.read_bytes("old.bin") == b"old content"
    with backend._engine.connect() as conn:
        orphans = conn.execute(
            sa.select(sa.func.count())
            .select_from(backend._chunks)
            .where(~backend._chunks.c.file_id.in_(sa.select(backend._files.c.id)))
        ).scalar()
    assert orphans == 0


def test_move_keeps_the_version(url: str) -> None:
    """SQL-022: move keeps the version (etag); no-clobber is checked by conformance."""
    store = _store(url)
    store.write("a.bin", b"a")
    etag = store.get_file_info("a.bin").etag
    store.move("a.bin", "c/d.bin")
    assert store.get_file_info("c/d.bin").etag == etag
    assert not store.exists("a.bin")


def test_listing_pages_match_the_memory_backend(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQL-023: small pages (flat ones, ones with subfolders, subfolders across a page
    boundary) list exactly what the memory backend lists; entries carry etag and metadata."""
    monkeypatch.setattr("storeroom.backends.sql._list.PAGE", 3)
    store = _store(url)
    ref = Registry(
        RegistryConfig.from_dict(
            {"backends": {"m": {"type": "memory"}}, "stores": {"m": {"backend": "m"}}}
        )
    ).get_store("m")
    paths = [f"d/f{i}.bin" for i in range(7)]
    paths += ["d/g/a.bin", "d/g/h/b.bin", "d/g/h/c.bin", "d/g/z.bin", "d/h.bin"]
    paths += [f"d/k/{i}.bin" for i in range(5)] + ["d/l/m/n.bin", "d/zz.bin", "e.bin"]
    for p in paths:
        md = {"n": p} if p.endswith("1.bin") else None
        store.write(p, p.encode(), metadata=md)
        ref.write(p, p.encode(), metadata=md)

    def shape(entries: Iterator[Any]) -> list[tuple[str, str, int | None]]:
        return [(e.path, e.name, getattr(e, "size", None)) for e in entries]

    for folder in ("", "d", "d/g", "d/k"):
        for rec in (False, True):
            assert shape(store.list_files(folder, recursive=rec)) == shape(
                ref.list_files(folder, recursive=rec)
            ), (folder, rec)
        assert shape(store.iter_children(folder)) == shape(ref.iter_children(folder)), folder
        for depth in (0, 1, 5):
            assert shape(store.list_folders(folder, max_depth=depth)) == shape(
                ref.list_folders(folder, max_depth=depth)
            ), (folder, depth)
    for info in store.list_files("", recursive=True):
        assert info == store.get_file_info(info.path)
        assert info.etag is not None and len(info.etag) == 16
        expected = {"n": info.path} if info.name.endswith("1.bin") else {}
        assert dict(info.metadata or {}) == expected


# -- faults against the real server -----------------------------------------------------


def _services(*args: str) -> None:
    subprocess.run([str(REPO / "scripts" / "services"), *args], check=True, capture_output=True)


def test_wrong_password_is_permission_denied(pg_url: str) -> None:
    """SQL-032: a refused login is PermissionDenied naming backend and store, no password."""
    parts = urlsplit(pg_url)
    password = parts.password or ""
    bad = pg_url.replace(f":{password}@", ":wrong-password-here@")
    store = _store(bad)
    with pytest.raises(PermissionDenied) as info:
        store.write("x.bin", b"x")
    text = str(info.value) + repr(info.value)
    assert "sql-blob" in text and "'data'" in text
    assert "wrong-password-here" not in text and password not in text


def test_unreachable_host_is_backend_unavailable_in_time() -> None:
    """SQL-033: an unreachable server is a retryable BackendUnavailable within connect_timeout."""
    store = _store("postgresql+psycopg://u:p@10.255.255.1:5432/db", connect_timeout=2)
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        store.exists("a")
    assert time.monotonic() - t0 < 6
    assert info.value.retryable


def test_server_stopped_mid_write_then_restarted(pg_url: str) -> None:
    """SQL-034: stopped mid-write → retryable BackendUnavailable, no file; restarted → works."""
    store = _store(pg_url, chunk_size=64 * 1024)
    store.write("before.bin", b"kept")
    block = os.urandom(64 * 1024)

    def source() -> Iterator[bytes]:
        yield block
        yield block
        _services("down", "postgres")
        for _ in range(8):
            yield block

    try:
        with pytest.raises(BackendUnavailable) as info:
            store.write("partial.bin", _IterReader(source()))  # type: ignore[arg-type]
        assert info.value.retryable
        assert "sql-blob" in str(info.value)
    finally:
        _services("up", "postgres")
    # The same Store, not rebuilt: its pool replaces the dead connections.
    assert not store.exists("partial.bin")
    assert store.read_bytes("before.bin") == b"kept"
    store.write("after.bin", b"works")
    assert store.read_bytes("after.bin") == b"works"


def test_closed_backend_reconnects(url: str) -> None:
    """SQL-035: close() drops the pool; the next call reconnects lazily."""
    store = _store(url)
    store.write("f.bin", b"1")
    _backend(store).close()
    assert store.read_bytes("f.bin") == b"1"


def test_missing_version_mid_read_is_retryable_not_found(url: str) -> None:
    """SQL-013: a file replaced while streamed fails the stream, never mixes versions."""
    store = _store(url, chunk_size=4096)
    store.write("f.bin", b"a" * 20000)
    with store.read("f.bin") as fh:
        assert fh.read(4096) == b"a" * 4096
        store.write("f.bin", b"b" * 20000, overwrite=True)
        with pytest.raises(NotFound) as info:
            fh.read(4096)
    assert info.value.retryable
