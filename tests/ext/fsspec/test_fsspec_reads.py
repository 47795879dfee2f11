"""Long reads bypass the block cache; short ones go through it (both via read_range)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fsspec_support import fs_on

from storeroom.layers.observe import ObserveLayer


@pytest.mark.parametrize("backend", ["memory", "s3"])
def test_long_reads_fetch_exactly_the_range(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-010
    layers = [{"type": "observe", "record": 50, "log": False}]
    with fs_on(backend, tmp_path, layers=layers) as fs:
        data = bytes(i % 253 for i in range(20 * 2**20))
        fs.pipe_file("s/long.bin", data)
        recorder = fs.store_for("s").unwrap(ObserveLayer).recorder
        assert recorder is not None
        with fs.open("s/long.bin", "rb", block_size=2**20) as f:
            recorder.clear()
            f.seek(100)
            assert f.read(17 * 2**20) == data[100 : 100 + 17 * 2**20]
            streams = recorder.of("read_stream")
            assert [e.bytes for e in streams] == [17 * 2**20]  # no block-size over-fetch
            recorder.clear()
            assert f.read(10) == data[100 + 17 * 2**20 : 110 + 17 * 2**20]
            assert f.read(10) == data[110 + 17 * 2**20 : 120 + 17 * 2**20]
            assert len(recorder.of("open_read")) == 1  # one cached block served both
            f.seek(0)
            assert f.read() == data
