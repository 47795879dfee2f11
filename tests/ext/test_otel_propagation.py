"""A caller's span is the parent of storeroom's spans: sync, async and helper thread pools.

``AsyncStore`` runs calls in worker threads with a copy of the caller's
context; ``batch`` and ``transfer`` hand items to a thread pool through
``storeroom.ext._pool.run_parallel``, which does the same.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from otel_support import Telemetry

from storeroom import Store
from storeroom.aio import AsyncStore
from storeroom.backends import MemoryBackend
from storeroom.ext.batch import batch_exists, batch_read
from storeroom.ext.otel import OtelLayer
from storeroom.ext.transfer import transfer
from storeroom.layers import FaultLayer


class Threads(MemoryBackend):
    """A memory backend noting which threads served ``exists`` and ``open_read``."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def exists(self, key: str) -> bool:
        self.threads.add(threading.get_ident())
        return super().exists(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None):  # type: ignore[no-untyped-def]
        self.threads.add(threading.get_ident())
        return super().open_read(key, start, end)


@pytest.fixture
def tel() -> Telemetry:
    return Telemetry()


def children_of(tel: Telemetry, caller_id: int, name: str) -> tuple[int, int]:
    """(spans named ``name``, how many of them have the caller as parent)."""
    spans = tel.spans(name)
    return len(spans), sum(
        1 for s in spans if s.parent is not None and s.parent.span_id == caller_id
    )


def test_sync_calls_are_children_of_the_callers_span(tel: Telemetry) -> None:
    # spec: OTEL-030
    store = Store(OtelLayer(MemoryBackend(), **tel.providers))
    with tel.tracer.start_as_current_span("request") as caller:
        store.write("a.txt", b"x")
        store.read_bytes("a.txt")
    caller_id = caller.get_span_context().span_id
    assert children_of(tel, caller_id, "storeroom.write") == (1, 1)
    assert children_of(tel, caller_id, "storeroom.read") == (1, 1)
    store.exists("a.txt")  # outside any span: a root span
    assert tel.span("storeroom.exists").parent is None


def test_async_calls_are_children_of_the_callers_span(tel: Telemetry) -> None:
    # spec: OTEL-031
    backend = Threads()
    astore = AsyncStore(Store(OtelLayer(backend, **tel.providers)))

    async def main() -> int:
        with tel.tracer.start_as_current_span("handler") as caller:
            await astore.write("a.txt", b"x")
            await asyncio.gather(*(astore.exists("a.txt") for _ in range(8)))
            assert await astore.read_bytes("a.txt") == b"x"
        return caller.get_span_context().span_id

    caller_id = asyncio.run(main())
    assert threading.get_ident() not in backend.threads  # the calls ran in worker threads
    assert children_of(tel, caller_id, "storeroom.exists") == (8, 8)
    assert children_of(tel, caller_id, "storeroom.write") == (1, 1)
    assert children_of(tel, caller_id, "storeroom.read") == (1, 1)


def test_batch_workers_are_children_of_the_callers_span(tel: Telemetry) -> None:
    # spec: OTEL-032
    backend = Threads()
    store = Store(OtelLayer(backend, **tel.providers))
    paths = [f"f{i}.txt" for i in range(40)]
    for p in paths:
        store.write(p, b"x")
    with (
        ThreadPoolExecutor(4) as pool,
        tel.tracer.start_as_current_span("batch") as caller,
    ):
        result = batch_exists(store, paths, executor=pool)
    assert all(result.values())
    assert threading.get_ident() not in backend.threads
    assert children_of(tel, caller.get_span_context().span_id, "storeroom.exists") == (40, 40)


def test_the_helpers_own_pool_carries_the_span_too(tel: Telemetry) -> None:
    # spec: OTEL-032
    backend = Threads()
    slow = FaultLayer(backend, latency_s=0.002)  # slower than INLINE_LIMIT: items go to the pool
    store = Store(OtelLayer(slow, **tel.providers))
    paths = [f"f{i}.txt" for i in range(12)]
    for p in paths:
        store.write(p, b"x")
    with tel.tracer.start_as_current_span("batch") as caller:
        result = batch_read(store, paths, max_workers=4)
    assert set(result.values.values()) == {b"x"}
    assert len(backend.threads - {threading.get_ident()}) >= 1  # some items ran in workers
    assert children_of(tel, caller.get_span_context().span_id, "storeroom.read") == (12, 12)


def test_transfer_workers_are_children_of_the_callers_span(tel: Telemetry) -> None:
    # spec: OTEL-032
    src_backend = Threads()
    src = Store(OtelLayer(FaultLayer(src_backend, latency_s=0.002), **tel.providers))
    dst = Store(OtelLayer(MemoryBackend(), **tel.providers))
    for i in range(8):
        src.write(f"d/{i}.bin", bytes([i]) * 100)
    tel.clear()
    with tel.tracer.start_as_current_span("sync") as caller:
        report = transfer(src, "d", dst, "e", max_workers=4)
    assert len(report.files) == 8
    caller_id = caller.get_span_context().span_id
    assert len(src_backend.threads - {threading.get_ident()}) >= 1
    assert children_of(tel, caller_id, "storeroom.read") == (8, 8)
    assert children_of(tel, caller_id, "storeroom.write") == (8, 8)
    assert dst.read_bytes("e/3.bin") == bytes([3]) * 100
