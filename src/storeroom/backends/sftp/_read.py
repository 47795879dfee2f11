"""Reads of the ``sftp`` backend: stat, a pipelined existence check, lazy read streams.

Every function works on the backend's ``SFTPCore`` (spec SFTP-043, SFTP-090).
"""

from __future__ import annotations

from typing import BinaryIO

import paramiko
from paramiko.sftp import CMD_HANDLE, CMD_OPEN, CMD_STAT, CMD_STATUS, SFTP_FLAG_READ

from storeroom.backend import Entry
from storeroom.backends.sftp._conn import Conn
from storeroom.backends.sftp._core import SFTPCore, entry
from storeroom.backends.sftp._io import Replies, Stream
from storeroom.backends.sftp.errors import BACKEND, FX_NO_SUCH_FILE, SFTPStatusError
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.models import FolderEntry

__all__ = ["NO_ATTRS", "exists", "is_folder", "open_read", "stat"]

NO_ATTRS = paramiko.SFTPAttributes()


def stat(core: SFTPCore, key: str) -> Entry:
    """Entry of a file or folder (symlinks followed by the server)."""
    attrs = core.call("stat", key, lambda c: c.sftp.stat(core.path(key)))
    return entry(key, attrs)


def exists(core: SFTPCore, key: str) -> bool:
    """One stat request; a miss builds no exception object of ours."""
    path = core.path(key)

    def run(conn: Conn) -> bool:
        replies = Replies(conn)
        t, msg = replies.wait(replies.send(CMD_STAT, path))
        if t == CMD_STATUS:
            code = msg.get_int()
            if code == FX_NO_SUCH_FILE:
                return False
            raise SFTPStatusError(code, msg.get_text())
        return True

    return core.call("exists", key, run)


def is_folder(core: SFTPCore, key: str) -> bool:
    """Whether ``key`` is a folder (the root always is); one stat."""
    if not key:
        return True
    try:
        return isinstance(stat(core, key), FolderEntry)
    except NotFound:
        return False


def open_read(core: SFTPCore, key: str, start: int | None, end: int | None) -> BinaryIO:
    """A lazy stream keeping a window of read requests in flight (holds one connection)."""
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise InvalidPath("byte offsets must not be negative", path=key, backend=BACKEND)
    path = core.path(key)

    def opened(conn: Conn) -> bytes:
        t, msg = conn.sftp.request(CMD_OPEN, path, SFTP_FLAG_READ, NO_ATTRS)
        if t != CMD_HANDLE or msg is None:
            raise paramiko.SFTPError("expected a handle")
        handle: bytes = msg.get_binary()
        return handle

    conn, handle = core.hold("open_read", key, opened)

    def fail(exc: BaseException) -> StoreroomError:
        return core.error(conn, exc, "open_read", key)

    def on_close(c: Conn, broken: bool) -> None:
        core.pool.release(c, broken=broken)

    raw = Stream(conn, handle, start or 0, end, on_close, fail)
    raw.prime()
    return raw  # type: ignore[return-value]
