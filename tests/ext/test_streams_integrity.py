"""Stream wrappers (EXT-020..024) and checksums (EXT-030..035)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from ext_support import NativeDigest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeroom import ContentDigest, Store
from storeroom.backends import MemoryBackend
from storeroom.errors import InvalidArgument, NotFound
from storeroom.ext.integrity import (
    ChecksumMismatch,
    checksum,
    content_digest,
    native_digest,
    parse_digest,
    verify,
)
from storeroom.ext.streams import ChecksumReader, ChecksumWriter, ProgressReader, ProgressWriter


class CountingStream(io.BytesIO):
    """Counts calls that reach the wrapped stream."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(data)
        self.calls: list[tuple[str, int]] = []

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.calls.append(("read", -1 if size is None else size))
        return data

    def readinto(self, b: Any) -> int:
        n = super().readinto(b)
        self.calls.append(("readinto", len(b)))
        return n


@given(data=st.binary(max_size=5000), sizes=st.lists(st.integers(1, 700), max_size=30))
@settings(max_examples=60, deadline=None)
def test_readers_pass_through_without_buffering(data: bytes, sizes: list[int]) -> None:
    """spec: EXT-020, EXT-021, EXT-022"""
    raw = CountingStream(data)
    seen: list[int] = []
    reader = ChecksumReader(ProgressReader(raw, seen.append), "sha256")
    out = bytearray()
    for size in sizes:
        out += reader.read(size)
        # Exactly one call with exactly the requested size reached the stream.
        assert raw.calls[-1] == ("read", size)
    assert raw.tell() == len(out)  # nothing was read ahead
    buf = bytearray(100)
    n = reader.readinto(buf)
    out += buf[:n]
    out += reader.read()
    assert bytes(out) == data
    assert sum(seen) == len(data)
    assert reader.digest() == ContentDigest("sha256", hashlib.sha256(data).hexdigest())


def test_progress_reader_counts_rewinds_once() -> None:
    """spec: EXT-021"""
    seen: list[int] = []
    reader = ProgressReader(io.BytesIO(b"x" * 100), seen.append)
    reader.read(60)
    reader.seek(0)
    reader.read(100)
    assert sum(seen) == 100 and reader.bytes_read == 160
    assert reader.seekable() and reader.readable()


def test_checksum_reader_seek_rules() -> None:
    """spec: EXT-022"""
    r = ChecksumReader(io.BytesIO(b"abcdef"), "md5")
    r.read(3)
    r.seek(0)
    assert r.read() == b"abcdef"
    assert r.digest().value == hashlib.md5(b"abcdef").hexdigest()
    r.seek(2)
    with pytest.raises(InvalidArgument):
        r.digest()


def test_writers() -> None:
    """spec: EXT-023"""
    sink = io.BytesIO()
    seen: list[int] = []
    with ChecksumWriter(ProgressWriter(sink, seen.append), "SHA-256") as w:
        w.write(b"hello ")
        w.writelines([b"wor", memoryview(b"ld")])
        assert w.digest() == ContentDigest("sha256", hashlib.sha256(b"hello world").hexdigest())
        assert w.bytes_written == 11 and w.writable()
    assert sum(seen) == 11 and sink.closed


def test_unknown_algorithm() -> None:
    """spec: EXT-024"""
    with pytest.raises(InvalidArgument):
        ChecksumReader(io.BytesIO(), "nope256")


def test_checksum_streams_when_no_native_digest() -> None:
    """spec: EXT-030, EXT-031"""
    store = Store(MemoryBackend())
    data = bytes(range(256)) * 9000
    store.write("f", data)
    assert checksum(store, "f") == ("sha256", hashlib.sha256(data).hexdigest())
    assert content_digest(store, "f", "md5") == ContentDigest("md5", hashlib.md5(data).hexdigest())
    with pytest.raises(NotFound):
        checksum(store, "missing")
    with pytest.raises(InvalidArgument):
        checksum(store, "f", "nope")


def test_native_digest_is_used_without_reading() -> None:
    """spec: EXT-032"""
    backend = NativeDigest(MemoryBackend())
    store = Store(backend)
    store.write("f", b"data")
    assert checksum(store, "f", "sha256").value == "ab" * 32  # the backend's own value
    assert backend.reads == 0
    # Another algorithm: streamed.
    assert checksum(store, "f", "md5") == ("md5", hashlib.md5(b"data").hexdigest())
    assert backend.reads == 1
    # native=False always streams.
    real = content_digest(store, "f", native=False)
    assert real.value == hashlib.sha256(b"data").hexdigest()
    assert native_digest(store.get_file_info("f"), "SHA-256") is not None
    assert native_digest(None, "sha256") is None


def test_verify_and_parse() -> None:
    """spec: EXT-033, EXT-034"""
    store = Store(MemoryBackend())
    store.write("f", b"abc")
    good = hashlib.sha256(b"abc").hexdigest()
    assert verify(store, "f", good)
    assert verify(store, "f", f"sha256:{good.upper()}")
    assert verify(store, "f", ContentDigest("md5", hashlib.md5(b"abc").hexdigest()))
    assert verify(store, "f", hashlib.md5(b"abc").hexdigest(), algorithm="md5")
    assert not verify(store, "f", "00" * 32)
    with pytest.raises(ChecksumMismatch) as info:
        verify(store, "f", "00" * 32, raise_on_mismatch=True)
    assert info.value.actual is not None and info.value.actual.value == good
    assert isinstance(info.value, ValueError)
    assert parse_digest("MD5:AB") == ContentDigest("md5", "ab")
    with pytest.raises(InvalidArgument):
        parse_digest("sha256:not-hex")
