"""A mount over real servers: S3 (moto), local disk, SQLite, and the read-only HTTP server.

Reads, writes, listings and moves cross the backends; a write under the HTTP
mount is refused before any request (spec MOUNT-020, MOUNT-032, MOUNT-050).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, Store
from storeroom.capabilities import Capability as C
from storeroom.errors import CapabilityNotSupported, NotFound
from storeroom.testing.conformance.targets import registered_targets


def _table(target: str, tmp_path: Path, path: str = "") -> dict[str, Any]:
    targets = registered_targets()
    if target not in targets:
        pytest.fail(f"no {target!r} target: is its test server running?")
    return {**targets[target].backend_table(tmp_path), "path": path}


@pytest.fixture
def mixed(tmp_path: Path) -> Iterator[Store]:
    run = f"it-{uuid.uuid4().hex[:12]}"
    mounts = {
        "": _table("local", tmp_path),
        "lake/": _table("s3", tmp_path, run),
        "db/": _table("sql-sqlite", tmp_path, run),
    }
    config = {
        "backends": {"all": {"type": "mount", "options": {"mounts": mounts}}},
        "stores": {"all": {"backend": "all"}},
    }
    with Registry(config) as reg:
        store = reg.get_store("all")
        try:
            yield store
        finally:
            store.delete_folder("lake", recursive=True, missing_ok=True)


# spec: MOUNT-001, MOUNT-003, MOUNT-032, MOUNT-050
def test_reads_writes_lists_and_moves_across_s3_local_and_sqlite(mixed: Store) -> None:
    store = mixed
    store.write("notes/a.txt", b"on disk")
    store.write("lake/raw/2024/x.csv", b"a,b\n1,2\n")
    store.write("db/blob.bin", bytes(range(256)) * 64)
    assert store.read_bytes("lake/raw/2024/x.csv") == b"a,b\n1,2\n"
    assert store.read_range("db/blob.bin", 256, 260) == bytes(range(4))
    assert [str(e.path) for e in store.iter_children()] == ["db", "lake", "notes"]
    assert [str(f.path) for f in store.list_files(recursive=True)] == [
        "db/blob.bin",
        "lake/raw/2024/x.csv",
        "notes/a.txt",
    ]
    assert [str(f.path) for f in store.glob("lake/**/*.csv")] == ["lake/raw/2024/x.csv"]
    store.move("lake/raw/2024/x.csv", "db/x.csv")  # S3 → SQLite: copy + delete
    store.copy("db/x.csv", "notes/x.csv")  # SQLite → local
    store.move("notes/a.txt", "lake/a.txt")  # local → S3
    assert store.read_bytes("notes/x.csv") == b"a,b\n1,2\n"
    assert store.read_bytes("lake/a.txt") == b"on disk"
    assert not store.exists("lake/raw/2024/x.csv") and not store.exists("notes/a.txt")
    with pytest.raises(NotFound) as info:
        store.read_bytes("lake/nothing.txt")
    assert info.value.path == "lake/nothing.txt" and "s3" in info.value.message
    assert C.ATOMIC_MOVE not in store.capabilities
    store.delete_folder("db", recursive=True)
    assert list(store.list_files("db", recursive=True)) == []
    assert store.is_folder("db")  # a mount point stays


# spec: MOUNT-020
def test_an_http_mount_reads_and_refuses_writes(tmp_path: Path) -> None:
    targets = registered_targets()
    if "http" not in targets:
        pytest.fail("no 'http' target: is the HTTP test server running?")
    http = targets["http"]
    assert http.seeder is not None
    run = f"it-{uuid.uuid4().hex[:12]}"
    http.seeder.put(f"{run}/hello.txt", b"served")
    mounts = {"": {"type": "memory"}, "web/": {**http.backend_table(tmp_path), "path": run}}
    config = {
        "backends": {"all": {"type": "mount", "options": {"mounts": mounts}}},
        "stores": {"all": {"backend": "all"}},
    }
    try:
        with Registry(config) as reg:
            store = reg.get_store("all")
            assert store.read_bytes("web/hello.txt") == b"served"
            store.write("local.txt", b"memory")
            with pytest.raises(CapabilityNotSupported) as info:
                store.write("web/new.txt", b"no")
            err = info.value
            assert err.path == "web/new.txt" and err.capability == "write"
            assert 'mount "web/"' in err.message and "http" in err.message
            with pytest.raises(CapabilityNotSupported):
                store.move("web/hello.txt", "here.txt")
            assert not store.exists("here.txt")
            store.copy("web/hello.txt", "here.txt")  # reading from HTTP is fine
            assert store.read_bytes("here.txt") == b"served"
            # spec: MOUNT-022
            assert [str(e.path) for e in store.iter_children()] == ["here.txt", "local.txt", "web"]
            with pytest.raises(CapabilityNotSupported) as listed:
                list(store.list_files("web"))
            assert listed.value.path == "web" and listed.value.capability == "list"
    finally:
        http.seeder.remove(run)


# spec: MOUNT-011, MOUNT-030
def test_inline_credentials_never_show(tmp_path: Path) -> None:
    targets = registered_targets()
    if "s3" not in targets:
        pytest.fail("no 's3' target: is the S3 test server running?")
    secrets = targets["s3"].secrets
    assert secrets
    run = f"it-{uuid.uuid4().hex[:12]}"
    mounts = {"": {"type": "memory"}, "lake/": _table("s3", tmp_path, run)}
    config = {
        "backends": {"all": {"type": "mount", "options": {"mounts": mounts}}},
        "stores": {"all": {"backend": "all"}},
    }
    with Registry(config) as reg:
        store = reg.get_store("all")
        with pytest.raises(NotFound) as info:
            store.read_bytes("lake/absent.bin")
        shown = [repr(reg.config), repr(store), str(info.value), repr(info.value)]
        shown.append(repr(store.resolve("lake/absent.bin")))
        for secret in secrets:
            assert all(secret not in text for text in shown)


# spec: MOUNT-023, SIGN-001
def test_signed_urls_come_from_the_mount_holding_the_path(mixed: Store) -> None:
    import urllib.request

    store = mixed
    assert store.supports(C.SIGNED_URL)
    store.write("lake/signed.txt", b"from s3 through a mount")
    url = store.url("lake/signed.txt", expires=60)
    assert "signed.txt" in url and "Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"from s3 through a mount"
    store.write("notes/plain.txt", b"local")
    with pytest.raises(CapabilityNotSupported) as info:
        store.url("notes/plain.txt")
    assert info.value.path == "notes/plain.txt"


# spec: MOUNT-024
def test_conditional_writes_are_checked_by_the_mount_holding_the_path(mixed: Store) -> None:
    from storeroom.errors import PreconditionFailed

    store = mixed
    assert store.supports(C.CONDITIONAL_WRITE)
    for path in ("lake/n.txt", "db/n.txt", "notes/n.txt"):
        store.write(path, b"1")
        tag = store.head(path).etag
        store.write(path, b"2", if_match=tag)
        with pytest.raises(PreconditionFailed) as info:
            store.write(path, b"3", if_match=tag)
        assert info.value.path == path
        assert store.read_bytes(path) == b"2"
        store.delete(path, if_match=store.head(path).etag)
        assert not store.exists(path)


# spec: MOUNT-023, MOUNT-024
def test_tiers_declare_neither_signed_urls_nor_conditional_writes(tmp_path: Path) -> None:
    config = {
        "backends": {
            "t": {
                "type": "tiers",
                "options": {"tiers": [_table("local", tmp_path), _table("s3", tmp_path, "tier")]},
            }
        },
        "stores": {"t": {"backend": "t"}},
    }
    with Registry(config) as reg:
        store = reg.get_store("t")
        assert not store.supports(C.SIGNED_URL)
        assert not store.supports(C.CONDITIONAL_WRITE)
        with pytest.raises(CapabilityNotSupported):
            store.url("x.txt")
