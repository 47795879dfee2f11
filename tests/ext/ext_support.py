"""Stores and instrumented layers for the ext tests."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import BinaryIO

from storeroom.backend import Backend, Entry, Forwarding, Source, read_all
from storeroom.models import ContentDigest, FileInfo, WriteResult


class NativeDigest(Forwarding):
    """Reports a (deliberately fake) sha256 digest on stat, and counts reads."""

    def __init__(self, inner: Backend, value: str = "ab" * 32) -> None:
        super().__init__(inner)
        self.value = value
        self.reads = 0

    def stat(self, key: str) -> Entry:
        entry = super().stat(key)
        if isinstance(entry, FileInfo):
            digest = ContentDigest("sha256", self.value)
            return FileInfo._fast(
                entry.path, entry.name, entry.size, entry.modified_at, digest=digest
            )
        return entry

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self.reads += 1
        return super().open_read(key, start, end)


class Corrupting(Forwarding):
    """Flips the first byte of every write: a destination whose copies are wrong."""

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        data = bytearray(read_all(src))
        if data:
            data[0] ^= 0xFF
        return super().write(
            key, io.BytesIO(bytes(data)), overwrite=overwrite, metadata=metadata, atomic=atomic
        )


class _Breaks(io.RawIOBase):
    def __init__(self, inner: BinaryIO, after: int) -> None:
        self._inner = inner
        self._left = after

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        from storeroom.errors import BackendUnavailable

        if self._left <= 0:
            raise BackendUnavailable("connection reset", path="x")
        data = self._inner.read(min(size, self._left) if size >= 0 else self._left)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._inner.close()
        super().close()


class BreaksMidRead(Forwarding):
    """Reads fail with a retryable BackendUnavailable after ``after`` bytes."""

    def __init__(self, inner: Backend, after: int) -> None:
        super().__init__(inner)
        self.after = after

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        return _Breaks(super().open_read(key, start, end), self.after)  # type: ignore[return-value]
