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


@pytest.mark.parametrize("backend", ["memory", "s3"])
def test_long_reads_in_any_order_fetch_each_byte_once(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-010 (pyarrow's pre-buffered column-chunk runs arrive in any order)
    layers = [{"type": "observe", "record": 50, "log": False}]
    mib = 2**20
    with fs_on(backend, tmp_path, layers=layers) as fs:
        data = bytes(i % 251 for i in range(40 * mib))
        fs.pipe_file("s/pq.bin", data)
        recorder = fs.store_for("s").unwrap(ObserveLayer).recorder
        assert recorder is not None
        with fs.open("s/pq.bin", "rb") as f:
            recorder.clear()
            f.seek(20 * mib)
            assert f.read(17 * mib) == data[20 * mib : 37 * mib]  # to the end: 20 MiB
            assert f.read(3 * mib) == data[37 * mib :]
            f.seek(4)
            assert f.read(20 * mib - 4) == data[4 : 20 * mib]  # stops where the held span starts
            ranges = [e.bytes for e in recorder.of("read_stream")]
            assert ranges == [20 * mib, 20 * mib - 4]  # every byte once, two requests
            assert f._spans.held == [(20 * mib, 40 * mib), (4, 20 * mib)]
            recorder.clear()
            f.seek(10 * mib)
            assert f.read(25 * mib) != b""  # spans two held spans: fetched again
            assert [e.bytes for e in recorder.of("read_stream")] == [30 * mib]
            assert len(f._spans.held) <= 2


def test_read_buffer_hands_out_views_of_the_fetched_bytes(tmp_path: Path) -> None:
    # spec: FSSPEC-010 (pyarrow.PythonFile calls read_buffer: no copy of long reads)
    mib = 2**20
    with fs_on("memory", tmp_path) as fs:
        data = bytes(i % 249 for i in range(48 * mib))
        fs.pipe_file("s/big.bin", data)
        with fs.open("s/big.bin", "rb") as f:
            first = f.read_buffer(16 * mib)
            second = f.read_buffer(16 * mib)
            assert isinstance(first, memoryview) and first.readonly
            assert first.obj is second.obj  # both are views of one fetched span
            assert bytes(first) + bytes(second) == data[: 32 * mib]
            assert f.tell() == 32 * mib
            f.seek(20 * mib)
            small = f.read_buffer(10)  # a short read inside a held span is a view too
            assert isinstance(small, memoryview) and small.obj is first.obj
            assert bytes(small) == data[20 * mib : 20 * mib + 10]
            f.seek(32 * mib)
            out = bytearray(16 * mib)
            assert f.readinto(out) == 16 * mib
            assert out == data[32 * mib :]
            assert f.read_buffer(5) == b""
            f.seek(0)
            assert f.read(16 * mib) == data[: 16 * mib]  # read() still returns bytes


def test_sequential_long_reads_hold_one_span(tmp_path: Path) -> None:
    # spec: FSSPEC-010 (memory stays near one span for a forward reader)
    mib = 2**20
    with fs_on("memory", tmp_path) as fs:
        data = bytes(i % 241 for i in range(100 * mib))
        fs.pipe_file("s/seq.bin", data)
        with fs.open("s/seq.bin", "rb") as f:
            got = []
            while chunk := f.read(16 * mib):
                got.append(chunk)
                assert len(f._spans.held) == 1
            assert b"".join(got) == data
