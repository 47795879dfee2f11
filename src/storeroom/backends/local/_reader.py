"""The read stream of the local backend: a real file, optionally limited to a range.

``RangeFile`` is an ``io.FileIO`` whose reads stop at ``end`` and whose
``OSError``s come out as storeroom errors. The backend hands it out inside an
``io.BufferedReader``, so small reads are buffered and a whole-file
``read()`` is a single ``readall`` of the underlying file.
"""

from __future__ import annotations

import io
from typing import Any

from storeroom.backends.local.errors import TABLE

__all__ = ["RangeFile", "open_stream"]

_FileIO = io.FileIO  # called directly: cheaper than super() on every read


class RangeFile(io.FileIO):
    """Raw binary file over bytes ``[start, end)`` of an open descriptor (``end=None``: EOF).

    Build it with ``open_stream``. A full-file stream stays seekable; a
    ranged one is forward-only, because its positions would not match the range's.
    """

    _key = ""
    _ranged = False
    _left: int | None = None

    def _fail(self, exc: OSError) -> Exception:
        return TABLE.map(exc, self._key, operation="read")

    def read(self, size: int | None = -1) -> bytes:
        left = self._left
        if left is not None:
            if size is None or size < 0 or size > left:
                size = left
            if size == 0:
                return b""
        try:
            data = _FileIO.read(self, size)
        except OSError as exc:
            raise self._fail(exc) from exc
        if left is not None and data:
            self._left = left - len(data)
        return data or b""

    def readall(self) -> bytes:
        if self._left is not None:
            return self.read(self._left)
        try:
            return _FileIO.readall(self)
        except OSError as exc:
            raise self._fail(exc) from exc

    def readinto(self, buffer: Any) -> int:
        left = self._left
        if left is not None:
            view = memoryview(buffer).cast("B")
            if len(view) > left:
                view = view[:left]
            if not view:
                return 0
            buffer = view
        try:
            n = _FileIO.readinto(self, buffer)
        except OSError as exc:
            raise self._fail(exc) from exc
        if left is not None and n:
            self._left = left - n
        return n or 0

    def seekable(self) -> bool:
        return not self._ranged and _FileIO.seekable(self)

    def seek(self, pos: int, whence: int = 0) -> int:
        if self._ranged:
            raise io.UnsupportedOperation("a ranged read stream is forward-only")
        try:
            return _FileIO.seek(self, pos, whence)
        except OSError as exc:
            raise self._fail(exc) from exc

    def close(self) -> None:
        try:
            _FileIO.close(self)
        except OSError as exc:
            raise self._fail(exc) from exc


def open_stream(fd: int, key: str, start: int | None, end: int | None) -> io.BufferedReader:
    """A buffered ``RangeFile`` over ``fd`` (which it owns from now on)."""
    raw = RangeFile(fd, "rb", closefd=True)
    raw._key = key
    if start or end is not None:
        raw._ranged = True
        try:
            if start:
                io.FileIO.seek(raw, start)
            if end is not None:
                raw._left = max(0, end - (start or 0))
        except BaseException:
            io.FileIO.close(raw)
            raise
    return io.BufferedReader(raw)
