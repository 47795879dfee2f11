"""Local transactions: staging is hidden and cleaned, a killed commit is settled next time.

Each crash test runs a real transaction in a subprocess and SIGKILLs it at a
chosen point (TXN-032..034).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storeroom import Store
from storeroom.backends.local import LocalBackend
from storeroom.backends.local._txn import PAUSE_ENV, STAGING

CHILD = """
import sys, time
from storeroom import Store
from storeroom.backends.local import LocalBackend
store = Store(LocalBackend(sys.argv[1]))
with store.transaction() as tx:
    for i in range(6):
        tx.write(f"out/f{i}.txt", b"new %d" % i, overwrite=True)
    tx.delete("old.txt")
    tx.move("keep.txt", "out/moved.txt")
    if sys.argv[2] == "staging":
        open(sys.argv[3], "w").close()
        time.sleep(120)
"""

#: The steps of CHILD's commit: 1 moved source, 1 delete, then renames f0..f5, moved.


FINAL = {**{f"out/f{i}.txt": b"new %d" % i for i in range(6)}, "out/moved.txt": b"keep"}
BEFORE = {"old.txt": b"old", "keep.txt": b"keep", "out/f0.txt": b"previous"}


def _files(store: Store) -> dict[str, bytes]:
    files = store.list_files("", recursive=True)
    return {str(f.path): store.read_bytes(str(f.path)) for f in files}


def _staged(root: Path) -> list[str]:
    staging = root / STAGING
    return sorted(p.name for p in staging.iterdir()) if staging.exists() else []


def _seed(root: Path) -> Store:
    store = Store(LocalBackend(root))
    for path, data in BEFORE.items():
        store.write(path, data)
    return store


def _kill_at(root: Path, tmp_path: Path, where: str, env_extra: dict[str, str]) -> None:
    marker = tmp_path / "reached"
    env = {**os.environ, **env_extra, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(root), where, str(marker)], env=env)
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


# spec: TXN-031
def test_staging_is_hidden_from_listings_and_removed_after_commit_and_rollback(
    tmp_path: Path,
) -> None:
    store = Store(LocalBackend(tmp_path))
    with store.transaction() as tx:
        tx.write("a.txt", b"a")
        assert (tmp_path / STAGING).is_dir() and len(_staged(tmp_path)) == 1
        assert [str(e.path) for e in store.iter_children("")] == []
    assert [str(e.path) for e in store.iter_children("")] == ["a.txt"]
    assert _staged(tmp_path) == []
    with pytest.raises(KeyError), store.transaction() as tx:
        tx.write("b.txt", b"b")
        raise KeyError("stop")
    assert _staged(tmp_path) == []
    assert [str(e.path) for e in store.list_files("", recursive=True)] == ["a.txt"]


# spec: TXN-033
def test_a_commit_killed_midway_is_rolled_forward_by_the_next_transaction(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    store = _seed(root)
    _kill_at(root, tmp_path, "commit", {PAUSE_ENV: f"3:{tmp_path / 'reached'}"})
    partial = _files(store)
    assert partial != BEFORE and partial != FINAL  # killed in the middle: half published
    assert len(_staged(root)) == 1  # the dead transaction's folder, with its record
    with store.transaction() as tx:  # settles the dead one first
        assert tx.read_bytes("out/f5.txt") == b"new 5"
    assert _files(store) == FINAL
    assert _staged(root) == []


# spec: TXN-034
def test_a_transaction_killed_before_its_commit_is_rolled_back_by_the_next(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    store = _seed(root)
    _kill_at(root, tmp_path, "staging", {})
    assert _files(store) == BEFORE
    assert len(_staged(root)) == 1  # its staged files, no record
    with store.transaction() as tx:
        tx.write("after.txt", b"x")
    assert _files(store) == {**BEFORE, "after.txt": b"x"}
    assert _staged(root) == []


# spec: TXN-032
def test_a_live_transaction_is_not_settled_by_another(tmp_path: Path) -> None:
    store = Store(LocalBackend(tmp_path))
    with store.transaction() as outer:
        outer.write("outer.txt", b"o")
        with store.transaction() as inner:
            inner.write("inner.txt", b"i")
        assert store.read_bytes("inner.txt") == b"i"
        assert outer.read_bytes("outer.txt") == b"o"  # its staged file survived
    assert _files(store) == {"inner.txt": b"i", "outer.txt": b"o"}
    assert _staged(tmp_path) == []


# spec: TXN-035
def test_a_rename_failing_midway_leaves_the_record_for_the_next_transaction(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    store = _seed(root)
    marker = tmp_path / "reached"
    env = {
        **os.environ,
        PAUSE_ENV: f"3:{marker}",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    cmd = [sys.executable, "-c", CHILD, str(root), "commit", str(marker)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        blocker = root / "out" / "f4.txt"  # a later step's target becomes a folder
        blocker.mkdir(parents=True)
        (blocker / "x").write_bytes(b"x")
        marker.unlink()  # let the commit go on: its rename onto the folder fails
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0 and "InvalidPath: a folder exists at this path" in err
    assert len(_staged(root)) == 1  # the record stays for the roll forward
    (blocker / "x").unlink()
    blocker.rmdir()
    with store.transaction():
        pass
    assert _files(store) == FINAL
    assert _staged(root) == []
