"""batch_delete/copy/exists/read (spec EXT-001..008)."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from storeroom import Store
from storeroom.backend import Backend, Forwarding
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.errors import AlreadyExists, InvalidArgument, InvalidPath, NotFound
from storeroom.ext.batch import (
    BatchResult,
    PartialFailure,
    batch_copy,
    batch_delete,
    batch_exists,
    batch_read,
)


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    backend = MemoryBackend() if request.param == "memory" else LocalBackend(root=str(tmp_path))
    s = Store(backend, "r")
    for i in range(50):
        s.write(f"d/f{i:02d}", f"content {i}".encode())
    return s


def test_batch_delete_reports_each_item(store: Store) -> None:
    """spec: EXT-001, EXT-002, EXT-003"""
    paths = [f"d/f{i:02d}" for i in range(50)] + ["d/missing", "../bad"]
    result = batch_delete(store, paths, max_workers=8)
    assert isinstance(result, BatchResult) and len(result) == 52
    assert [r.item for r in result] == paths  # input order
    assert len(result.succeeded) == 50 and not result.ok
    assert isinstance(result.errors["d/missing"], NotFound)
    assert isinstance(result.errors["../bad"], InvalidPath)
    assert list(store.list_files("d")) == []
    assert "50 ok, 2 failed" in result.summary()
    with pytest.raises(PartialFailure) as info:
        result.raise_on_error()
    assert len(info.value.failures) == 2
    assert isinstance(info.value.__cause__, NotFound)
    # missing_ok turns the missing file into a success.
    again = batch_delete(store, ["d/missing"], missing_ok=True)
    assert again.ok and again.raise_on_error() is again


def test_batch_exists_read_copy(store: Store) -> None:
    """spec: EXT-001, EXT-004"""
    ex = batch_exists(store, ["d/f01", "d/nope", "d"])
    assert ex == {"d/f01": True, "d/nope": False, "d": True}
    rd = batch_read(store, ["d/f03", "d/nope"])
    assert rd.values == {"d/f03": b"content 3"}
    assert isinstance(rd.errors["d/nope"], NotFound)
    cp = batch_copy(store, {"d/f01": "e/f01", "d/f02": "e/f02"})
    assert cp.ok
    assert store.read_bytes("e/f02") == b"content 2"
    clash = batch_copy(store, [("d/f01", "e/f01"), ("d/f05", "e/f05")])
    assert isinstance(clash.failed["d/f01"], AlreadyExists)  # keyed by the source path
    assert clash.succeeded == ("d/f05",) and clash.items[1].item == ("d/f05", "e/f05")
    assert batch_copy(store, [("d/f01", "e/f01")], overwrite=True).ok


def test_stop_on_error_skips_the_rest() -> None:
    """spec: EXT-005"""
    store = Store(MemoryBackend())
    paths = ["missing"] + [f"f{i}" for i in range(100)]
    for p in paths[1:]:
        store.write(p, b"")
    result = batch_delete(store, paths, max_workers=1, stop_on_error=True)
    assert result.items[0].status == "error"
    assert len(result.skipped) >= 90  # a small in-flight window may have started
    assert all(r.error is None for r in result if r.status == "skipped")
    assert len(list(store.list_files())) == len(result.skipped)
    with pytest.raises(PartialFailure):
        result.raise_on_error()


def test_any_executor_and_worker_validation(tmp_path: Path) -> None:
    """spec: EXT-006"""
    store = Store(MemoryBackend())
    store.write("a", b"1")
    with ThreadPoolExecutor(3) as pool:
        assert batch_read(store, ["a"] * 20, executor=pool).values == {"a": b"1"}
    with pytest.raises(InvalidArgument):
        batch_read(store, ["a"], max_workers=0)
    assert batch_read(store, []).ok and len(batch_read(store, [])) == 0


def test_process_pool_executor(tmp_path: Path) -> None:
    """spec: EXT-006, EXT-007 — the store travels as configuration."""
    store = Store(LocalBackend(root=str(tmp_path)), "p")
    for i in range(20):
        store.write(f"x{i}", b"")
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        result = batch_delete(store, [f"x{i}" for i in range(20)] + ["gone"], executor=pool)
    assert len(result.succeeded) == 20
    err = result.errors["gone"]
    assert isinstance(err, NotFound) and err.path == "gone"
    assert list(store.list_files()) == []


def test_partial_failure_pickles() -> None:
    """spec: EXT-008"""
    err = PartialFailure("x", [("a", NotFound("nope", path="a"))])
    clone = pickle.loads(pickle.dumps(err))
    assert isinstance(clone, PartialFailure)
    assert isinstance(clone.failures[0][1], NotFound)


class _Threads(Forwarding):
    """Records which thread ran each ``exists`` and how many ran at once."""

    def __init__(self, inner: Backend, delay: float) -> None:
        super().__init__(inner)
        self.delay = delay
        self.threads: list[int] = []
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()

    def exists(self, key: str) -> bool:
        with self._lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.delay:
                time.sleep(self.delay)
            return super().exists(key)
        finally:
            with self._lock:
                self.running -= 1


def test_fast_items_run_on_the_calling_thread() -> None:
    """spec: EXT-006 — items that take microseconds never pay for a thread pool."""
    probe = _Threads(MemoryBackend(), delay=0)
    result = batch_exists(Store(probe), [f"f{i}" for i in range(200)], max_workers=8)
    assert len(result) == 200 and not any(result.values())
    assert set(probe.threads) == {threading.get_ident()}


def test_slow_items_move_to_the_pool_after_the_first() -> None:
    """spec: EXT-006 — the first item slower than the inline limit hands the rest over."""
    probe = _Threads(MemoryBackend(), delay=0.01)
    paths = [f"f{i}" for i in range(40)]
    result = batch_exists(Store(probe), paths, max_workers=8)
    assert list(result) == paths
    assert probe.threads[0] == threading.get_ident()
    assert threading.get_ident() not in probe.threads[1:]
    assert probe.most > 1
