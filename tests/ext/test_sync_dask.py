"""``apply`` on a Dask ``distributed`` cluster of two worker processes (spec SYNC-030, SYNC-032)."""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

import pytest

from storeroom.backends.local.backend import LocalBackend
from storeroom.ext.progress import CallbackProgress
from storeroom.ext.sync import apply, plan
from storeroom.store import Store

distributed = pytest.importorskip("distributed")

COUNT = 10_000


class Counting(Executor):
    """Passes every task on to ``inner`` and counts them."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.tasks = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.tasks += 1
        return self.inner.submit(fn, *args, **kwargs)


def test_ten_thousand_files_through_a_local_cluster(tmp_path: Path) -> None:
    # spec: SYNC-030, SYNC-031, SYNC-032
    src = tmp_path / "src"
    for i in range(COUNT):
        folder = src / f"d{i % 50:02}"
        if i < 50:
            folder.mkdir(parents=True)
        (folder / f"f{i:05}.txt").write_bytes(f"file {i}\n".encode())
    dst = Store(LocalBackend(root=str(tmp_path / "dst"), durable=False))
    p = plan(src, dst)
    assert len(p.copies) == COUNT
    done: list[object] = []
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=4, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        started = time.perf_counter()
        executor = Counting(client.get_executor())
        report = apply(p, executor=executor, progress=CallbackProgress(None, done.append))
        seconds = time.perf_counter() - started
        workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert report.ok, report.failed[:3]
    assert len(report.copied) == COUNT and len(done) == COUNT
    assert report.bytes == p.bytes
    assert len(workers) == 2
    assert dst.read_bytes("d07/f01257.txt") == b"file 1257\n"
    again = plan(src, dst)
    assert len(again) == 0 and again.unchanged == COUNT
    assert executor.tasks == math.ceil(COUNT / 157)  # 64 batches of files, not a task per file
    assert seconds < 120, f"{seconds:.1f}s"
