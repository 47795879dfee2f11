"""The crypt layer's pipelined opening of sequential reads (spec CRYPT-064).

Real files, a real pool: same bytes, bounded batches in flight, errors typed
at the right chunk, seeks and ranges still exact.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from every_backend import registry_on
from storeroom import Store
from storeroom.backends.local import LocalBackend
from storeroom.errors import BackendUnavailable, DecryptionError
from storeroom.layers import CryptLayer, FaultLayer
from storeroom.layers._crypt_box import BLOCK, CHUNK, workers
from storeroom.layers._crypt_data import HEADER, PIPELINE_AFTER, OpeningReader, encrypted_size

MiB = 1024 * 1024
SIZE = 9 * MiB + 4321  # nine full batches and a short one
PASSWORD = "pipeline password"


def data_of(size: int) -> bytes:
    return bytes(range(251)) * (size // 251) + bytes(range(size % 251))


def layer_with(tmp_path: Path, size: int = SIZE, **fault: Any) -> CryptLayer:
    inner = LocalBackend(str(tmp_path))
    Store(CryptLayer(inner, password=PASSWORD, filename_encryption="off")).write("f", data_of(size))
    below = FaultLayer(inner, **fault) if fault else inner
    return CryptLayer(below, password=PASSWORD, filename_encryption="off")


def stored_file(tmp_path: Path) -> Path:
    return tmp_path / "f.bin"


def test_a_sequential_read_is_opened_ahead_with_bounded_batches_in_flight(tmp_path: Path) -> None:
    # spec: CRYPT-064
    reader = layer_with(tmp_path).open_read("f")
    assert isinstance(reader, OpeningReader)
    parts = [reader.read(PIPELINE_AFTER)]
    assert reader._pipe is None  # not before PIPELINE_AFTER bytes were read on
    most = 0
    while block := reader.read(MiB):
        parts.append(block)
        assert reader._pipe is not None
        most = max(most, len(reader._pipe._queue))
    reader.close()
    assert b"".join(parts) == data_of(SIZE)
    assert 1 <= most <= workers() + 1  # memory: a few batches, not the file
    assert reader._pipe is None


def test_small_sequential_reads_are_pipelined_too(tmp_path: Path) -> None:
    # spec: CRYPT-064
    with layer_with(tmp_path).open_read("f") as reader:
        parts = []
        while block := reader.read(10_000):  # not aligned with chunks or batches
            parts.append(block)
            if len(parts) == 400:
                assert reader._pipe is not None
        assert b"".join(parts) == data_of(SIZE)
        assert reader.read(10) == b""


@pytest.mark.parametrize("bad", [40, 41, 47, 100, 144])
def test_a_tampered_chunk_fails_at_its_batch_after_the_intact_bytes(
    tmp_path: Path, bad: int
) -> None:
    # spec: CRYPT-064
    layer = layer_with(tmp_path)
    raw = bytearray(stored_file(tmp_path).read_bytes())
    raw[HEADER + bad * BLOCK + 7] ^= 0x40
    stored_file(tmp_path).write_bytes(bytes(raw))
    got = []
    with layer.open_read("f") as reader:
        with pytest.raises(DecryptionError) as info:
            while block := reader.read(MiB):
                got.append(block)
        with pytest.raises(DecryptionError):  # a failed stream keeps failing, never skips on
            reader.read(MiB)
    assert f"chunk {bad} failed authentication" in str(info.value)
    assert info.value.path == "f"
    delivered = b"".join(got)
    assert delivered == data_of(SIZE)[: (bad // 16) * MiB]  # intact batches only, never garbage


def test_a_failing_stored_stream_raises_typed_after_the_batches_before_it(
    tmp_path: Path,
) -> None:
    # spec: CRYPT-064
    cut = HEADER + 5 * 16 * BLOCK + 99
    layer = layer_with(tmp_path, read_fail_after_bytes=cut)
    got = []
    with layer.open_read("f") as reader:
        with pytest.raises(BackendUnavailable) as info:
            while block := reader.read(MiB):
                got.append(block)
        assert reader._pipe is not None
    assert info.value.path == "f"  # the plain name, not the stored one
    assert b"".join(got) == data_of(SIZE)[: 5 * MiB]


def test_a_file_cut_inside_a_tag_is_reported_when_the_pipeline_reaches_it(
    tmp_path: Path,
) -> None:
    # spec: CRYPT-064
    layer = layer_with(tmp_path)
    path = stored_file(tmp_path)
    raw = path.read_bytes()
    path.write_bytes(raw[: HEADER + 7 * 16 * BLOCK + 10])  # 10 bytes into a tag
    with layer.open_read("f") as reader, pytest.raises(DecryptionError, match="truncated"):
        while reader.read(MiB):
            pass


def test_seeks_while_pipelined_land_on_the_right_bytes_and_drop_the_batches(
    tmp_path: Path,
) -> None:
    # spec: CRYPT-064
    data = data_of(SIZE)
    with layer_with(tmp_path).open_read("f") as reader:
        assert reader.read(4 * MiB) == data[: 4 * MiB]
        assert reader._pipe is not None
        for offset in (17, 8 * MiB + 5, 3 * CHUNK, SIZE - 3, 2 * MiB):
            reader.seek(offset)
            assert reader._pipe is None
            assert reader.read(3 * MiB + 11) == data[offset : offset + 3 * MiB + 11]
        reader.seek(CHUNK - 1)
        assert reader.read() == data[CHUNK - 1 :]
        assert reader.tell() == SIZE


def test_a_long_ranged_read_is_pipelined_and_exact(tmp_path: Path) -> None:
    # spec: CRYPT-064
    data = data_of(SIZE)
    layer = layer_with(tmp_path)
    for start, end in [(5, SIZE - 5), (CHUNK + 3, 7 * MiB), (MiB, SIZE)]:
        with layer.open_read("f", start, end) as reader:
            got = [reader.read(MiB) for _ in range(3)]
            assert reader._pipe is not None
            got.append(reader.read())
        assert b"".join(got) == data[start:end]


def test_closing_early_waits_for_the_batches_being_opened(tmp_path: Path) -> None:
    # spec: CRYPT-064
    reader = layer_with(tmp_path).open_read("f")
    reader.read(3 * MiB)
    pipe = reader._pipe
    assert pipe is not None and pipe._queue
    jobs = list(pipe._queue)
    reader.close()
    assert all(job.done() for job in jobs)  # type: ignore[union-attr]
    assert not pipe._queue


def test_readers_on_several_threads_share_the_pool(tmp_path: Path) -> None:
    # spec: CRYPT-064
    layer = layer_with(tmp_path)
    results: list[bool] = []

    def read_all() -> None:
        with layer.open_read("f") as reader:
            results.append(reader.read() == data_of(SIZE))

    threads = [threading.Thread(target=read_all) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4


def test_a_sequential_read_over_s3_is_pipelined_and_exact(tmp_path: Path) -> None:
    # spec: CRYPT-064
    data = data_of(SIZE)
    with registry_on("s3", tmp_path) as reg:
        layer = CryptLayer(reg.get_backend("b"), password=PASSWORD)
        key = f"it-{uuid.uuid4().hex[:12]}/big"
        Store(layer).write(key, data)
        try:
            assert reg.get_backend("b").stat(layer.names.file_key(key)).size == encrypted_size(SIZE)
            with layer.open_read(key) as reader:
                head = reader.read(3 * MiB)
                assert reader._pipe is not None
                assert head + reader.read() == data
        finally:
            layer.delete(key)


def test_the_layer_initialises_libsodium_so_it_runs_its_simd_code() -> None:
    # spec: CRYPT-065
    code = (
        "from storeroom import Store\n"
        "from storeroom.backends.memory import MemoryBackend\n"
        "from storeroom.layers import CryptLayer\n"
        "store = Store(CryptLayer(MemoryBackend(), password='p'))\n"
        "store.write('f', b'x' * 100)\n"
        "assert store.read_bytes('f') == b'x' * 100\n"
        "from nacl import _sodium\n"
        "print(_sodium.lib.sodium_init())\n"  # 1: already initialised, 0: this call did it
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
