"""Long reads read ahead by their own length in one request; short ones use blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
from fsspec_support import fs_on

from storeroom.layers.observe import ObserveLayer


@pytest.mark.parametrize("backend", ["memory", "s3"])
def test_long_reads_read_ahead_in_one_request(backend: str, tmp_path: Path) -> None:
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
            # Twice 17 MiB is past the end: one request to the end of the file.
            assert [e.bytes for e in streams] == [len(data) - 100]
            recorder.clear()
            assert f.read(10) == data[100 + 17 * 2**20 : 110 + 17 * 2**20]
            assert f.read(2**20) == data[110 + 17 * 2**20 : 110 + 18 * 2**20]
            assert recorder.of("open_read") == []  # served from what was read ahead
            f.seek(0)
            assert f.read(17 * 2**20) == data[: 17 * 2**20]
            assert [e.bytes for e in recorder.of("read_stream")] == [len(data)]
            assert f.read() == data[17 * 2**20 :]
            f.seek(len(data) - 5)
            assert f.read(100) == data[-5:]
