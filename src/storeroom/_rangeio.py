"""The one seekable reader, built on ``open_read(key, start, end)`` of any backend.

A ``RangeReader`` opens a forward-only stream lazily at the current
position; a seek drops it and the next read reopens at the new offset. A
small forward seek reads through instead of reopening (cheaper on remote
backends). Wrapped in ``io.BufferedReader`` by ``open_seekable``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["RangeReader", "open_seekable"]

#: Forward seeks up to this many bytes read through the open stream.
SKIP_LIMIT = 256 * 1024

Opener = Callable[[int, int | None], BinaryIO]


class RangeReader(io.RawIOBase):
    """A raw, seekable, read-only stream over a file of known ``size``."""

    def __init__(self, opener: Opener, size: int, name: str = "") -> None:
        super().__init__()
        self._opener = opener
        self._size = size
        self._pos = 0
        self._stream: BinaryIO | None = None
        self._stream_pos = 0
        self.name = name

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    @property
    def size(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return target

    def _drop(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        if self._stream is not None and self._stream_pos != self._pos:
            gap = self._pos - self._stream_pos
            if 0 < gap <= SKIP_LIMIT:
                while gap:
                    chunk = self._stream.read(gap)
                    if not chunk:
                        break
                    gap -= len(chunk)
                    self._stream_pos += len(chunk)
            if self._stream_pos != self._pos:
                self._drop()
        if self._stream is None:
            self._stream = self._opener(self._pos, None)
            self._stream_pos = self._pos
        want = min(len(buffer), self._size - self._pos)
        data = self._stream.read(want)
        n = len(data)
        buffer[:n] = data
        self._pos += n
        self._stream_pos += n
        return n

    def close(self) -> None:
        self._drop()
        super().close()


def open_seekable(opener: Opener, size: int, name: str = "") -> io.BufferedReader:
    """A buffered, seekable binary reader over ``opener``."""
    return io.BufferedReader(RangeReader(opener, size, name), buffer_size=256 * 1024)
