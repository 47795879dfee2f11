"""Transactions on S3 and Azure: hidden staging, killed commits settled, readers see files whole.

Each store gets a bucket (container) of its own: the staging prefix and the
commit lock live at the backend root. Crash tests run a real transaction in a
subprocess and SIGKILL it at a chosen point (TXN-040..045).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Store
from storeroom._txn_core import PAUSE_ENV
from storeroom._txn_lease import LEASE_ENV
from storeroom._txn_objects import LOCK, STAGING, _folders
from storeroom.backend import Backend
from storeroom.errors import NotFound, StoreroomError
from storeroom.testing.conformance.targets import registered_targets

OBJECT_STORES = ["s3", "s3-obstore", "azure"]

CHILD = """
import json, os, sys, time
from storeroom import Registry, RegistryConfig
registry = Registry(RegistryConfig.from_dict(json.loads(os.environ["TXN_CHILD_CONFIG"])))
store = registry.get_store("s")
with store.transaction() as tx:
    for i in range(6):
        tx.write(f"out/f{i}.txt", b"new %d" % i, overwrite=True)
    tx.delete("old.txt")
    tx.move("keep.txt", "out/moved.txt")
    if sys.argv[1] == "staging":
        open(sys.argv[2], "w").close()
        time.sleep(120)
"""
#: The record of CHILD's commit: copies onto f0..f5 and moved.txt, then 2 deletes.

FINAL = {**{f"out/f{i}.txt": b"new %d" % i for i in range(6)}, "out/moved.txt": b"keep"}
BEFORE = {"old.txt": b"old", "keep.txt": b"keep", "out/f0.txt": b"previous"}


def _config(target: str, tmp_path: Path) -> dict[str, Any]:
    """Registry config: store ``s`` (root_path ``data``) on a fresh bucket or container."""
    targets = registered_targets()
    if target not in targets:
        pytest.fail(f"no {target!r} target: is its test server running?")
    table = targets[target].backend_table(tmp_path)
    options = dict(table["options"])
    fresh = f"storeroom-txc-{uuid.uuid4().hex[:12]}"
    if "bucket" in options:
        module = sys.modules["storeroom_service_target_s3"]
        options["bucket"] = module.ensure_bucket(module.ENV, fresh)
    else:
        options["container"] = fresh
        options["create_container"] = True
    return {
        "backends": {"b": {**table, "options": options}},
        "stores": {"s": {"backend": "b", "root_path": "data"}, "all": {"backend": "b"}},
    }


@pytest.fixture(params=OBJECT_STORES)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return _config(request.param, tmp_path)


@pytest.fixture
def registry(config: dict[str, Any]) -> Iterator[Registry]:
    reg = Registry(RegistryConfig.from_dict(config))
    try:
        yield reg
    finally:
        reg.close()


def _files(store: Store) -> dict[str, bytes]:
    files = store.list_files("", recursive=True)
    return {str(f.path): store.read_bytes(str(f.path)) for f in files}


def _staged(backend: Backend) -> list[str]:
    """Transaction folders under the staging prefix, and the lock when it is there."""
    found = sorted(_folders(backend))
    return [*found, "lock"] if _has_lock(backend) else found


def _has_lock(backend: Backend) -> bool:
    try:
        backend.stat(LOCK)
        return True
    except NotFound:
        return False


def _seed(store: Store) -> None:
    for path, data in BEFORE.items():
        store.write(path, data)


def _kill_at(config: dict[str, Any], tmp_path: Path, where: str, extra: dict[str, str]) -> None:
    marker = tmp_path / "reached"
    env = {
        **os.environ,
        **extra,
        LEASE_ENV: "1",
        "TXN_CHILD_CONFIG": json.dumps(config),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    proc = subprocess.Popen([sys.executable, "-c", CHILD, where, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the child ended before reaching the pause"
            assert time.monotonic() < deadline, "the child never reached the pause"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


# spec: TXN-040, TXN-045
def test_staging_is_hidden_from_the_backend_root_and_removed_after_commit_and_rollback(
    registry: Registry,
) -> None:
    store, whole = registry.get_store("s"), registry.get_store("all")
    backend = registry.get_backend("b")
    with store.transaction() as tx:
        tx.write("a.txt", b"a", metadata={"owner": "ana"})
        assert len(_folders(backend)) == 1  # the staged upload exists...
        assert [str(e.path) for e in whole.iter_children("")] == []  # ...and is not listed
        assert list(whole.list_files("", recursive=True)) == []
        assert not whole.exists(STAGING) and not whole.is_folder(STAGING)
        assert list(whole.glob("**")) == [] and list(whole.glob(".*")) == []
    assert [str(e.path) for e in whole.iter_children("")] == ["data"]
    assert _staged(backend) == []  # folder, lease and lock all gone
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.write("b.txt", b"b")
        raise KeyError("stop")
    assert _staged(backend) == []
    assert _files(store) == {"a.txt": b"a"}
    assert store.get_file_info("a.txt").metadata == {"owner": "ana"}  # copied with the object


# spec: TXN-043
def test_a_commit_killed_after_its_record_is_completed_by_the_next_transaction(
    config: dict[str, Any], registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, backend = registry.get_store("s"), registry.get_backend("b")
    _seed(store)
    _kill_at(config, tmp_path, "commit", {PAUSE_ENV: f"3:{tmp_path / 'reached'}"})
    partial = _files(store)
    # killed in the middle: 3 copies published, the rest (and the deletes) not yet
    assert partial == {**BEFORE, **{f"out/f{i}.txt": b"new %d" % i for i in range(3)}}
    assert len(_folders(backend)) == 1 and _has_lock(backend)  # its record, and its lock
    monkeypatch.setenv(LEASE_ENV, "1")
    time.sleep(1.2)  # the dead transaction's lease (and lock) run out
    with store.transaction() as tx:  # settles the dead one first
        assert tx.read_bytes("out/f5.txt") == b"new 5"
    assert _files(store) == FINAL
    assert _staged(backend) == []


# spec: TXN-044
def test_a_transaction_killed_before_its_record_is_rolled_back_by_the_next(
    config: dict[str, Any], registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, backend = registry.get_store("s"), registry.get_backend("b")
    _seed(store)
    _kill_at(config, tmp_path, "staging", {})
    assert _files(store) == BEFORE
    assert len(_folders(backend)) == 1  # its staged uploads, no record
    monkeypatch.setenv(LEASE_ENV, "1")
    time.sleep(1.2)
    with store.transaction() as tx:
        tx.write("after.txt", b"x")
    assert _files(store) == {**BEFORE, "after.txt": b"x"}
    assert _staged(backend) == []


# spec: TXN-041
def test_a_live_transaction_is_not_settled_by_another(registry: Registry) -> None:
    store, backend = registry.get_store("s"), registry.get_backend("b")
    with store.transaction() as outer:
        outer.write("outer.txt", b"o")
        with store.transaction() as inner:
            inner.write("inner.txt", b"i")
        assert store.read_bytes("inner.txt") == b"i"
        assert outer.read_bytes("outer.txt") == b"o"  # its staged upload survived
    assert _files(store) == {"inner.txt": b"i", "outer.txt": b"o"}
    assert _staged(backend) == []


# spec: TXN-042
def test_a_reader_during_a_commit_sees_each_file_whole(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = registry.get_store("s")
    old = {f"f{i}": bytes([65 + i]) * 300_000 for i in range(5)}
    new = {f"f{i}": bytes([97 + i]) * 300_000 for i in range(5)}
    for path, data in old.items():
        store.write(path, data)
    marker = tmp_path / "paused"
    monkeypatch.setenv(PAUSE_ENV, f"2:{marker}")
    errors: list[BaseException] = []

    def commit() -> None:
        try:
            with store.transaction() as tx:
                for path, data in new.items():
                    tx.write(path, data, overwrite=True)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=commit)
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        seen = {path: store.read_bytes(path) for path in old}  # paused after 2 copies
        assert seen == {p: (new if p in ("f0", "f1") else old)[p] for p in old}
        marker.unlink()
        while worker.is_alive():  # the rest of the publish: every read is one whole version
            for path in old:
                assert store.read_bytes(path) in (old[path], new[path])
    finally:
        if marker.exists():
            marker.unlink()
        worker.join(timeout=60)
    assert not errors
    assert _files(store) == new


# spec: TXN-041
def test_concurrent_commits_run_one_at_a_time(registry: Registry) -> None:
    store = registry.get_store("s")
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for r in range(3):
                names = ["a", "b", "c", "d"]
                with store.transaction() as tx:  # one commit writes one value everywhere,
                    for name in names[n:] + names[:n]:  # each writer in another order
                        tx.write(name, b"%d-%d" % (n, r), overwrite=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    final = _files(store)
    assert len(set(final.values())) == 1, final  # the last commit's value in all three
    assert _staged(registry.get_backend("b")) == []


# spec: TXN-041
def test_the_create_only_write_behind_the_commit_lock_has_exactly_one_winner(
    registry: Registry,
) -> None:
    from storeroom.errors import AlreadyExists

    backend = registry.get_backend("b")

    def race(key: str) -> tuple[list[int], list[BaseException]]:
        barrier = threading.Barrier(8)
        winners: list[int] = []
        other: list[BaseException] = []

        def claim(n: int) -> None:
            barrier.wait()
            try:
                backend.write(key, b"%d" % n, overwrite=False)
                winners.append(n)
            except AlreadyExists:
                pass
            except BaseException as exc:
                other.append(exc)

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        return winners, other

    for round_ in range(10):
        key = f"race/lock-{round_}"
        winners, other = race(key)
        assert not other and len(winners) == 1, (winners, other)
        assert backend.open_read(key).read() == b"%d" % winners[0]


# spec: TXN-045
def test_a_copy_failing_midway_leaves_the_record_for_the_next_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azure: a blob lease taken on a later target makes its copy fail for real."""
    reg = Registry(RegistryConfig.from_dict(_config("azure", tmp_path)))
    try:
        store, backend = reg.get_store("s"), reg.get_backend("b")
        for i in range(5):
            store.write(f"f{i}", b"old")
        monkeypatch.setenv(LEASE_ENV, "1")
        marker = tmp_path / "paused"
        monkeypatch.setenv(PAUSE_ENV, f"2:{marker}")
        failures: list[BaseException] = []

        def commit() -> None:
            try:
                with store.transaction() as tx:
                    for i in range(5):
                        tx.write(f"f{i}", b"new", overwrite=True)
            except BaseException as exc:
                failures.append(exc)

        worker = threading.Thread(target=commit)
        worker.start()
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert worker.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)
        from azure.storage.blob import ContainerClient

        blob = backend.unwrap(ContainerClient).get_blob_client("data/f3")
        lease = blob.acquire_lease(lease_duration=-1)
        marker.unlink()
        worker.join(timeout=60)
        # the copy onto the leased blob was refused, as a typed error
        assert len(failures) == 1 and isinstance(failures[0], StoreroomError), failures
        assert _files(store) == {
            "f0": b"new",
            "f1": b"new",
            "f2": b"new",
            "f3": b"old",
            "f4": b"old",
        }
        assert len(_folders(backend)) == 1  # the record stays
        lease.release()
        monkeypatch.delenv(PAUSE_ENV)
        time.sleep(1.2)  # its lease runs out
        with store.transaction():
            pass
        assert _files(store) == {f"f{i}": b"new" for i in range(5)}
        assert _staged(backend) == []
    finally:
        reg.close()
