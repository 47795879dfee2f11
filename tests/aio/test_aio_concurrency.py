"""Concurrency, cancellation safety, contextvars and running-loop use (ASYNC-010..041)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aio_support import REQUEST_ID, Recording, Slow

import storeroom.aio._executor as executor_mod
from storeroom import Store
from storeroom.aio import AsyncStore, configure, default_executor
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.errors import ConfigError, NotFound


def test_gather_300_concurrent_reads(tmp_path: Path) -> None:
    """spec: ASYNC-010"""
    store = Store(LocalBackend(root=str(tmp_path)))
    for i in range(300):
        store.write(f"f{i:03d}", i.to_bytes(2, "big") * 2048)
    seen_threads: set[str] = set()

    async def one(a: AsyncStore, i: int) -> bytes:
        seen_threads.add(threading.current_thread().name)
        return await a.read_bytes(f"f{i:03d}")

    async def main() -> list[bytes]:
        a = AsyncStore(store)
        return await asyncio.gather(*(one(a, i) for i in range(300)))

    results = asyncio.run(main())
    assert [r[:2] for r in results] == [i.to_bytes(2, "big") for i in range(300)]
    assert all(len(r) == 4096 for r in results)


def test_shared_pool_is_dedicated_and_sized() -> None:
    """spec: ASYNC-011"""
    pool = default_executor()
    assert isinstance(pool, ThreadPoolExecutor)
    assert pool._max_workers >= 32
    assert pool is default_executor()


def test_configure_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """spec: ASYNC-011"""
    old_size = executor_mod._size
    try:
        configure(max_workers=7)
        assert default_executor()._max_workers == 7  # type: ignore[attr-defined]
        with pytest.raises(ConfigError):
            configure(max_workers=0)
        executor_mod._pool, executor_mod._size = None, None
        monkeypatch.setenv("STOREROOM_AIO_MAX_WORKERS", "5")
        assert default_executor()._max_workers == 5  # type: ignore[attr-defined]
        executor_mod._pool = None
        monkeypatch.setenv("STOREROOM_AIO_MAX_WORKERS", "many")
        with pytest.raises(ConfigError, match="STOREROOM_AIO_MAX_WORKERS"):
            default_executor()
    finally:
        created = executor_mod._pool
        executor_mod._pool, executor_mod._size = None, old_size
        if created is not None:
            created.shutdown(wait=False)


def test_own_executor_is_used() -> None:
    """spec: ASYNC-012"""
    names: list[str] = []
    store = Store(MemoryBackend())
    with ThreadPoolExecutor(2, thread_name_prefix="mine") as pool:

        async def main() -> None:
            a = AsyncStore(store, executor=pool)
            await a.write("f", b"1")
            names.append(
                await asyncio.get_running_loop().run_in_executor(
                    pool, lambda: threading.current_thread().name
                )
            )
            child = a.child("c")
            assert child.executor is pool

        asyncio.run(main())
    assert names[0].startswith("mine")


def test_contextvars_reach_the_backend() -> None:
    """spec: ASYNC-013"""
    backend = Recording(MemoryBackend())
    store = Store(backend)
    store.write("a/f", b"1")

    async def request(i: int) -> None:
        REQUEST_ID.set(f"req-{i}")
        a = AsyncStore(store)
        await a.exists("a/f")
        [x async for x in a.list_files("a")]
        async with await a.read("a/f") as r:
            await r.read()

    async def main() -> None:
        await asyncio.gather(*(request(i) for i in range(20)))

    asyncio.run(main())
    ids = {rid for _, rid in backend.seen}
    assert ids == {f"req-{i}" for i in range(20)}
    assert {op for op, _ in backend.seen} >= {"exists", "list", "open_read"}


def test_cancelled_write_completes_whole(tmp_path: Path) -> None:
    """spec: ASYNC-040 — the worker finishes; the file is complete."""
    slow = Slow(LocalBackend(root=str(tmp_path)))
    store = Store(slow)
    data = b"z" * 1_000_000

    async def main() -> None:
        a = AsyncStore(store)
        task = asyncio.create_task(a.write_atomic("f.bin", data))
        while not slow.started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        slow.release.set()

    asyncio.run(main())
    assert slow.finished.wait(10)
    assert store.read_bytes("f.bin") == data
    assert [f.path for f in store.list_files()] == ["f.bin"]  # no temp file left


def test_cancelled_streaming_write_leaves_nothing(tmp_path: Path) -> None:
    """spec: ASYNC-041 — async source + cancellation: the write is abandoned atomically."""
    store = Store(LocalBackend(root=str(tmp_path)))
    produced = asyncio.Event

    async def main() -> None:
        sent = 0
        gate = produced()

        async def source() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(1000):
                sent += 1
                if sent == 5:
                    gate.set()
                await asyncio.sleep(0.001)
                yield b"x" * 65536

        a = AsyncStore(store)
        task = asyncio.create_task(a.write_atomic("stream.bin", source()))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.3)  # give the worker time to notice and clean up

    asyncio.run(main())
    assert not store.exists("stream.bin")
    assert list(tmp_path.iterdir()) == []  # no temp file either


def test_cancelled_open_atomic_block_is_discarded() -> None:
    """spec: ASYNC-042"""
    store = Store(MemoryBackend())

    async def main() -> None:
        a = AsyncStore(store)
        started = asyncio.Event()

        async def writer() -> None:
            async with a.open_atomic("f") as w:
                await w.write(b"partial")
                started.set()
                await asyncio.sleep(10)
                await w.write(b"never")

        task = asyncio.create_task(writer())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not store.exists("f")


def test_call_cancelled_before_it_starts_never_runs() -> None:
    """spec: ASYNC-040"""
    store = Store(MemoryBackend())
    block = threading.Event()
    with ThreadPoolExecutor(1) as pool:

        async def main() -> None:
            loop = asyncio.get_running_loop()
            busy = loop.run_in_executor(pool, block.wait, 10)
            a = AsyncStore(store, executor=pool)
            task = asyncio.create_task(a.write("queued", b"1"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            block.set()
            await busy

        asyncio.run(main())
    assert not store.exists("queued")


def test_cancelled_reads_lose_no_bytes() -> None:
    """spec: ASYNC-031"""
    data = bytes(range(256)) * 4096
    store = Store(MemoryBackend())
    store.write("f", data)

    async def main() -> bytes:
        a = AsyncStore(store)
        reader = await a.read("f")
        out = bytearray()
        for i in range(200):
            task = asyncio.create_task(reader.read(4096 + i))
            if i % 3 == 0:
                await asyncio.sleep(0)
                task.cancel()
                try:
                    out += await task
                except asyncio.CancelledError:
                    pass
            else:
                out += await task
        out += await reader.read()
        await reader.close()
        return bytes(out)

    assert asyncio.run(main()) == data


def test_cancelled_listing_pull_skips_nothing() -> None:
    """spec: ASYNC-022"""
    store = Store(MemoryBackend())
    for i in range(2000):
        store.write(f"d/{i:05d}", b"")

    async def main() -> list[str]:
        listing = AsyncStore(store).list_files("d")
        got: list[str] = []
        for i in range(3000):
            task = asyncio.create_task(anext(listing, None))
            if i % 7 == 0:
                task.cancel()
            try:
                entry = await task
            except asyncio.CancelledError:
                continue
            if entry is None:
                break
            got.append(entry.name)
        return got

    assert asyncio.run(main()) == [f"{i:05d}" for i in range(2000)]


def test_usable_from_a_loop_running_in_another_thread() -> None:
    """spec: ASYNC-014 — e.g. Jupyter's or a web server's loop."""
    store = Store(MemoryBackend())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:

        async def job() -> bytes:
            a = AsyncStore(store)
            await a.write("f", b"from-loop")
            return await a.read_bytes("f")

        fut = asyncio.run_coroutine_threadsafe(job(), loop)
        assert fut.result(10) == b"from-loop"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_one_async_store_serves_several_loops() -> None:
    """spec: ASYNC-014"""
    a = AsyncStore(Store(MemoryBackend()))
    asyncio.run(a.write("f", b"1"))
    assert asyncio.run(a.read_bytes("f")) == b"1"
    with pytest.raises(NotFound):
        asyncio.run(a.read_bytes("g"))
