"""DuckDB, polars and Dask on storeroom:// URLs (real calls) on every writable backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import fsspec
import pandas as pd
import polars as pl
import pytest
from fsspec_support import fs_on

from every_backend import WRITABLE

TOOL_BACKENDS = WRITABLE
#: A memory store lives in one process: worker processes would each see their own.
CLUSTER_BACKENDS = [b for b in WRITABLE if b != "memory"]


@pytest.mark.parametrize("backend", TOOL_BACKENDS)
def test_duckdb_reads_and_copies_to_storeroom(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-070
    with fs_on(backend, tmp_path) as fs:
        pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]}).to_parquet(
            "storeroom://s/in/x.parquet", storage_options={"config": fs.registry_config}
        )
        con = duckdb.connect()
        con.register_filesystem(fs)
        rows = con.sql("SELECT a, b FROM read_parquet('storeroom://s/in/x.parquet') ORDER BY a")
        assert rows.fetchall() == [(1, "x"), (2, "y"), (3, "z")]
        con.sql("COPY (SELECT 42 AS z) TO 'storeroom://s/out/o.parquet' (FORMAT parquet)")
        assert fs.ls("s/out", detail=False) == ["s/out/o.parquet"]
        total = con.sql("SELECT count(*) FROM read_parquet('storeroom://s/**/*.parquet')")
        assert total.fetchall() == [(4,)]
        con.close()


@pytest.mark.parametrize("backend", TOOL_BACKENDS)
def test_polars_reads_scans_and_writes(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-071
    with fs_on(backend, tmp_path) as fs:
        opts = {"config": fs.registry_config}
        frame = pl.DataFrame({"q": [1, 2, 3]})
        with fsspec.open("storeroom://s/pl/w.parquet", "wb", **opts) as f:
            frame.write_parquet(f)
        url = "storeroom://s/pl/w.parquet"
        assert pl.read_parquet(url, use_pyarrow=True, storage_options=opts).equals(frame)
        with fs.open("s/pl/w.parquet", "rb") as f:
            assert pl.read_parquet(f).equals(frame)
        with fs.open("s/pl/w.parquet", "rb") as f:
            assert pl.scan_parquet(f).filter(pl.col("q") > 1).collect()["q"].to_list() == [2, 3]


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("backend", CLUSTER_BACKENDS)
def test_dask_on_a_process_cluster(backend: str, tmp_path: Path, dask_client: object) -> None:
    # spec: FSSPEC-072, FSSPEC-022
    import dask.dataframe as dd

    with fs_on(backend, tmp_path) as fs:
        opts = {"config": fs.registry_config}
        assert not fs.exists("s/dask/out")
        source = pd.DataFrame({"k": range(100), "v": [i * 0.5 for i in range(100)]})
        dd.from_pandas(source, npartitions=4).to_parquet(
            "storeroom://s/dask/out", storage_options=opts
        )
        assert len(fs.glob("s/dask/out/*.parquet")) == 4
        back = dd.read_parquet("storeroom://s/dask/out", storage_options=opts).compute()
        assert sorted(back["k"]) == list(range(100)) and back["v"].sum() == 2475.0


def test_dask_threads_on_a_memory_store(tmp_path: Path) -> None:
    # spec: FSSPEC-072
    import dask
    import dask.dataframe as dd

    with fs_on("memory", tmp_path) as fs, dask.config.set(scheduler="threads"):
        opts = {"config": fs.registry_config}
        source = pd.DataFrame({"k": range(40)})
        dd.from_pandas(source, npartitions=4).to_parquet("storeroom://s/d", storage_options=opts)
        assert len(fs.glob("s/d/*.parquet")) == 4
        back = dd.read_parquet("storeroom://s/d", storage_options=opts).compute()
        assert sorted(back["k"]) == list(range(40))
