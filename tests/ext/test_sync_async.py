"""storeroom.ext.sync from async code: AsyncStore sides, the loop stays free (spec SYNC-090)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from storeroom import Store
from storeroom.aio import AsyncStore
from storeroom.aio.ext import sync as async_sync
from storeroom.backends.memory import MemoryBackend


# spec: SYNC-090
def test_async_plan_and_apply_between_an_async_store_and_a_local_folder(tmp_path: Path) -> None:
    src = Store(MemoryBackend())
    for i in range(20):
        src.write(f"f/{i:02}.txt", f"file {i}".encode())

    async def main() -> tuple[int, int, int, int]:
        astore = AsyncStore(src)
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        planned = await async_sync.plan((astore, "f"), tmp_path / "out")
        report = await async_sync.apply(planned)
        again = await async_sync.plan((astore, "f"), tmp_path / "out")
        stop.set()
        await task
        return len(planned.copies), len(report.failed), len(again.copies), ticks

    copies, failed, left, ticks = asyncio.run(main())
    assert (copies, failed, left) == (20, 0, 0)
    assert ticks > 0  # the loop ran other tasks while the sync worked in a thread
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"{i:02}.txt" for i in range(20)
    ]
    assert (tmp_path / "out" / "07.txt").read_bytes() == b"file 7"
