"""Retry, limit, fault and bulk delete layers against the real S3 test server (issue 4 "Tests").

Uses the moto server of ``scripts/services up s3``; without it these tests
skip here and ``tests/test_services.py`` fails, so CI cannot pass without it.
The restart test stops and starts that shared server with ``scripts/services``
and puts back every bucket it held (moto keeps its state in memory only).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")

from services_support import service_env
from storeroom.backend import Backend, Forwarding
from storeroom.backends.s3.backend import S3Backend
from storeroom.errors import BackendUnavailable, NotFound, StoreroomError
from storeroom.ext.batch import batch_delete
from storeroom.layers import (
    CacheLayer,
    ContextLayer,
    FaultLayer,
    LimitLayer,
    ObserveLayer,
    RetryLayer,
)
from storeroom.store import Store

ENV = service_env(
    "s3",
    "STOREROOM_TEST_S3_ENDPOINT",
    "STOREROOM_TEST_S3_KEY",
    "STOREROOM_TEST_S3_SECRET",
    "STOREROOM_TEST_S3_REGION",
)
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    ENV is None, reason="no S3 test server (tests/test_services.py fails for that)"
)


def _target() -> Any:
    return sys.modules["storeroom_service_target_s3"]


@pytest.fixture
def s3() -> S3Backend:
    assert ENV is not None
    t = _target()
    backend = S3Backend(**t.options(ENV, t.ensure_bucket(ENV)))
    yield backend
    backend.close()


def _store(backend: Backend) -> Store:
    return Store(backend=backend, root_path=f"layers-{uuid.uuid4().hex[:12]}")


# -- retry: the server goes away and comes back -------------------------------------


class _Restoring(Forwarding):
    """While ``restoring`` is set, a ``NotFound`` is the restarted moto not refilled yet.

    moto comes back empty and the test puts the buckets back a moment later; a
    real server keeps its buckets, so in that window "not found" means "not
    back yet": reported as the retryable ``BackendUnavailable`` it stands for.
    """

    def __init__(self, inner: Backend, restoring: threading.Event) -> None:
        super().__init__(inner)
        self.restoring = restoring

    def write(self, key: str, src: Any, **kw: Any) -> Any:
        try:
            return self.inner.write(key, src, **kw)
        except NotFound as exc:
            if not self.restoring.is_set():
                raise
            raise BackendUnavailable("server restarting", path=key, retryable=True) from exc


def _services(*args: str) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "services"), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def _refill(client: Any, buckets: list[str]) -> None:
    """Recreate the buckets, then check each is really there (for up to 10 s).

    A moto that is still shutting down can answer the first create calls; the
    check makes the restored state the one the writes will see.
    """
    deadline = time.monotonic() + 10
    pending = list(buckets)
    while pending:
        for name in pending:
            try:
                client.create_bucket(Bucket=name)
            except client.exceptions.BucketAlreadyOwnedByYou:
                pass
        time.sleep(0.2)
        missing = []
        for name in pending:
            try:
                client.head_bucket(Bucket=name)
            except Exception:
                missing.append(name)
        pending = missing
        if pending and time.monotonic() > deadline:
            raise AssertionError(f"buckets not restored after the restart: {pending}")


def _restart(down_for: float, restoring: threading.Event, errors: list[BaseException]) -> None:
    """Stop the shared server, wait, start it again and recreate every bucket it had."""
    assert ENV is not None
    try:
        client = _target().boto3_client(ENV)
        buckets = [b["Name"] for b in client.list_buckets().get("Buckets") or ()]
        restoring.set()
        _services("down", "s3")
        time.sleep(down_for)
        _services("up", "s3")
        _refill(client, buckets)
    except BaseException as exc:
        errors.append(exc)
    finally:
        restoring.clear()


def test_retry_recovers_when_the_server_restarts(s3: S3Backend) -> None:
    """LAYER-010..019 against a real outage: writes block in retries, then succeed."""
    restoring = threading.Event()
    observe = ObserveLayer(
        RetryLayer(
            _Restoring(ContextLayer(s3), restoring),
            attempts=1000,
            deadline_s=30,
            base_delay_s=0.05,
            max_delay_s=0.5,
        ),
        log=False,
        record=10_000,
    )
    store = _store(observe)
    store.write("before.bin", b"x")
    errors: list[BaseException] = []
    thread = threading.Thread(target=_restart, args=(1.5, restoring, errors), daemon=True)
    t0 = time.monotonic()
    thread.start()
    n = 0
    while thread.is_alive():
        store.write(f"w/{n}.bin", b"payload %d" % n, overwrite=True)
        n += 1
    thread.join()
    assert not errors, errors
    store.write("after.bin", b"after")
    elapsed = time.monotonic() - t0
    assert elapsed < 30
    writes = observe.recorder.of("write")  # type: ignore[union-attr]
    assert all(e.ok for e in writes)
    assert max(e.attempts for e in writes) > 1  # at least one write waited out the outage
    assert store.read_bytes("after.bin") == b"after"
    assert store.read_bytes(f"w/{n - 1}.bin") == b"payload %d" % (n - 1)


def test_without_retry_the_outage_is_a_retryable_error(s3: S3Backend) -> None:
    """The same outage without the retry layer: BackendUnavailable, retryable; then works again."""
    store = _store(ContextLayer(s3))
    _services("down", "s3")
    try:
        with pytest.raises(BackendUnavailable) as info:
            store.write("x.bin", b"x")
        assert info.value.retryable
    finally:
        _services("up", "s3")
        assert ENV is not None
        _target().ensure_bucket(ENV, s3.bucket, again=True)
    store.write("x.bin", b"x")
    assert store.read_bytes("x.bin") == b"x"


# -- limit -------------------------------------------------------------------------


class _InFlight(Forwarding):
    """Counts calls in progress (the most seen at once) below the limit layer."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0

    def _track(self, fn: Any, *args: Any) -> Any:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.005)  # make overlaps likely
            return fn(*args)
        finally:
            with self._lock:
                self.now -= 1

    def stat(self, key: str) -> Any:
        return self._track(self.inner.stat, key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> Any:
        return self._track(self.inner.open_read, key, start, end)


def test_limit_caps_concurrency_against_the_server(s3: S3Backend) -> None:
    """LAYER-040: 16 threads, max_concurrency=3: never more than 3 requests at once."""
    counter = _InFlight(ContextLayer(s3))
    store = _store(LimitLayer(counter, max_concurrency=3))
    for i in range(8):
        store.write(f"f{i}.bin", b"%d" % i)
    failures: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(6):
                name = f"f{(i + j) % 8}.bin"
                assert store.get_file_info(name).size == 1
                assert store.read_bytes(name) == name[1:2].encode()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert counter.most == 3


def test_limit_requests_per_second_against_the_server(s3: S3Backend) -> None:
    """LAYER-041: 12 calls at 20 per second (burst 1) take at least about half a second."""
    store = _store(LimitLayer(ContextLayer(s3), requests_per_second=20, burst=1))
    store.write("r.bin", b"r")
    t0 = time.monotonic()
    for _ in range(11):
        store.exists("r.bin")
    assert time.monotonic() - t0 >= 0.45


# -- fault -------------------------------------------------------------------------


def test_fault_layer_over_s3(s3: S3Backend) -> None:
    """LAYER-060..: injected failures never reach the server half-done; retry absorbs them."""
    fault = FaultLayer(ContextLayer(s3), rates={"write": 1.0}, max_faults=1)
    store = _store(fault)
    with pytest.raises(BackendUnavailable):
        store.write("a.bin", b"a")
    assert not store.exists("a.bin")  # nothing was sent
    store.write("a.bin", b"a")
    assert store.read_bytes("a.bin") == b"a"

    # A connection "dropped" mid-upload leaves no partial object (S3 writes are atomic).
    broken = _store(FaultLayer(ContextLayer(s3), fail_after_bytes=1000, max_faults=1))
    with pytest.raises(BackendUnavailable):
        broken.write("big.bin", _Chunks(b"z" * 4096, 512))
    assert not broken.exists("big.bin")

    # Retry over fault over S3: a flaky read path still returns the right bytes.
    flaky = FaultLayer(ContextLayer(s3), rates={"open_read": 0.5, "stat": 0.5}, seed=3)
    retried = _store(RetryLayer(flaky, attempts=20, base_delay_s=0.001, max_delay_s=0.01))
    retried.write("c.bin", b"content")
    for _ in range(10):
        assert retried.read_bytes("c.bin") == b"content"
        assert retried.get_file_info("c.bin").size == 7
    assert flaky.faults > 0


class _Chunks:
    """A non-seekable stream handing out ``data`` in pieces of ``size``."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data = data
        self._size = size

    def read(self, n: int = -1) -> bytes:
        n = self._size if n is None or n < 0 else min(n, self._size)
        out, self._data = self._data[:n], self._data[n:]
        return out

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


# -- delete_many: S3's DeleteObjects through the layer stack -------------------------


class _CountBulk(Forwarding):
    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.calls: list[int] = []

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        self.calls.append(len(keys))
        return self.inner.delete_many(keys)


def test_delete_many_on_s3_through_every_layer(s3: S3Backend) -> None:
    """BACKEND-016/017, S3-040..043: bulk requests, per-key results, cache invalidated."""
    counted = _CountBulk(ContextLayer(s3))
    cache = CacheLayer(LimitLayer(RetryLayer(counted), max_concurrency=4))
    observe = ObserveLayer(cache, log=False, record=100)
    store = _store(observe)
    names = [f"d/f{i:04d}.bin" for i in range(1205)]
    for name in names[:5]:
        store.write(name, b"x")
    client_keys = [f"{store.root_path}/{n}" for n in names[5:]]
    assert ENV is not None
    client = _target().boto3_client(ENV)
    for key in client_keys:  # bulk-fill quickly, around storeroom
        client.put_object(Bucket=s3.bucket, Key=key, Body=b"x")
    store.write("d/sub/keep.bin", b"k")
    assert store.exists(names[0])  # now cached
    result = batch_delete(store, [*names, "d/missing.bin", "d/sub"], chunk_size=1000)
    assert [r.status for r in result][:1205] == ["ok"] * 1205
    assert isinstance(result.items[-2].error, NotFound)
    assert isinstance(result.items[-1].error, NotFound)  # a folder on S3: as delete says
    assert result.items[-2].error.path == "d/missing.bin"
    assert sorted(counted.calls) == [207, 1000]
    assert not store.exists(names[0])  # the cache was invalidated
    assert [f.path for f in store.list_files("d", recursive=True)] == ["d/sub/keep.bin"]
    events = [e for e in observe.recorder.events if e.operation == "delete_many"]  # type: ignore[union-attr]
    assert sorted(e.entries or 0 for e in events) == [207, 1000]
    # remove_folder on a layered S3 store still works (S3's own batch deletes).
    store.delete_folder("d", recursive=True)
    assert not store.exists("d")


@pytest.fixture(autouse=True)
def _server_back() -> Iterator[None]:
    """Whatever a test did, leave the shared server running with its buckets."""
    yield
    if ENV is not None:
        _services("up", "s3")
