"""Pipelined SFTP reads and writes on one connection.

paramiko answers one request at a time unless requests are sent ahead. The
reader keeps a bounded window of read requests in flight (so memory stays
flat on huge files, unlike an unbounded prefetch) and the writer sends write
requests without waiting, collecting the acknowledgements as they arrive.
Both use the largest request the server accepts (``limits@openssh.com``).
"""

from __future__ import annotations

import collections
import io
import stat
from collections.abc import Iterable
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_CLOSE,
    CMD_DATA,
    CMD_FSTAT,
    CMD_READ,
    CMD_REMOVE,
    CMD_STATUS,
    CMD_WRITE,
    int64,
)

from storeroom.backends.sftp._conn import Conn
from storeroom.backends.sftp.errors import FX_EOF, FX_NO_SUCH_FILE, SFTPStatusError

__all__ = ["Replies", "Stream", "rmtree", "write_all"]

#: Bytes in flight per direction: enough to fill a fast link, small enough for
#: flat memory (measured on loopback; more only adds buffering).
READ_WINDOW = 4 * 1024 * 1024
WRITE_WINDOW = 2 * 1024 * 1024


class Replies:
    """Collects replies to pipelined requests (paramiko calls ``_async_response``)."""

    def __init__(self, conn: Conn) -> None:
        self.sftp = conn.sftp
        self.got: dict[int, tuple[int, paramiko.Message]] = {}

    def send(self, t: int, *args: Any) -> int:
        return self.sftp.send_async(self, t, *args)

    def wait(self, num: int) -> tuple[int, paramiko.Message]:
        got = self.got
        while num not in got:
            self.sftp.read_one()
        return got.pop(num)

    def _async_response(self, t: int, msg: paramiko.Message, num: int) -> None:
        self.got[num] = (t, msg)

    def _check_exception(self) -> None:
        """paramiko's hook; failures are raised by ``wait``'s callers."""


def check(reply: tuple[int, paramiko.Message]) -> paramiko.Message:
    """The message of a reply, or the ``SFTPStatusError`` it carries."""
    t, msg = reply
    if t == CMD_STATUS:
        code = msg.get_int()
        if code:
            raise SFTPStatusError(code, msg.get_text())
    return msg


def write_all(conn: Conn, handle: bytes, chunks: Iterable[bytes]) -> tuple[int, float]:
    """Write ``chunks`` from offset 0, then fstat and close; returns (size, mtime).

    Raises the first failure the server reported; the handle is closed either way
    when the connection still works.
    """
    replies = Replies(conn)
    size = conn.write_size
    limit = max(4, WRITE_WINDOW // size)
    inflight: collections.deque[int] = collections.deque()
    offset = 0
    error: BaseException | None = None
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            for i in range(0, len(view), size):
                piece = bytes(view[i : i + size]) if len(view) > size else chunk
                inflight.append(replies.send(CMD_WRITE, handle, int64(offset), piece))
                offset += len(piece)
                while len(inflight) > limit:
                    check(replies.wait(inflight.popleft()))
    except (SFTPStatusError, paramiko.SFTPError) as exc:
        error = exc
    except BaseException:
        _close_quietly(replies, handle, inflight)
        raise
    # fstat and close go out behind the last writes: one round trip settles all.
    stat_num = replies.send(CMD_FSTAT, handle)
    close_num = replies.send(CMD_CLOSE, handle)
    for num in inflight:
        try:
            check(replies.wait(num))
        except SFTPStatusError as exc:
            error = error or exc
    try:
        attrs = paramiko.SFTPAttributes._from_msg(  # type: ignore[attr-defined]
            check(replies.wait(stat_num))
        )
    except SFTPStatusError as exc:
        error = error or exc
    try:
        check(replies.wait(close_num))
    except SFTPStatusError as exc:
        error = error or exc
    if error is not None:
        raise error
    return offset, float(attrs.st_mtime or 0)


def _close_quietly(replies: Replies, handle: bytes, inflight: Iterable[int]) -> None:
    """After a failure of the caller's source: settle pending replies and close."""
    try:
        num = replies.send(CMD_CLOSE, handle)
        for n in inflight:
            replies.wait(n)
        replies.wait(num)
    except Exception:  # the connection may be gone too; the original error matters
        pass


class Stream(io.RawIOBase):
    """Forward-only reader of ``[start, end)`` of an open remote file.

    ``on_close(broken)`` is called once, after the handle is closed, to give the
    connection back (``broken`` when the connection failed).
    """

    def __init__(
        self, conn: Conn, handle: bytes, start: int, end: int | None, on_close: Any, fail: Any
    ) -> None:
        super().__init__()
        self._conn: Conn | None = conn
        self._handle = handle
        self._replies = Replies(conn)
        self._size = conn.read_size
        self._limit = max(4, READ_WINDOW // self._size)
        self._next = start  # next offset to request
        self._end = end
        self._eof = False
        self._pending: collections.deque[tuple[int, int, int]] = collections.deque()
        self._buf = memoryview(b"")
        self._on_close = on_close
        self._fail = fail  # maps an exception to the storeroom error to raise

    def prime(self) -> None:
        """Fetch the first chunk now, so opening a folder or a bad handle fails at open."""
        data = self._next_chunk()
        if data:
            self._buf = memoryview(data)
        else:
            self._finish(None)

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        end, size, pending = self._end, self._size, self._pending
        while not self._eof and len(pending) < self._limit and (end is None or self._next < end):
            n = size if end is None else min(size, end - self._next)
            pending.append(
                (self._replies.send(CMD_READ, self._handle, int64(self._next), n), self._next, n)
            )
            self._next += n

    def _chunk(self) -> bytes:
        """The next chunk in file order; b"" at the end."""
        self._fill()
        if not self._pending:
            return b""
        num, offset, length = self._pending.popleft()
        t, msg = self._replies.wait(num)
        if t == CMD_DATA:
            data: bytes = msg.get_string()
            if 0 < len(data) < length:  # a short read: ask for the rest first
                rest = (offset + len(data), length - len(data))
                num = self._replies.send(CMD_READ, self._handle, int64(rest[0]), rest[1])
                self._pending.appendleft((num, rest[0], rest[1]))
            elif not data:
                self._eof = True
            return data
        code = msg.get_int()
        if code == FX_EOF:
            self._eof = True
            return b""
        raise SFTPStatusError(code, msg.get_text())

    def _next_chunk(self) -> bytes:
        try:
            return self._chunk()
        except BaseException as exc:
            err = self._fail(exc)
            self._finish(exc)
            raise err from exc

    def readinto(self, b: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._buf:
            data = self._next_chunk()
            if not data:
                self._finish(None)
                return 0
            self._buf = memoryview(data)
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def readall(self) -> bytes:
        parts = [bytes(self._buf)]
        self._buf = memoryview(b"")
        while True:
            data = self._next_chunk()
            if not data:
                break
            parts.append(data)
        self._finish(None)
        return b"".join(parts)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if not self._buf:
            if self._conn is None:
                return b""
            data = self._next_chunk()
            if not data:
                self._finish(None)
                return b""
            if len(data) <= size:
                return data
            self._buf = memoryview(data)
        out = bytes(self._buf[:size])
        self._buf = self._buf[size:]
        return out

    def _finish(self, exc: BaseException | None) -> None:
        """Drain in-flight reads, close the handle, give the connection back (once)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        from storeroom.backends.sftp.errors import is_connection_error

        broken = exc is not None and (is_connection_error(exc) or not conn.alive())
        if not broken:
            try:
                for num, _, _ in self._pending:
                    self._replies.wait(num)
                self._pending.clear()
                check(self._replies.wait(self._replies.send(CMD_CLOSE, self._handle)))
            except Exception:
                broken = True
        self._on_close(conn, broken)

    def close(self) -> None:
        if not self.closed:
            try:
                self._finish(None)
            finally:
                super().close()


def rmtree(conn: Conn, path: str) -> None:
    """Remove folder ``path`` and everything below it, depth first, file removals pipelined."""
    replies = Replies(conn)
    nums = []
    for attrs in conn.sftp.listdir_attr(path):
        child = f"{path}/{attrs.filename}"
        if stat.S_ISDIR(attrs.st_mode or 0):
            rmtree(conn, child)
        else:
            nums.append(replies.send(CMD_REMOVE, child))
    for num in nums:
        try:
            check(replies.wait(num))
        except SFTPStatusError as exc:
            if exc.code != FX_NO_SUCH_FILE:
                raise
    conn.sftp.rmdir(path)
