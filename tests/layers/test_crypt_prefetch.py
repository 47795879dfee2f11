"""The crypt layer's read-ahead: same bytes, seeks, errors and early closes (spec CRYPT-061)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from every_backend import registry_on
from storeroom import Store
from storeroom.backends.local import LocalBackend
from storeroom.errors import BackendUnavailable, DecryptionError
from storeroom.layers import CryptLayer, FaultLayer, _crypt_data
from storeroom.layers._crypt_data import BLOCK, CHUNK, HEADER, OpeningReader

MiB = 1024 * 1024
SIZE = 6 * MiB + 12_345  # six full batches and a short one
PASSWORD = "prefetch password"


def data_of(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


def prefetchers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "storeroom-crypt-prefetch"]


@pytest.fixture
def always_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read ahead whatever the timings (the threshold is a share of the opening time)."""
    monkeypatch.setattr(_crypt_data, "PREFETCH_SHARE", 0.0)


def layer_with(tmp_path: Path, **fault: Any) -> CryptLayer:
    inner = LocalBackend(str(tmp_path))
    Store(CryptLayer(inner, password=PASSWORD, filename_encryption="off")).write("f", data_of(SIZE))
    below = FaultLayer(inner, **fault) if fault else inner
    return CryptLayer(below, password=PASSWORD, filename_encryption="off")


def test_read_ahead_starts_after_two_batches_and_returns_the_same_bytes(
    tmp_path: Path, always_ahead: None
) -> None:
    # spec: CRYPT-061
    reader = layer_with(tmp_path).open_read("f")
    assert isinstance(reader, OpeningReader)
    first = reader.read(MiB)
    assert reader._ahead is None  # judged after two full batches
    parts = [first, reader.read(2 * MiB)]
    assert reader._ahead is not None and len(prefetchers()) == 1
    while block := reader.read(300_000):  # reads not aligned with batches
        parts.append(block)
    reader.close()
    assert b"".join(parts) == data_of(SIZE)
    assert prefetchers() == []


def test_seek_while_reading_ahead_lands_on_the_right_bytes(
    tmp_path: Path, always_ahead: None
) -> None:
    # spec: CRYPT-061
    data = data_of(SIZE)
    with layer_with(tmp_path).open_read("f") as reader:
        reader.read(3 * MiB)
        for offset in (123, 5 * MiB + 7, CHUNK, SIZE - 10):
            reader.seek(offset)
            assert reader.read(MiB) == data[offset : offset + MiB]
        reader.seek(CHUNK + 1)
        assert reader.read() == data[CHUNK + 1 :]
    assert prefetchers() == []


def test_closing_early_stops_the_read_ahead_thread(tmp_path: Path, always_ahead: None) -> None:
    # spec: CRYPT-061
    reader = layer_with(tmp_path).open_read("f")
    reader.read(3 * MiB)
    assert len(prefetchers()) == 1
    reader.close()  # the thread was blocked handing over a full queue
    assert prefetchers() == []


def test_errors_of_the_stored_stream_reach_the_reader_typed(
    tmp_path: Path, always_ahead: None
) -> None:
    # spec: CRYPT-061
    layer = layer_with(tmp_path, read_fail_after_bytes=HEADER + 4 * 16 * BLOCK + 5)
    reader = layer.open_read("f")
    got = reader.read(3 * MiB)
    with pytest.raises(BackendUnavailable) as info:
        while reader.read(MiB):
            pass
    assert info.value.path == "f"  # the plain name, not the stored one
    assert len(got) == 3 * MiB
    reader.close()
    assert prefetchers() == []


def test_a_tampered_chunk_read_ahead_still_fails_authentication(
    tmp_path: Path, always_ahead: None
) -> None:
    # spec: CRYPT-061
    layer = layer_with(tmp_path)
    stored = tmp_path / "f.bin" if (tmp_path / "f.bin").exists() else tmp_path / "f"
    raw = bytearray(stored.read_bytes())
    bad = 70  # in the fifth batch, fetched ahead
    raw[HEADER + bad * BLOCK + 100] ^= 1
    stored.write_bytes(bytes(raw))
    with layer.open_read("f") as reader, pytest.raises(DecryptionError, match=f"chunk {bad}"):
        while reader.read(MiB):
            pass
    assert prefetchers() == []


def test_reads_ahead_over_s3_with_the_default_threshold(tmp_path: Path) -> None:
    # spec: CRYPT-061
    data = data_of(SIZE)
    with registry_on("s3", tmp_path) as reg:
        layer = CryptLayer(reg.get_backend("b"), password=PASSWORD)
        key = f"it-{uuid.uuid4().hex[:12]}/big"
        Store(layer).write(key, data)
        try:
            with layer.open_read(key) as reader:
                head = reader.read(3 * MiB)
                assert reader._ahead is not None  # an HTTP fetch costs more than a quarter
                assert head + reader.read() == data
            with layer.open_read(key, 5, SIZE - 5) as ranged:
                assert ranged.read() == data[5 : SIZE - 5]
        finally:
            layer.delete(key)
    assert prefetchers() == []
