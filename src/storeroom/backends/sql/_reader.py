"""The read stream of the ``sql-blob`` backend: one chunk in memory at a time.

The first chunk (or its needed slice) arrives with the file row in one
query; each further chunk is one short query on a pooled connection, so an
open stream holds no connection and no transaction. Chunks of a version
never change, so a stream never mixes two versions: if the file is
replaced or deleted while being read, the next chunk is gone and the
stream raises a retryable ``NotFound``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

__all__ = ["ChunkStream"]

#: fetch(seq, offset_in_chunk, length) -> bytes of that slice of chunk ``seq``.
Fetch = Callable[[int, int, int], bytes]


class ChunkStream(io.RawIOBase):
    """Forward-only stream over bytes ``[pos, end)`` of one stored file version."""

    def __init__(
        self,
        first: bytes,
        pos: int,
        end: int,
        chunk_size: int,
        fetch: Fetch,
        *,
        seekable: bool = False,
    ) -> None:
        super().__init__()
        self._seekable = seekable
        self._data = first  # current piece, starting at absolute offset ``pos``
        self._off = 0
        self._next = pos + len(first)  # absolute offset after the current piece
        self._end = end
        self._cs = chunk_size
        self._fetch = fetch

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        """Whole-file streams seek natively (positions are file offsets); ranged ones do not."""
        return self._seekable

    def tell(self) -> int:
        return self._next - len(self._data) + self._off

    def seek(self, pos: int, whence: int = 0) -> int:
        if not self._seekable:
            raise io.UnsupportedOperation("a ranged read stream is forward-only")
        if whence == io.SEEK_CUR:
            pos += self.tell()
        elif whence == io.SEEK_END:
            pos += self._end
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        begin = self._next - len(self._data)
        if begin <= pos <= self._next:
            self._off = pos - begin
        else:  # the next read fetches the chunk holding ``pos``
            self._data, self._off, self._next = b"", 0, pos
        return pos

    def _advance(self) -> bool:
        """Load the next piece; False at the end of the range."""
        if self._next >= self._end:
            return False
        seq, off = divmod(self._next, self._cs)
        want = min(self._cs - off, self._end - self._next)
        self._data = self._fetch(seq, off, want)
        self._off = 0
        self._next += len(self._data)
        return bool(self._data)

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        if size is None or size < 0:
            return self.readall()
        if self._off >= len(self._data) and not self._advance():
            return b""
        data, off = self._data, self._off
        if off == 0 and size >= len(data):
            self._off = len(data)
            return data
        piece = data[off : off + size]
        self._off = off + len(piece)
        return piece

    def readall(self) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        data, off = self._data, self._off
        rest = data[off:] if off else data
        self._off = len(data)
        if self._next >= self._end:
            return rest
        parts = [rest]
        while self._advance():
            parts.append(self._data)
            self._off = len(self._data)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        piece = self.read(len(view))
        n = len(piece)
        view[:n] = piece
        return n

    def close(self) -> None:
        self._data = b""
        super().close()
