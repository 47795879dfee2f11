"""The one seekable reader, built on ``open_read(key, start, end)`` of any backend.

A ``RangeReader`` opens a forward-only stream lazily at the current
position; a seek drops it and the next read reopens at the new offset. A
small forward seek reads through instead of reopening (cheaper on remote
backends). Wrapped in a buffered reader by ``open_seekable``; a position or
size outside ``[0, 2**63)`` is ``InvalidArgument`` (STORE-006), not a C-level
``OverflowError``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

from storeroom.errors import InvalidArgument

__all__ = ["MAX_OFFSET", "RangeReader", "open_seekable"]

#: Forward seeks up to this many bytes read through the open stream.
SKIP_LIMIT = 256 * 1024
#: Largest offset, position or size storeroom accepts: signed 64-bit on every
#: backend (files, HTTP ranges, SQL integers).
MAX_OFFSET = 2**63 - 1

Opener = Callable[[int, int | None], BinaryIO]


class RangeReader(io.RawIOBase):
    """A raw, seekable, read-only stream over a file of known ``size``."""

    def __init__(self, opener: Opener, size: int, name: str = "", **context: Any) -> None:
        super().__init__()
        self._context = context
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
            raise self.bad(f"invalid whence {whence!r}")
        if not 0 <= target <= MAX_OFFSET:
            raise self.bad(f"seek position {target} is outside [0, 2**63)")
        self._pos = target
        return target

    def bad(self, message: str) -> InvalidArgument:
        """An ``InvalidArgument`` about this stream, with the Store's context."""
        return InvalidArgument(message, path=self.name, **self._context)

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


class _Buffered(io.BufferedReader):
    """``io.BufferedReader`` that refuses out-of-range positions and sizes typed."""

    def _check(self, value: Any, what: str) -> None:
        if isinstance(value, int) and not -MAX_OFFSET <= value <= MAX_OFFSET:
            raw: RangeReader = self.raw  # type: ignore[assignment]
            raise raw.bad(f"{what} {value} is outside (-2**63, 2**63)")

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check(offset, "seek offset")
        return super().seek(offset, whence)

    def read(self, size: int | None = -1) -> bytes:
        self._check(size, "read size")
        return super().read(size)

    def read1(self, size: int = -1) -> bytes:
        self._check(size, "read size")
        return super().read1(size)


def open_seekable(opener: Opener, size: int, name: str = "", **context: Any) -> io.BufferedReader:
    """A buffered, seekable binary reader over ``opener``; ``context`` goes into its errors."""
    return _Buffered(RangeReader(opener, size, name, **context), buffer_size=256 * 1024)
