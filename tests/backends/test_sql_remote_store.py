"""sql-blob serves tables written by remote-store, read and written back with the real library.

spec: SQL-060..065
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.sql.backend import SQLBlobBackend
from storeroom.errors import AlreadyExists, InvalidArgument, InvalidPath, NotFound
from storeroom.models import FileInfo

rs_sql = pytest.importorskip("remote_store.backends._sqlalchemy")
RSBackend = rs_sql.SQLBlobBackend

FILES = {
    "top.txt": b"hello",
    "empty.bin": b"",
    "a/b/c.bin": bytes(range(256)) * 40,
    "a/d.txt": "naïve \u2013 ünïcode".encode(),
}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a new PostgreSQL schema (via search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rs.db'}"
        return
    base = os.environ.get("STOREROOM_TEST_SQL_URL", "")
    if not base:
        pytest.fail("STOREROOM_TEST_SQL_URL is not set")
    schema = f"rs_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _store(options: dict[str, Any]) -> tuple[Registry, Store]:
    """A Registry over a remote-store config table (type and options unchanged)."""
    config = {
        "backends": {"db": {"type": "sql-blob", "options": options}},
        "stores": {"s": {"backend": "db"}},
    }
    registry = Registry(RegistryConfig.from_dict(config))
    return registry, registry.get_store("s")


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_remote_store_files_read_with_an_unchanged_config(db_url: str) -> None:
    """SQL-060/061: remote-store's default table opens and reads the same files in place."""
    rs = RSBackend(db_url)
    for key, data in FILES.items():
        rs.write(key, data, metadata={"owner": "rs"} if key == "top.txt" else None)
    rs.close()
    registry, store = _store({"url": db_url})
    with registry:
        names = [str(f.path) for f in store.list_files(recursive=True)]
        assert names == ["a/b/c.bin", "a/d.txt", "empty.bin", "top.txt"]
        top = [str(e.path) for e in store.iter_children("")]
        assert top == ["a", "empty.bin", "top.txt"]
        for key, data in FILES.items():
            assert store.read_bytes(key) == data
        assert store.read_range("a/b/c.bin", 256, 260) == bytes(range(4))
        info = store.get_file_info("top.txt")
        assert isinstance(info, FileInfo)
        assert info.size == 5 and dict(info.metadata) == {"owner": "rs"}
        assert info.modified_at is not None
        assert abs((datetime.now(UTC) - info.modified_at).total_seconds()) < 120
        assert store.is_folder("a/b") and not store.exists("nope")
        backend = store.unwrap(SQLBlobBackend)
        assert backend.describe()["table_name"] == "remote_store_objects"
    # Served in place: no copy, no storeroom tables created next to it.
    assert "storeroom_files" not in _tables(db_url)


def test_storeroom_writes_stay_readable_by_remote_store(db_url: str) -> None:
    """SQL-063: storeroom's writes, moves, copies and deletes read back in remote-store."""
    rs = RSBackend(db_url)
    for key, data in FILES.items():
        rs.write(key, data)
    registry, store = _store({"url": db_url})
    with registry:
        store.write("new/n.bin", b"\x00\xffnew", metadata={"k": "v"})
        store.write("top.txt", b"replaced", overwrite=True)
        store.write("streamed.bin", io.BytesIO(b"s" * 70_000))
        with pytest.raises(AlreadyExists):
            store.write("top.txt", b"again")
        store.delete("empty.bin")
        store.move("a/d.txt", "moved/d.txt")
        store.copy("a/b/c.bin", "copied.bin")
        with pytest.raises(InvalidPath):
            store.write("top.txt/under", b"x")  # a parent is a file
        with pytest.raises(NotFound):
            store.delete("empty.bin")
        store.delete_folder("a", recursive=True)
    assert rs.read_bytes("new/n.bin") == b"\x00\xffnew"
    assert rs.get_file_info("new/n.bin").size == 5
    assert dict(rs.get_file_info("new/n.bin").metadata) == {"k": "v"}
    assert rs.read_bytes("top.txt") == b"replaced"
    assert rs.read_bytes("streamed.bin") == b"s" * 70_000
    assert not rs.exists("empty.bin") and not rs.exists("a/d.txt") and not rs.exists("a")
    assert rs.read_bytes("moved/d.txt") == FILES["a/d.txt"]
    assert rs.read_bytes("copied.bin") == FILES["a/b/c.bin"]
    keys = sorted(str(f.path) for f in rs.list_files("", recursive=True))
    assert keys == ["copied.bin", "moved/d.txt", "new/n.bin", "streamed.bin", "top.txt"]
    rs.close()


def test_a_named_remote_store_table_and_its_limits(db_url: str) -> None:
    """SQL-060/064: a remote-store table under another name is recognised by its columns;
    max_blob_size holds there too."""
    rs = RSBackend(db_url, table_name="blobs")
    rs.write("x/y.txt", b"named")
    registry, store = _store({"url": db_url, "table_name": "blobs", "max_blob_size": 8})
    with registry:
        assert store.read_bytes("x/y.txt") == b"named"
        with pytest.raises(InvalidArgument, match="max_blob_size"):
            store.write("big.txt", b"123456789")
        with pytest.raises(InvalidArgument):
            store.write("big.txt", io.BytesIO(b"123456789"))
        assert not store.exists("big.txt")
    assert not rs.exists("big.txt")
    assert "blobs_chunks" not in _tables(db_url)


def test_a_fresh_database_gets_storeroom_tables(db_url: str) -> None:
    """SQL-061: with no remote-store table, storeroom's own layout is created."""
    registry, store = _store({"url": db_url})
    with registry:
        store.write("f.txt", b"own layout")
    assert {"storeroom_files", "storeroom_files_chunks"} <= _tables(db_url)
    assert "remote_store_objects" not in _tables(db_url)


def test_storeroom_tables_win_over_a_remote_store_table(db_url: str) -> None:
    """SQL-061: when both default tables exist, storeroom's own table is served."""
    registry, store = _store({"url": db_url})
    with registry:
        store.write("mine.txt", b"storeroom")
    RSBackend(db_url).write("theirs.txt", b"remote-store")
    registry, store = _store({"url": db_url})
    with registry:
        assert [str(e.path) for e in store.iter_children("")] == ["mine.txt"]


def test_foreign_rows_do_not_make_folders(db_url: str) -> None:
    """SQL-026 in the one-table layout: is_folder and exists skip what listings skip."""
    rs = RSBackend(db_url)
    foreign = {"f0": "only//evil.txt", "f1": "deep/a/./b", "f2": "late//a"}
    for key in [*foreign, "late/z.txt"]:
        rs.write(key, b"x")
    rs.close()
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # renamed by another program, straight in SQL
        for key, name in foreign.items():
            conn.execute(
                sa.text("UPDATE remote_store_objects SET key = :name WHERE key = :key"),
                {"name": name, "key": key},
            )
    engine.dispose()
    registry, store = _store({"url": db_url})
    with registry:
        for folder in ["only", "deep", "deep/a"]:
            assert [str(e.path) for e in store.iter_children(folder)] == []
            assert not store.is_folder(folder) and not store.exists(folder)
            with pytest.raises(NotFound):
                store.read_bytes(folder)
        assert [str(e.path) for e in store.iter_children("late")] == ["late/z.txt"]
        assert store.is_folder("late") and store.exists("late")
