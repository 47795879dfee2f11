"""Conditional writes: local across processes and its lock protocol, layers, AsyncStore (COND-*)."""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from storeroom import PreconditionFailed, Store
from storeroom.aio import AsyncStore
from storeroom.backend import Forwarding, Source
from storeroom.backends.local.backend import LocalBackend
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import BackendUnavailable, CapabilityNotSupported
from storeroom.layers import CacheLayer, ObserveLayer, ReadOnlyLayer, Recorder, RetryLayer
from storeroom.models import WriteResult

WORKERS = 8


def _increments(root: str, times: int, out: multiprocessing.Queue[int], go: Any) -> None:
    """One process: its own backend on ``root``, ``times`` read-modify-write increments."""
    store = Store(LocalBackend(root))
    retries = done = 0
    go.wait(60)  # a barrier: every process starts incrementing at once
    while done < times:
        etag = store.head("counter.txt").etag
        value = int(store.read_bytes("counter.txt"))
        time.sleep(0.001)  # some work between read and write: lets the workers collide
        try:
            store.write("counter.txt", str(value + 1).encode(), if_match=etag)
        except PreconditionFailed:
            retries += 1
            continue
        done += 1
    out.put(retries)


def test_eight_processes_lose_no_increment_on_local(tmp_path: Path) -> None:
    # spec: COND-020, COND-041
    store = Store(LocalBackend(tmp_path))
    store.write("counter.txt", b"0")
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = ctx.Queue()
    per_worker = 40
    go = ctx.Barrier(WORKERS)
    procs = [
        ctx.Process(target=_increments, args=(str(tmp_path), per_worker, out, go))
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    retries = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert int(store.read_bytes("counter.txt")) == WORKERS * per_worker
    assert sum(retries) > 0


def test_local_etags_of_successive_conditional_versions_never_repeat(tmp_path: Path) -> None:
    # spec: COND-041
    store = Store(LocalBackend(tmp_path))
    store.write("f", b"x")
    seen = {store.head("f").etag}
    for _ in range(50):  # same size every time: only inode and mtime tell versions apart
        etag = store.head("f").etag
        result = store.write("f", b"x", if_match=etag)
        assert result.etag == store.head("f").etag
        seen.add(result.etag)
    assert len(seen) == 51


def test_a_conditional_write_keeps_the_file_mode(tmp_path: Path) -> None:
    # spec: COND-041
    store = Store(LocalBackend(tmp_path))
    store.write("f", b"x")
    os.chmod(tmp_path / "f", 0o640)
    store.write("f", b"y", if_match=store.head("f").etag)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".~storeroom")]


def test_a_plain_write_waits_for_a_held_conditional_lock(tmp_path: Path) -> None:
    # spec: COND-041 (the folder lock excludes plain writers between check and publish)
    store = Store(LocalBackend(tmp_path))
    store.write("d/f", b"old")
    lock = os.open(tmp_path / "d", os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(lock, fcntl.LOCK_EX)  # what a conditional writer holds
    done = threading.Event()

    def plain() -> None:
        store.write("d/f", b"plain", overwrite=True)
        done.set()

    t = threading.Thread(target=plain)
    t.start()
    try:
        assert not done.wait(0.3)  # blocked at the rename
        assert store.read_bytes("d/f") == b"old"
    finally:
        os.close(lock)
    t.join(timeout=10)
    assert done.is_set() and store.read_bytes("d/f") == b"plain"


class Counting(Forwarding):
    """Counts conditional calls and fails the first ``fail`` of them with ``error``."""

    def __init__(self, inner: MemoryBackend, fail: int = 0) -> None:
        super().__init__(inner)
        self.calls = 0
        self.fail = fail

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self.calls += 1
        if self.calls <= self.fail:
            result = self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
            raise BackendUnavailable(f"reply lost after {result.etag}", path=key)
        return self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)

    def delete_if_match(self, key: str, etag: str) -> None:
        self.calls += 1
        self.inner.delete_if_match(key, etag)


def test_retry_never_retries_a_precondition_failure() -> None:
    # spec: COND-030
    counting = Counting(MemoryBackend())
    store = Store(RetryLayer(counting, attempts=5, base_delay_s=0.0))
    store.write("f", b"1")
    stale = store.head("f").etag
    store.write("f", b"2", overwrite=True)
    with pytest.raises(PreconditionFailed) as info:
        store.write("f", b"3", if_match=stale)
    assert counting.calls == 1 and info.value.attempts is None
    with pytest.raises(PreconditionFailed):
        store.delete("f", if_match=stale)
    assert counting.calls == 2
    assert store.read_bytes("f") == b"2"


def test_retry_after_a_lost_reply_says_the_change_may_be_applied() -> None:
    # spec: COND-030
    counting = Counting(MemoryBackend(), fail=1)
    store = Store(RetryLayer(counting, attempts=3, base_delay_s=0.0, max_delay_s=0.0))
    store.write("f", b"1")
    etag = store.head("f").etag
    with pytest.raises(PreconditionFailed) as info:
        store.write("f", b"2", if_match=etag)
    assert counting.calls == 2 and info.value.attempts == 2
    assert info.value.hint is not None and "may have reached the backend" in info.value.hint
    assert store.read_bytes("f") == b"2"  # the first try was applied


def test_the_cache_layer_drops_what_it_knew_on_success_and_on_failure() -> None:
    # spec: COND-030
    inner = MemoryBackend()
    store = Store(CacheLayer(inner))
    store.write("f", b"1")
    etag = store.head("f").etag
    assert store.read_bytes("f") == b"1"  # cached
    store.write("f", b"2", if_match=etag)
    assert store.read_bytes("f") == b"2"
    Store(inner).write("f", b"3", overwrite=True)  # behind the cache's back
    assert store.read_bytes("f") == b"2"  # still cached
    with pytest.raises(PreconditionFailed):
        store.write("f", b"4", if_match=etag)
    assert store.read_bytes("f") == b"3"  # the failure told the cache it was stale
    store.delete("f", if_match=store.head("f").etag)
    assert not store.exists("f")


def test_the_readonly_layer_refuses_and_observe_records() -> None:
    # spec: COND-005, COND-030
    inner = MemoryBackend()
    Store(inner).write("f", b"1")
    readonly = Store(ReadOnlyLayer(inner))
    assert not readonly.supports("conditional_write")
    with pytest.raises(CapabilityNotSupported, match="read-only"):
        readonly.write("f", b"2", if_match="x")
    with pytest.raises(CapabilityNotSupported, match="read-only"):
        readonly.backend.delete_if_match("f", "x")
    sink = Recorder()
    observed = Store(ObserveLayer(inner, sinks=[sink]))
    etag = observed.head("f").etag
    observed.write("f", b"2", if_match=etag)
    with pytest.raises(PreconditionFailed):
        observed.delete("f", if_match=etag)
    outcomes = [(e.operation, e.outcome) for e in sink.events if e.operation != "stat"]
    assert outcomes == [("write", "ok"), ("delete", "PreconditionFailed")]


def test_async_store_takes_if_match(tmp_path: Path) -> None:
    # spec: COND-031
    async def main() -> None:
        async with AsyncStore(Store(LocalBackend(tmp_path))) as astore:
            await astore.write("f", b"1")
            etag = (await astore.head("f")).etag
            await astore.write("f", b"2", if_match=etag)
            with pytest.raises(PreconditionFailed):
                await astore.write_atomic("f", b"3", if_match=etag)
            with pytest.raises(PreconditionFailed):
                await astore.delete("f", if_match=etag)
            assert await astore.read_bytes("f") == b"2"
            await astore.delete("f", if_match=(await astore.head("f")).etag)
            assert not await astore.exists("f")

    asyncio.run(main())


def test_conditional_calls_through_many_threads_on_memory_are_fast() -> None:
    # spec: COND-040 (the check and the swap are one step under the backend lock)
    store = Store(MemoryBackend())
    store.write("c", b"0")
    t0 = time.perf_counter()

    def work() -> None:
        done = 0
        while done < 200:
            etag = store.head("c").etag
            value = int(store.read_bytes("c"))
            try:
                store.write("c", str(value + 1).encode(), if_match=etag)
                done += 1
            except PreconditionFailed:
                pass

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(store.read_bytes("c")) == WORKERS * 200
    assert time.perf_counter() - t0 < 30


def test_the_async_bridges_forward_conditional_calls_or_drop_the_capability() -> None:
    # spec: COND-031
    from storeroom.aio.adapters import AsyncBackendSyncAdapter, SyncBackendAdapter
    from storeroom.aio.backends import AsyncMemoryBackend

    bridged = AsyncBackendSyncAdapter(AsyncMemoryBackend())
    try:
        store = Store(bridged)
        assert store.supports("conditional_write")
        store.write("f", b"1")
        etag = store.head("f").etag
        store.write("f", b"2", if_match=etag)
        with pytest.raises(PreconditionFailed):
            store.delete("f", if_match=etag)
        store.delete("f", if_match=store.head("f").etag)
        assert not store.exists("f")
    finally:
        bridged.close()

    class NoConditional(SyncBackendAdapter):
        write_if_match = None  # type: ignore[assignment]
        delete_if_match = None  # type: ignore[assignment]

    plain = AsyncBackendSyncAdapter(NoConditional(MemoryBackend(), inline=True))
    try:
        store = Store(plain)
        assert not store.supports("conditional_write")
        store.write("f", b"1")
        with pytest.raises(CapabilityNotSupported):
            store.write("f", b"2", if_match=store.head("f").etag)
    finally:
        plain.close()
