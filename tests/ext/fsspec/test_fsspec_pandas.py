"""Real pandas calls on storeroom:// URLs, on every writable backend."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fsspec_support import fs_on

from every_backend import WRITABLE
from storeroom.layers.cache import CacheLayer
from storeroom.layers.observe import ObserveLayer

FRAME = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "temp": [3.5, 18.25, 31.0]})


@pytest.mark.parametrize("backend", WRITABLE)
def test_pandas_csv_and_parquet_roundtrip(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-050
    with fs_on(backend, tmp_path) as fs:
        opts = {"config": fs.registry_config}
        FRAME.to_csv("storeroom://s/reports/2026/q1.csv", index=False, storage_options=opts)
        assert fs.cat_file("s/reports/2026/q1.csv").startswith(b"city,temp\n")
        back = pd.read_csv("storeroom://s/reports/2026/q1.csv", storage_options=opts)
        pd.testing.assert_frame_equal(back, FRAME)
        FRAME.to_parquet("storeroom://s/reports/2026/q1.parquet", storage_options=opts)
        back = pd.read_parquet("storeroom://s/reports/2026/q1.parquet", storage_options=opts)
        pd.testing.assert_frame_equal(back, FRAME)
        with pytest.raises(FileNotFoundError):
            pd.read_csv("storeroom://s/reports/missing.csv", storage_options=opts)


@pytest.mark.parametrize("backend", ["local", "sql-sqlite", "s3"])
def test_a_cache_layer_serves_the_second_read(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-051
    layers = [{"type": "cache", "ttl_s": 600}, {"type": "observe", "record": 100, "log": False}]
    with fs_on(backend, tmp_path, layers=layers) as fs:
        opts = {"config": fs.registry_config}
        FRAME.to_csv("storeroom://s/t.csv", index=False, storage_options=opts)
        pd.read_csv("storeroom://s/t.csv", storage_options=opts)
        store = fs.store_for("s")
        recorder = store.unwrap(ObserveLayer).recorder
        assert recorder is not None
        recorder.clear()
        hits = store.unwrap(CacheLayer).stats.hits
        back = pd.read_csv("storeroom://s/t.csv", storage_options=opts)
        pd.testing.assert_frame_equal(back, FRAME)
        assert store.unwrap(CacheLayer).stats.hits >= hits + 2  # the stat and the content
        assert recorder.of("open_read") == [] and recorder.of("stat") == []
