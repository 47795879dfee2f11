"""transfer and batch on a local dask.distributed cluster (spec EXT-068)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storeroom import Store
from storeroom.backends import LocalBackend
from storeroom.ext.batch import batch_exists
from storeroom.ext.transfer import transfer

distributed = pytest.importorskip("distributed")


@pytest.mark.slow
def test_transfer_on_a_local_dask_cluster(tmp_path: Path) -> None:
    a = Store(LocalBackend(root=str(tmp_path / "a")), "src")
    b = Store(LocalBackend(root=str(tmp_path / "b")), "dst")
    for i in range(25):
        a.write(f"d/{i:02d}", f"file {i}".encode())
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor()
        report = transfer(a, "d", b, "out", executor=executor, verify=True)
        exists = batch_exists(b, [f"out/{i:02d}" for i in range(26)], executor=executor)
    assert report.ok and len(report.copied) == 25
    assert b.read_bytes("out/24") == b"file 24"
    assert sum(exists.values()) == 25 and exists["out/25"] is False
