"""Writes and moves of the ``sftp`` backend: temporary file, then one server-side commit.

A write streams into a fresh temporary name next to its target and is placed
with ``posix-rename@openssh.com`` (replace) or ``hardlink@openssh.com`` (create
only, never clobbers); a move places the file itself the same way (spec
SFTP-040, SFTP-044). Parents are made on demand. Every function works on the
backend's ``SFTPCore`` (SFTP-090).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paramiko
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_REMOVE,
    CMD_RENAME,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
)

from storeroom._sources import is_user_error
from storeroom._store_support import TMP_PREFIX
from storeroom.backends.sftp._conn import Conn
from storeroom.backends.sftp._core import SFTPCore
from storeroom.backends.sftp._io import write_all
from storeroom.backends.sftp._read import NO_ATTRS
from storeroom.backends.sftp.errors import (
    BACKEND,
    FX_FAILURE,
    FX_NO_SUCH_FILE,
    TABLE,
    SFTPStatusError,
)
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = ["mkdirs", "move", "write"]

_NEW_TEMP = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL | SFTP_FLAG_TRUNC


def mkdirs(core: SFTPCore, conn: Conn, folder: str) -> None:
    """``mkdir -p`` of ``folder`` (a key); a file on the way is ``InvalidPath``."""
    try:
        conn.sftp.mkdir(core.path(folder))
        return
    except SFTPStatusError as exc:
        if exc.code == FX_NO_SUCH_FILE and "/" in folder:
            mkdirs(core, conn, folder.rpartition("/")[0])
        elif exc.code == FX_NO_SUCH_FILE and folder and core.root:
            _mkdir_root(core, conn)
        elif exc.code == FX_FAILURE:
            found = core.found(conn, folder)
            if found == "folder":
                return
            raise TABLE.map(exc, folder, operation="mkdir", found=found) from exc
        else:
            raise
    try:
        conn.sftp.mkdir(core.path(folder))
    except SFTPStatusError as exc:
        if exc.code != FX_FAILURE or core.found(conn, folder) != "folder":
            if exc.code == FX_FAILURE:
                found = core.found(conn, folder)
                raise TABLE.map(exc, folder, operation="mkdir", found=found) from exc
            raise


def _mkdir_root(core: SFTPCore, conn: Conn) -> None:
    """Make every folder of ``base_path`` that is missing."""
    parts = core.root.split("/")
    for i in range(1, len(parts) + 1):
        path = "/".join(parts[:i])
        if not path:
            continue
        try:
            conn.sftp.mkdir(path)
        except SFTPStatusError as exc:
            if exc.code != FX_FAILURE:
                raise


def _open_temp(core: SFTPCore, conn: Conn, key: str) -> tuple[str, bytes]:
    """Create a fresh temporary file next to ``key`` (parents made on demand)."""
    parent = key.rpartition("/")[0]
    tmp = (
        f"{parent}/{TMP_PREFIX}{uuid.uuid4().hex}.tmp"
        if parent
        else f"{TMP_PREFIX}{uuid.uuid4().hex}.tmp"
    )
    for attempt in (0, 1):
        try:
            t, msg = conn.sftp.request(CMD_OPEN, core.path(tmp), _NEW_TEMP, NO_ATTRS)
            if t != CMD_HANDLE or msg is None:
                raise paramiko.SFTPError("expected a handle")
            return tmp, msg.get_binary()
        except SFTPStatusError as exc:
            if attempt or exc.code != FX_NO_SUCH_FILE:
                raise
            if parent:
                mkdirs(core, conn, parent)
            else:
                _mkdir_root(core, conn)
    raise AssertionError("unreachable")


def _commit(core: SFTPCore, conn: Conn, tmp: str, key: str, overwrite: bool, op: str) -> None:
    """Move the finished ``tmp`` onto ``key``: replace, or create-only (no clobber)."""
    try:
        _place(core, conn, tmp, key, overwrite)
    except BaseException as exc:
        core.quiet_remove(conn, tmp)
        if isinstance(exc, SFTPStatusError):
            raise core.error(conn, exc, op, key) from exc
        raise


def _place(
    core: SFTPCore, conn: Conn, src: str, key: str, overwrite: bool, move: bool = False
) -> None:
    """Commit ``src`` (a temporary file, or a file being moved) under ``key``.

    For a ``move`` the source's removal is awaited: movers racing on one file
    can all link it, and each whose removal finds it gone removes its own
    link again and gets ``NotFound`` (SFTP-044).
    """
    sftp = conn.sftp
    if overwrite:
        sftp.posix_rename(core.path(src), core.path(key))
        return
    if not conn.hardlink:
        # SSH_FXP_RENAME must fail on an existing target (SFTP v3).
        sftp.request(CMD_RENAME, core.path(src), core.path(key))
        return
    sftp.request(CMD_EXTENDED, "hardlink@openssh.com", core.path(src), core.path(key))
    if not move:  # a private temporary: its removal's reply is read by the next request
        sftp.send_async(type(None), CMD_REMOVE, core.path(src))
        return
    try:
        sftp.request(CMD_REMOVE, core.path(src))
    except SFTPStatusError as exc:
        if exc.code != FX_NO_SUCH_FILE:
            raise
        core.quiet_remove(conn, key)
        msg = "file not found (another client moved or deleted it meanwhile)"
        raise NotFound(msg, path=src, backend=BACKEND, operation="move") from exc


def write(
    core: SFTPCore, key: str, chunks: Callable[[Conn], Any], overwrite: bool, op: str
) -> WriteResult:
    """Stream ``chunks(conn)`` into a temporary file, then commit it under ``key``."""
    conn, (tmp, handle) = core.hold(op, key, lambda c: _open_temp(core, c, key))
    broken = False
    try:
        try:
            size, mtime = write_all(conn, handle, chunks(conn))
        except BaseException as exc:
            if isinstance(exc, SFTPStatusError | paramiko.SFTPError):
                core.quiet_remove(conn, tmp)
                raise core.error(conn, exc, op, key) from exc
            if is_user_error(exc) or not isinstance(exc, Exception):
                core.quiet_remove(conn, tmp)
                raise
            raise
        _commit(core, conn, tmp, key, overwrite, op)
    except StoreroomError:
        raise
    except BaseException as exc:
        if is_user_error(exc) or not isinstance(exc, Exception):
            raise
        broken = True
        core.orphans.append(tmp)
        raise core.error(conn, exc, op, key) from exc
    finally:
        core.pool.release(conn, broken=broken)
    return WriteResult(
        RemotePath._trusted(key), size, last_modified=datetime.fromtimestamp(mtime, UTC)
    )


def move(core: SFTPCore, src: str, dst: str, overwrite: bool) -> None:
    """Rename on the server: atomic replace, or hard link + unlink (never clobbers)."""

    def run(conn: Conn) -> None:
        if core.found(conn, src) != "file":
            found = core.found(conn, src)
            if found == "missing":
                raise NotFound("file not found", path=src, backend=BACKEND, operation="move")
            raise InvalidPath("expected a file, found a folder", path=src, backend=BACKEND)
        try:
            _place(core, conn, src, dst, overwrite, move=True)
        except SFTPStatusError as exc:
            if exc.code != FX_NO_SUCH_FILE or "/" not in dst:
                raise core.error(conn, exc, "move", dst) from exc
            mkdirs(core, conn, dst.rpartition("/")[0])
            try:
                _place(core, conn, src, dst, overwrite, move=True)
            except SFTPStatusError as again:
                raise core.error(conn, again, "move", dst) from again

    core.call("move", dst, run)
