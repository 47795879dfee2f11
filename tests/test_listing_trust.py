"""Listings only yield store paths; helpers writing to local disk stay inside their folder.

Names that another client wrote straight into the storage (raw SQL rows, S3 or Azure
objects, SFTP files) are skipped by listings with one warning each (spec BACKEND-006,
SQL-026); ``download`` and ``storeroom sync`` check every local destination themselves,
shown with a backend that breaks the listing rule on purpose (EXT-075, CLI-088).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storeroom import Registry, RegistryConfig, Store
from storeroom.backend import Entry, Forwarding
from storeroom.backends import MemoryBackend
from storeroom.backends.sql import SQLBlobBackend
from storeroom.cli import main
from storeroom.errors import InvalidPath, NotFound
from storeroom.ext.transfer import download
from storeroom.models import FileInfo
from storeroom.path import is_store_key, normalize
from storeroom.registry import register_layer

#: Names a foreign client can create; none is a store path.
EVIL = [
    "../../escaped/evil.txt",
    "/abs/x",
    "a//b",
    "a/./b",
    "c/",
    "back\\slash",
    "nul\x00name",
]


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _skipped(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "storeroom.listing"]


# -- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [*EVIL, "", ".", "..", "x/..", "./x", "a/b/"])
def test_invalid_keys_are_not_store_keys(key: str) -> None:
    # spec: BACKEND-006
    assert not is_store_key(key)


@pytest.mark.parametrize("key", ["a", "a/b.txt", ".hidden/x", "a/.../b", "sp ace/ü"])
def test_store_keys_are_their_own_normal_form(key: str) -> None:
    # spec: BACKEND-006
    assert is_store_key(key) and normalize(key) == key


# -- sql-blob: rows inserted with raw SQL ------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def sql_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, str]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'blobs.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    table = f"lt{uuid.uuid4().hex[:16]}"
    config = {
        "backends": {"b": {"type": "sql-blob", "options": {"url": url, "table_name": table}}},
        "stores": {"data": {"backend": "b"}},
    }
    registry = Registry(RegistryConfig.from_dict(config))
    store = registry.get_store("data")
    yield store, table
    if request.param == "postgres":
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}", "{table}_chunks"')
        engine.dispose()
    registry.close()


@pytest.fixture
def pg_url() -> str:
    target = sys.modules["storeroom_service_target_postgres"]
    url: str | None = getattr(target, "PG_URL", None)
    if not url:
        pytest.fail('STOREROOM_TEST_SQL_URL is not set: eval "$(scripts/services up postgres)"')
    return url


def _insert_rows(store: Store, table: str, names: list[str]) -> None:
    """Rows written by another client, straight into the files table (no chunks: empty files)."""
    backend = store.unwrap(SQLBlobBackend)
    assert isinstance(backend, SQLBlobBackend)
    now = int(dt.datetime.now(dt.UTC).timestamp() * 1e6)
    with backend._engine.begin() as conn:
        for i, name in enumerate(names):
            conn.execute(
                sa.text(
                    f'INSERT INTO "{table}" (id, path, size, mtime, chunk_size, meta) '
                    "VALUES (:id, :path, 0, :mtime, 1024, NULL)"
                ),
                {"id": 10_000 + i, "path": name, "mtime": now},
            )


def test_sql_listing_skips_foreign_rows_with_one_warning_each(
    sql_store: tuple[Store, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # spec: BACKEND-006, SQL-026
    store, table = sql_store
    store.write("ok/good.txt", b"good")
    pg = "postgres" in str(store.unwrap(SQLBlobBackend).describe()["url"])
    evil = [k for k in EVIL if not (pg and "\x00" in k)]  # PostgreSQL text cannot hold NUL
    _insert_rows(store, table, evil)
    caplog.set_level(logging.WARNING, logger="storeroom.listing")
    assert [str(f.path) for f in store.list_files("", recursive=True)] == ["ok/good.txt"]
    skipped = _skipped(caplog)
    assert len(skipped) == len(evil)
    assert all("sql-blob" in m for m in skipped)
    assert any("../../escaped/evil.txt" in m for m in skipped)
    caplog.clear()
    assert [str(e.path) for e in store.iter_children("")] == ["ok"]
    assert [str(e.path) for e in store.iter_children("a")] == []
    # Nothing escapes a download of the whole store.
    dest = tmp_path / "deep" / "er" / "dest"
    report = download(store, "", dest)
    assert report.ok and [f.dest for f in report] == [str(dest / "ok" / "good.txt")]
    assert _files(tmp_path / "deep") == ["er/dest/ok/good.txt"]


def test_sql_is_folder_and_exists_agree_with_listings(
    sql_store: tuple[Store, str], caplog: pytest.LogCaptureFixture
) -> None:
    # spec: SQL-026
    store, table = sql_store
    store.write("mixed/good.txt", b"good")
    store.write("late/z.txt", b"z")  # below a foreign row that sorts first ("/" < "z")
    foreign = ["only//evil.txt", "only/../x", "deep/a/./b", "mixed//evil", "late//a"]
    _insert_rows(store, table, foreign)
    caplog.set_level(logging.WARNING, logger="storeroom.listing")
    for folder in ["only", "deep", "deep/a"]:
        assert [str(e.path) for e in store.iter_children(folder)] == []
        assert not store.is_folder(folder)
        assert not store.exists(folder)
        with pytest.raises(NotFound):  # not "found a folder": there is none to see
            store.read_bytes(folder)
    with pytest.raises(NotFound):
        store.delete_folder("only", recursive=True)
    for folder, files in [("mixed", ["mixed/good.txt"]), ("late", ["late/z.txt"])]:
        assert [str(e.path) for e in store.iter_children(folder)] == files
        assert store.is_folder(folder) and store.exists(folder)
        with pytest.raises(InvalidPath):
            store.read_bytes(folder)
    assert all("sql-blob" in m for m in _skipped(caplog))


# -- S3 and Azure: objects written with the SDK --------------------------------------------


def _s3() -> tuple[Store, Any, str, str]:
    target = sys.modules["storeroom_service_target_s3"]
    env = target.ENV
    if env is None:
        pytest.fail('no S3 test server: eval "$(scripts/services up s3)"')
    bucket = target.ensure_bucket(env)
    root = f"lt{uuid.uuid4().hex[:12]}"
    config = {
        "backends": {"b": {"type": "s3", "options": target.options(env, bucket)}},
        "stores": {"s": {"backend": "b", "root_path": root}},
    }
    return (
        Registry(RegistryConfig.from_dict(config)).get_store("s"),
        target.boto3_client(env),
        bucket,
        root,
    )


def test_s3_listing_skips_foreign_objects_with_one_warning_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: BACKEND-006
    store, client, bucket, root = _s3()
    store.write("ok/good.txt", b"good")
    evil = [k for k in EVIL if "\x00" not in k and k != "c/"]  # "c/" is a folder marker
    for name in [*evil, "c/"]:
        client.put_object(Bucket=bucket, Key=f"{root}/{name}", Body=b"x")
    caplog.set_level(logging.WARNING, logger="storeroom.listing")
    assert [str(f.path) for f in store.list_files("", recursive=True)] == ["ok/good.txt"]
    assert len(_skipped(caplog)) == len(evil)  # the folder marker is skipped silently
    children = [str(e.path) for e in store.iter_children("")]
    assert all(is_store_key(p) for p in children) and "ok" in children
    assert [str(e.path) for e in store.iter_children("a")] == []


def test_azure_listing_skips_foreign_blobs(caplog: pytest.LogCaptureFixture) -> None:
    # spec: BACKEND-006
    target = sys.modules["storeroom_service_target_azure"]
    if target.ENV is None:
        pytest.fail('no Azurite: eval "$(scripts/services up azure)"')
    from azure.storage.blob import BlobServiceClient

    cs = target.ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]
    container = f"lt{uuid.uuid4().hex[:16]}"
    config = {
        "backends": {
            "b": {
                "type": "azure",
                "options": {
                    "container": container,
                    "connection_string": cs,
                    "create_container": True,
                },
            }
        },
        "stores": {"s": {"backend": "b"}},
    }
    store = Registry(RegistryConfig.from_dict(config)).get_store("s")
    store.write("ok/good.txt", b"good")
    service = BlobServiceClient.from_connection_string(cs)
    client = service.get_container_client(container)
    try:
        # Azurite refuses "." and ".." segments (the signed URL is cleaned up on the way)
        # and turns "\\" into "/"; these it keeps as written. "c/" is a folder marker.
        evil = ["a//b", "/abs/x", "e/f//"]
        for name in [*evil, "c/"]:
            client.upload_blob(name, b"x")
        assert {b.name for b in client.list_blobs()} == {*evil, "c/", "ok/good.txt"}
        caplog.set_level(logging.WARNING, logger="storeroom.listing")
        assert [str(f.path) for f in store.list_files("", recursive=True)] == ["ok/good.txt"]
        assert len(_skipped(caplog)) == len(evil)
        caplog.clear()
        children = [str(e.path) for e in store.iter_children("")]
        assert all(is_store_key(p) for p in children) and "ok" in children
    finally:
        service.delete_container(container)


def test_sftp_listing_skips_a_backslash_name(caplog: pytest.LogCaptureFixture) -> None:
    # spec: BACKEND-006
    target = sys.modules["storeroom_service_target_sftp"]
    if target.ENV is None:
        pytest.fail('no SFTP test server: eval "$(scripts/services up sftp)"')
    from storeroom.backends.sftp.backend import SFTPBackend

    root = f"lt-{uuid.uuid4().hex}"
    config = {
        "backends": {"b": {"type": "sftp", "options": target.sftp_options(target.ENV)}},
        "stores": {"s": {"backend": "b", "root_path": root}},
    }
    store = Registry(RegistryConfig.from_dict(config)).get_store("s")
    backend = store.unwrap(SFTPBackend)
    assert isinstance(backend, SFTPBackend)
    store.write("ok/good.txt", b"good")

    def raw_write(conn: Any) -> None:  # another SFTP client creating a file
        with conn.sftp.open(backend._path(f"{root}/ok/back\\slash"), "wb") as fh:
            fh.write(b"x")

    backend._call("test", root, raw_write)
    try:
        caplog.set_level(logging.WARNING, logger="storeroom.listing")
        assert [str(f.path) for f in store.list_files("", recursive=True)] == ["ok/good.txt"]
        assert len(_skipped(caplog)) == 1
    finally:
        backend.remove_folder(root, recursive=True)


def test_local_listing_skips_names_no_store_path_spells(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # spec: BACKEND-006, LOCAL-042
    root = tmp_path / "root"
    store = Registry(
        RegistryConfig.from_dict(
            {
                "backends": {"b": {"type": "local", "options": {"root": str(root)}}},
                "stores": {"s": {"backend": "b"}},
            }
        )
    ).get_store("s")
    store.write("ok/good.txt", b"good")
    (root / "ok" / "back\\slash").write_bytes(b"x")  # another program's file
    (root / "ok" / "dir\\name").mkdir()
    import os

    with open(os.path.join(os.fsencode(root), b"ok", b"bad-\xff.txt"), "wb") as fh:
        fh.write(b"not UTF-8")  # a lone surrogate once decoded: no store path spells it
    (root / "ok" / "caf\u00e9.txt").write_bytes(b"fine")  # non-ASCII but valid is listed
    caplog.set_level(logging.WARNING, logger="storeroom.listing")
    listed = sorted(str(f.path) for f in store.list_files("", recursive=True))
    assert listed == ["ok/caf\u00e9.txt", "ok/good.txt"]
    assert sorted(str(c.path) for c in store.iter_children("ok")) == [
        "ok/caf\u00e9.txt",
        "ok/good.txt",
    ]
    assert len(_skipped(caplog)) >= 3
    assert all(is_store_key(p) for p in listed)


# -- helpers writing to local disk check each destination themselves -----------------------


class EvilNames(Forwarding):
    """A layer that breaks BACKEND-006 on purpose: its listings add names leaving the root."""

    NAMES = ("../../escaped/evil.txt", "/abs/x", "sub/../../up.txt")

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        yield from self.inner.list(prefix, recursive=recursive, base=base)
        if recursive and not prefix:
            when = dt.datetime.now(dt.UTC)
            for name in self.NAMES:
                yield FileInfo._fast(name, name.rpartition("/")[2], 4, when)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> Any:
        if key in self.NAMES:
            return __import__("io").BytesIO(b"evil")
        return self.inner.open_read(key, start, end)


register_layer("listtest-evil", EvilNames, replace=True)


def test_download_refuses_a_listed_path_leaving_the_destination(tmp_path: Path) -> None:
    # spec: EXT-075
    store = Store(EvilNames(MemoryBackend()))
    store.write("fine.txt", b"fine")
    dest = tmp_path / "one" / "two" / "dest"
    with pytest.raises(InvalidPath) as caught:
        download(store, "", dest)
    assert caught.value.path == "../../escaped/evil.txt"
    assert "outside the local destination folder" in str(caught.value)
    assert not (tmp_path / "one").exists()  # checked before anything was written


def test_sync_to_a_local_folder_refuses_a_listed_path_leaving_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # spec: CLI-088
    monkeypatch.chdir(tmp_path)
    (tmp_path / "disk").mkdir()
    (tmp_path / "disk" / "fine.txt").write_bytes(b"fine")
    config = tmp_path / "storeroom.toml"
    config.write_text(
        f'[backends.disk]\ntype = "local"\noptions = {{ root = "{tmp_path / "disk"}" }}\n'
        '[stores.evil]\nbackend = "disk"\nlayers = [{ type = "listtest-evil" }]\n'
    )
    dest = tmp_path / "one" / "two" / "dest"
    for extra in ([], ["--dry-run"]):
        code = main(["--config", str(config), "sync", *extra, "evil:", str(dest)])
        err = capsys.readouterr().err
        assert code == 2, err  # InvalidPath
        assert "outside the local destination folder" in err
    assert _files(tmp_path) == ["disk/fine.txt", "storeroom.toml"]
