"""The read stream of the ``http`` backend: one response body, seekable by reopening.

``_Body`` wraps an ``http.client`` response of a ``GET``; it raises storeroom
errors only and hands its connection back to the pool once the body was
read to the end (spec HTTP-005, HTTP-008, HTTP-040).
"""

from __future__ import annotations

import http.client
import io
from typing import TYPE_CHECKING, Any

from storeroom.backends.http._conn import Origin
from storeroom.backends.http.errors import TABLE
from storeroom.errors import StoreroomError

if TYPE_CHECKING:
    from storeroom.backends.http.backend import HTTPBackend

__all__ = ["NET_ERRORS", "Body", "Opened"]

#: Forward seeks up to this many bytes read through the open response.
_SKIP_LIMIT = 256 * 1024
#: Unread bytes up to this size are read and dropped to keep a connection alive.
DRAIN_LIMIT = 64 * 1024
_CHUNK = 1024 * 1024
NET_ERRORS = (OSError, http.client.HTTPException)


class Opened:
    """A ``GET`` in flight: connection, response (``None``: empty), bytes to skip, file size."""

    __slots__ = ("conn", "origin", "resp", "size", "skip")

    def __init__(
        self,
        origin: Origin,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse | None,
        skip: int,
        size: int | None,
    ) -> None:
        self.origin = origin
        self.conn = conn
        self.resp = resp
        self.skip = skip
        self.size = size


class Body(io.RawIOBase):
    """Response body of ``open_read``; storeroom errors only; returns its connection when done.

    A whole-file stream with a known size is seekable: a seek forward by a
    little reads through, any other seek reopens at the new offset with a
    ``Range`` request. A ranged stream is forward-only.
    """

    def __init__(
        self, backend: HTTPBackend, key: str, opened: Opened, start: int, end: int | None
    ) -> None:
        super().__init__()
        self._backend = backend
        self._key = key
        self._cur: Opened | None = opened
        self._end = end
        self._seekable = start == 0 and end is None and opened.size is not None
        self._size = opened.size if self._seekable else None
        self._pos = start  # logical position
        self._at = start  # position of the open response
        self._left = self._limit(opened, start)
        if opened.skip:
            self._discard(opened.skip)

    def _limit(self, opened: Opened, start: int) -> int | None:
        """Bytes to deliver from this response (``None``: until it ends)."""
        if opened.resp is None:
            return 0
        have = opened.resp.length
        if have is not None:
            have -= opened.skip
        if self._end is None:
            return have
        want = self._end - start
        return want if have is None else min(want, have)

    def _error(self, exc: BaseException) -> StoreroomError:
        return TABLE.map(exc, self._key, operation="read")

    def _discard(self, count: int) -> None:
        resp = self._cur.resp if self._cur is not None else None
        while count > 0 and resp is not None:
            try:
                chunk = resp.read(min(count, _CHUNK))
            except NET_ERRORS as exc:
                self._drop()
                raise self._error(exc) from exc
            if not chunk:
                break
            count -= len(chunk)

    def _done(self) -> None:
        """Release the response: back to the pool if it was read to its end."""
        cur = self._cur
        self._cur = None
        if cur is None or cur.resp is None:
            return
        self._backend._release(cur.origin, cur.conn, cur.resp)

    def _drop(self) -> None:
        """Abandon the response and its connection (bytes were left unread)."""
        cur = self._cur
        self._cur = None
        if cur is not None and cur.resp is not None:
            cur.resp.close()
            cur.conn.close()

    def _reopen(self) -> None:
        opened = self._backend._open(self._key, self._pos, self._end, "read")
        self._cur = opened
        self._at = self._pos
        self._left = self._limit(opened, self._pos)
        if opened.skip:
            self._discard(opened.skip)

    def _ready(self) -> http.client.HTTPResponse | None:
        """The response to read from at the logical position (reopening if needed)."""
        if self._seekable and self._at != self._pos:
            gap = self._pos - self._at
            if self._cur is not None and 0 < gap <= _SKIP_LIMIT and (self._left or 0) > gap:
                self._discard(gap)
                self._at = self._pos
                if self._left is not None:
                    self._left -= gap
            else:
                self._drop()
                assert self._size is not None
                if self._pos >= self._size:
                    return None
                self._reopen()
        if self._cur is None:
            return None
        return self._cur.resp

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._seekable:
            raise io.UnsupportedOperation("this stream is not seekable")
        assert self._size is not None
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence!r}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def _advance(self, n: int, want: int) -> None:
        self._pos += n
        self._at += n
        if self._left is not None:
            self._left -= n
            if n == 0 and want > 0 and self._left > 0:
                self._drop()
                raise self._error(http.client.IncompleteRead(b"", self._left))
            if self._left <= 0:
                self._done()
        elif n == 0:
            self._done()

    def readinto(self, buffer: Any) -> int:
        resp = self._ready()
        if resp is None:
            return 0
        view = memoryview(buffer).cast("B")
        if self._left is not None and len(view) > self._left:
            view = view[: self._left]
        if not view:
            self._done()
            return 0
        try:
            n = resp.readinto(view)
        except NET_ERRORS as exc:
            self._drop()
            raise self._error(exc) from exc
        self._advance(n, len(view))
        return n

    def readall(self) -> bytes:
        resp = self._ready()
        if resp is None:
            return b""
        left = self._left
        try:
            if left is not None and left == resp.length:
                data = resp.read()  # whole rest in one call; raises IncompleteRead
            elif left is not None:
                data = resp.read(left)
            else:
                data = resp.read()
        except NET_ERRORS as exc:
            self._drop()
            raise self._error(exc) from exc
        if left is not None and len(data) < left:
            self._drop()
            raise self._error(http.client.IncompleteRead(data, left - len(data)))
        self._advance(len(data), 0)
        if self._cur is not None:
            self._done()
        return data

    def close(self) -> None:
        if not self.closed:
            cur = self._cur
            if cur is not None and cur.resp is not None:
                length = cur.resp.length
                if length is not None and length <= DRAIN_LIMIT:
                    try:
                        self._done()  # drains the small rest, keeps the connection
                    except StoreroomError:
                        self._drop()
                else:
                    self._drop()
            self._cur = None
        super().close()
