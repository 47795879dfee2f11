"""Progress: the counting reader, chunked copies, and when a bar is (not) drawn."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from cli_support import Env, Runner

from storeroom.cli import progress
from storeroom.cli.progress import (
    CHUNK_SIZE,
    PROGRESS_THRESHOLD,
    ProgressReader,
    copy_stream,
    open_bar,
    tracked,
)
from storeroom.ext.progress import NullProgress, TextProgress

BIG = PROGRESS_THRESHOLD + 123_457  # just over the bar threshold


def test_reader_counts_each_byte_once_even_after_a_seek_back() -> None:
    # spec: CLI-050, CLI-053, SYNC-060
    seen: list[int] = []
    reader = ProgressReader(io.BytesIO(b"0123456789"), seen.append)
    assert reader.read(4) == b"0123"
    buf = bytearray(3)
    assert reader.readinto(buf) == 3 and bytes(buf) == b"456"
    assert reader.read() == b"789"
    assert reader.read(5) == b""
    assert seen == [4, 3, 3]
    assert reader.seekable()
    reader.seek(2)  # a retry rewinds: the re-read bytes are not counted again
    assert reader.read(5) == b"23456"
    assert sum(seen) == 10
    reader.seek(0)
    assert reader.read() == b"0123456789"
    assert sum(seen) == 10  # the bar never moves back and never passes the total


def test_tracked_does_not_close_the_wrapped_stream() -> None:
    # spec: CLI-050
    raw = io.BytesIO(b"abc")
    with tracked(raw, "x", 3) as reader:
        assert reader.read() == b"abc"
        reader.close()
    assert not raw.closed


class _Recording(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


def test_copy_stream_reads_in_bounded_chunks() -> None:
    # spec: CLI-050
    data = b"z" * (CHUNK_SIZE * 2 + 17)
    src, dst = _Recording(data), io.BytesIO()
    assert copy_stream(src, dst) == len(data)
    assert dst.getvalue() == data
    assert src.sizes and all(0 < s <= CHUNK_SIZE for s in src.sizes)


def test_no_bar_when_not_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-051
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: False)
    assert isinstance(open_bar("x", BIG), NullProgress)  # not a terminal
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: True)
    assert isinstance(open_bar("x", PROGRESS_THRESHOLD), NullProgress)  # too small
    assert isinstance(open_bar("x", None), NullProgress)  # size unknown
    assert isinstance(open_bar("x", BIG, enabled=False), NullProgress)  # --quiet / --json
    bar = open_bar("x", BIG)
    try:
        assert not isinstance(bar, NullProgress)
    finally:
        bar.close()


def test_text_bar_draws(capsys: pytest.CaptureFixture[str]) -> None:
    # spec: CLI-052, SYNC-061
    bar = TextProgress("get data:x", stream=sys.stderr)
    bar.start(1, 2 * 1024 * 1024)
    bar.advance(1024 * 1024)
    bar.advance(1024 * 1024)
    bar.close()
    err = capsys.readouterr().err
    assert "get data:x [" in err
    assert "100.0%" in err and "2.0 MiB / 2.0 MiB" in err
    assert err.endswith("\n")


@pytest.fixture
def big_file(env: Env) -> bytes:
    data = bytes(range(256)) * (BIG // 256 + 1)
    env.put_file("big.bin", data)
    return data


def test_get_draws_no_bar_when_stderr_is_not_a_tty(
    cli: Runner, big_file: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-051
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: False)
    r = cli("get", "data:big.bin", "out.bin")
    assert r.code == 0
    assert r.err == ""
    assert Path("out.bin").read_bytes() == big_file


def test_get_draws_rich_bar_on_a_tty(
    cli: Runner, big_file: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-051, CLI-052
    pytest.importorskip("rich")
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: True)
    r = cli("get", "data:big.bin", "out.bin")
    assert r.code == 0
    assert "get data:big.bin" in r.err
    assert "MiB" in r.err
    assert Path("out.bin").read_bytes() == big_file


def test_text_bar_without_rich(
    cli: Runner, env: Env, big_file: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-052
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: True)
    monkeypatch.setitem(sys.modules, "rich", None)  # makes `import rich...` fail
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    local = env.put_file("up.bin", big_file, root=Path.cwd())
    r = cli("put", str(local), "other:up.bin")
    assert r.code == 0
    assert "put up.bin [" in r.err and "100.0%" in r.err
    assert (env.other / "up.bin").read_bytes() == big_file
    r = cli("cp", "data:big.bin", "other:copy.bin")
    assert "cp data:big.bin [" in r.err
    assert (env.other / "copy.bin").read_bytes() == big_file


@pytest.mark.parametrize("flag", ["-q", "--json"])
def test_quiet_and_json_suppress_the_bar(
    cli: Runner, big_file: bytes, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    # spec: CLI-051
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: True)
    r = cli(flag, "get", "data:big.bin", "out.bin")
    assert r.code == 0
    assert r.err == ""
