"""upload / download / transfer (spec EXT-060..073)."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import sys
import tracemalloc
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from ext_support import BreaksMidRead, Corrupting

from storeroom import Store
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidPath,
    NotFound,
)
from storeroom.ext.integrity import ChecksumMismatch
from storeroom.ext.progress import CallbackProgress, rich_progress, tqdm_progress
from storeroom.ext.transfer import (
    FileTransfer,
    PartialFailure,
    TransferReport,
    download,
    transfer,
    upload,
)


def make_tree(root: Path) -> dict[str, bytes]:
    files = {
        "a.txt": b"alpha",
        "sub/b.bin": bytes(range(256)) * 10,
        "sub/deeper/c": b"",
        "z/last.txt": b"z" * 3000,
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "memory":
        return Store(MemoryBackend(), "root")
    return Store(LocalBackend(root=str(tmp_path / "backend")), "root")


def test_upload_download_folder_round_trip(store: Store, tmp_path: Path) -> None:
    """spec: EXT-060, EXT-061, EXT-062"""
    files = make_tree(tmp_path / "src")
    report = upload(store, tmp_path / "src", "up", max_workers=4)
    assert isinstance(report, TransferReport) and report.ok
    assert [f.dest for f in report] == [f"up/{k}" for k in sorted(files)]
    assert report.bytes == sum(len(v) for v in files.values())
    for rel, data in files.items():
        assert store.read_bytes(f"up/{rel}") == data
    back = download(store, "up", tmp_path / "back")
    assert back.ok and len(back.copied) == 4
    for rel, data in files.items():
        assert (tmp_path / "back" / rel).read_bytes() == data
    assert not list((tmp_path / "back").rglob("*.part"))
    assert "4 copied" in back.summary()


def test_single_files(store: Store, tmp_path: Path) -> None:
    """spec: EXT-060"""
    src = tmp_path / "one.txt"
    src.write_bytes(b"one")
    assert upload(store, src, "x/renamed.txt").ok
    assert store.read_bytes("x/renamed.txt") == b"one"
    with pytest.raises(InvalidPath):
        upload(store, src, "")
    with pytest.raises(NotFound):
        upload(store, tmp_path / "nope", "x")
    out = tmp_path / "out" / "copy.txt"
    report = download(store, "x/renamed.txt", out)
    assert report.ok and out.read_bytes() == b"one"
    with pytest.raises(NotFound):
        download(store, "no/such", tmp_path / "o")


def test_existing_targets_fail_per_file_or_are_skipped(store: Store, tmp_path: Path) -> None:
    """spec: EXT-063"""
    make_tree(tmp_path / "src")
    store.write("up/a.txt", b"old")
    report = upload(store, tmp_path / "src", "up")
    assert not report.ok and len(report.copied) == 3
    [bad] = report.failed
    assert bad.dest == "up/a.txt" and isinstance(bad.error, AlreadyExists)
    assert store.read_bytes("up/a.txt") == b"old"
    with pytest.raises(PartialFailure) as info:
        report.raise_on_error()
    assert isinstance(info.value.__cause__, AlreadyExists)
    skip = upload(store, tmp_path / "src", "up", skip_existing=True)
    assert skip.ok and len(skip.skipped) == 4
    assert upload(store, tmp_path / "src", "up", overwrite=True).ok
    assert store.read_bytes("up/a.txt") == b"alpha"
    # Downloads onto existing local files.
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "a.txt").write_bytes(b"local")
    dl = download(store, "up", tmp_path / "dl")
    assert isinstance(dl.failed[0].error, AlreadyExists)
    assert (tmp_path / "dl" / "a.txt").read_bytes() == b"local"
    assert download(store, "up", tmp_path / "dl", overwrite=True).ok
    assert (tmp_path / "dl" / "a.txt").read_bytes() == b"alpha"


def test_store_to_store_across_backends(tmp_path: Path) -> None:
    """spec: EXT-064"""
    mem = Store(MemoryBackend(), "m")
    disk = Store(LocalBackend(root=str(tmp_path)), "d")
    for i in range(30):
        mem.write(f"in/{i % 3}/f{i}", f"{i}".encode() * 100)
    report = transfer(mem, "in", disk, "out", verify=True)
    assert report.ok and len(report) == 30
    assert not any(f.server_side for f in report)
    assert all(f.digest is not None and f.digest.algorithm == "sha256" for f in report)
    assert disk.read_bytes("out/2/f29") == b"29" * 100
    single = transfer(disk, "out/0/f0", mem, "copied/one")
    assert single.ok and mem.read_bytes("copied/one") == b"0" * 100
    with pytest.raises(InvalidPath):
        transfer(disk, "out/0/f0", mem, "")


def test_same_backend_is_server_side(tmp_path: Path) -> None:
    """spec: EXT-065"""
    backend = LocalBackend(root=str(tmp_path))
    a, b = Store(backend, "a"), Store(backend, "b")
    a.write("x/f1", b"1")
    a.write("x/f2", b"22")
    report = transfer(a, "x", b, "y", verify="md5")
    assert report.ok and all(f.server_side for f in report)
    assert b.read_bytes("y/f2") == b"22" and report.bytes == 3
    same = transfer(a, "x", a, "z")
    assert same.ok and all(f.server_side for f in same)
    streamed = transfer(a, "x", b, "w", server_side=False)
    assert streamed.ok and not any(f.server_side for f in streamed)


def test_progress_callbacks_and_adapters(store: Store, tmp_path: Path) -> None:
    """spec: EXT-070, EXT-071, EXT-072"""
    files = make_tree(tmp_path / "src")
    total = sum(len(v) for v in files.values())
    got_bytes: list[int] = []
    got_files: list[FileTransfer] = []
    report = upload(
        store, tmp_path / "src", "p", on_bytes=got_bytes.append, on_file=got_files.append
    )
    assert report.ok and sum(got_bytes) == total
    assert sorted(f.dest for f in got_files) == sorted(f"p/{k}" for k in files)

    from rich.console import Console

    console = Console(file=io.StringIO(), force_terminal=False)
    bar = rich_progress(console=console)
    assert transfer(store, "p", store, "q", progress=bar).ok
    assert bar._progress.tasks[0].completed == total
    assert bar._progress.tasks[1].completed == 4

    pytest.importorskip("tqdm")
    sink = io.StringIO()
    tq = tqdm_progress(file=sink, disable=False)
    assert download(store, "p", tmp_path / "dl", progress=tq).ok
    assert tq._bar.n == total


def test_missing_progress_packages_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    """spec: EXT-073"""
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(ConfigError, match="pip install tqdm"):
        tqdm_progress()
    monkeypatch.setitem(sys.modules, "rich", None)
    with pytest.raises(ConfigError, match=r"storeroom\[cli\]"):
        rich_progress()


def test_checksum_mismatch_fails_the_file_and_removes_it(tmp_path: Path) -> None:
    """spec: EXT-066"""
    src = Store(MemoryBackend())
    src.write("f", b"good data")
    bad = Store(Corrupting(MemoryBackend()))
    src.write("d/f", b"good data")
    report = transfer(src, "d", bad, "g", verify=True)  # a folder: failures are reported
    [item] = report.failed
    assert isinstance(item.error, ChecksumMismatch)
    assert not bad.exists("g/f")
    with pytest.raises(ChecksumMismatch):  # a single file: its failure is raised
        transfer(src, "f", bad, "one", verify=True)
    assert not bad.exists("one")
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "x").write_bytes(b"upload me")
    up = upload(bad, tmp_path / "u", "u", verify="sha256")
    assert isinstance(up.failed[0].error, ChecksumMismatch)
    # Without verify the corruption goes unnoticed: that is what verify is for.
    assert transfer(src, "f", bad, "h").ok


def test_failures_mid_stream_leave_nothing(tmp_path: Path) -> None:
    """spec: EXT-062 — a read failing half-way: no partial local or stored file."""
    inner = MemoryBackend()
    store = Store(BreaksMidRead(inner, after=1000))
    Store(inner).write("d/f", b"x" * 5000)
    Store(inner).write("d/small", b"ok")
    report = download(store, "d", tmp_path / "dl", chunk_size=256)
    [bad] = report.failed
    assert isinstance(bad.error, BackendUnavailable) and bad.error.retryable
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["small"]
    with pytest.raises(PartialFailure) as info:
        report.raise_on_error()
    assert info.value.retryable
    dst = Store(LocalBackend(root=str(tmp_path / "dst")))
    up = transfer(store, "d", dst, "", max_workers=1)
    assert isinstance(up.failed[0].error, BackendUnavailable)
    assert [f.path for f in dst.list_files(recursive=True)] == ["small"]
    assert sorted(os.listdir(tmp_path / "dst")) == ["small"]  # no temporary left


def test_streams_within_a_file(tmp_path: Path) -> None:
    """spec: EXT-067 — a 48 MiB copy never holds the file in memory."""
    a = Store(LocalBackend(root=str(tmp_path / "a")))
    b = Store(LocalBackend(root=str(tmp_path / "b")))
    chunk = os.urandom(1 << 20)
    with a.open_atomic("big") as f:
        for _ in range(48):
            f.write(chunk)
    tracemalloc.start()
    try:
        report = transfer(a, "big", b, "big", server_side=False, verify=True, max_workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok and report.bytes == 48 << 20
    assert peak < 12 << 20, f"peak {peak / 2**20:.1f} MiB"
    with b.read("big") as r:
        assert hashlib.sha256(r.read()).hexdigest() == report.files[0].digest.value  # type: ignore[union-attr]


def test_process_pool_transfer(tmp_path: Path) -> None:
    """spec: EXT-068 — stores pickle as configuration; work items are picklable."""
    a = Store(LocalBackend(root=str(tmp_path / "a")), "src")
    b = Store(LocalBackend(root=str(tmp_path / "b")), "dst")
    for i in range(40):
        a.write(f"d/{i:02d}.bin", os.urandom(1000 + i))
    b.write("out/05.bin", b"already there")
    done: list[str] = []
    counted: list[int] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        report = transfer(
            a,
            "d",
            b,
            "out",
            executor=pool,
            verify=True,
            on_file=lambda r: done.append(r.dest),
            on_bytes=counted.append,
        )
    assert len(report.copied) == 39
    assert isinstance(report.failed[0].error, AlreadyExists)
    assert sorted(done) == sorted(f"out/{i:02d}.bin" for i in range(40))
    assert sum(counted) == report.bytes  # reported per file for process pools
    for i in range(40):
        if i != 5:
            assert b.read_bytes(f"out/{i:02d}.bin") == a.read_bytes(f"d/{i:02d}.bin")


def test_thread_executor_and_stop_on_error(tmp_path: Path) -> None:
    """spec: EXT-069"""
    src = Store(MemoryBackend())
    dst = Store(MemoryBackend())
    for i in range(50):
        src.write(f"f{i:02d}", b"x")
    dst.write("f00", b"taken")
    with ThreadPoolExecutor(2) as pool:
        report = transfer(src, "", dst, "", executor=pool, stop_on_error=True, max_workers=1)
    assert report.files[0].status == "failed"
    assert len(report.skipped) >= 40
    progress = CallbackProgress()
    assert transfer(src, "", dst, "", overwrite=True, progress=progress).ok
