"""The small core every role of the ``sftp`` backend shares: options, pool, paths, errors.

Reads (``_read``), writes and moves (``_write``), removals (``_delete``) and
listings (``_list``) all work through one ``SFTPCore`` (never through
``SFTPBackend``'s members): the server path of a key, a pooled call with its
failure mapped through ``errors.TABLE.map``, a stat of a key, and the sweep of
temporary files left by dropped connections (spec SFTP-090).
"""

from __future__ import annotations

import stat as st_
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import paramiko

from storeroom._sources import is_user_error
from storeroom.backend import Entry
from storeroom.backends.sftp._conn import Conn, Pool
from storeroom.backends.sftp.config import SFTPOptions
from storeroom.backends.sftp.errors import (
    FX_FAILURE,
    FX_NO_SUCH_FILE,
    TABLE,
    Found,
    SFTPStatusError,
)
from storeroom.errors import StoreroomError
from storeroom.models import FileInfo, FolderEntry

__all__ = ["IFDIR", "IFMT", "IFREG", "SFTPCore", "entry"]

T = TypeVar("T")
IFMT = 0o170000
IFDIR = st_.S_IFDIR
IFREG = st_.S_IFREG


def entry(key: str, attrs: paramiko.SFTPAttributes) -> Entry:
    """The ``FileInfo`` or ``FolderEntry`` of ``key`` from its SFTP attributes."""
    name = key.rpartition("/")[2]
    if (attrs.st_mode or 0) & IFMT == IFDIR:
        return FolderEntry._fast(key, name)
    mtime = datetime.fromtimestamp(attrs.st_mtime or 0, UTC)
    return FileInfo._fast(key, name, attrs.st_size or 0, mtime)


class SFTPCore:
    """Options, ``base_path``, the connection pool and the orphaned temporaries of one backend."""

    __slots__ = ("options", "orphans", "pool", "root")

    def __init__(self, options: SFTPOptions) -> None:
        self.options = options
        self.root = options.root()
        self.pool = Pool(options)
        #: Temporary files of writes whose connection dropped, removed by the next call.
        self.orphans: list[str] = []

    def path(self, key: str) -> str:
        """The server path of ``key``: below ``base_path``, never absolute on its own."""
        if not key:
            return self.root or "."
        return f"{self.root}/{key}" if self.root else key

    def found(self, conn: Conn, key: str) -> Found:
        """What ``key`` is on the server: a file, a folder, something else, or missing."""
        try:
            mode = conn.sftp.stat(self.path(key)).st_mode or 0
        except SFTPStatusError as exc:
            if exc.code == FX_NO_SUCH_FILE:
                return "missing"
            raise
        kind = mode & IFMT
        return "folder" if kind == IFDIR else "file" if kind == IFREG else "other"

    def error(self, conn: Conn | None, exc: BaseException, op: str, key: str) -> StoreroomError:
        """Map ``exc``; a bare SSH_FX_FAILURE is explained by a stat of ``key``."""
        if is_user_error(exc) or isinstance(exc, StoreroomError):
            return exc  # type: ignore[return-value]
        lost = conn is not None and not conn.alive()
        bare = isinstance(exc, SFTPStatusError) and exc.code == FX_FAILURE
        if conn is not None and not lost and bare:
            try:
                err = TABLE.map(exc, key, operation=op, found=self.found(conn, key))
            except Exception as follow_up:
                err = TABLE.map(follow_up, key, operation=op)
        else:
            err = TABLE.map(exc, key, operation=op, lost=lost)
        err.__cause__ = exc
        return err

    def call(self, op: str, key: str, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` on a pooled connection, mapping failures for ``key``."""
        conn, result = self.hold(op, key, fn)
        self.pool.release(conn)
        return result

    def hold(self, op: str, key: str, fn: Callable[[Conn], T]) -> tuple[Conn, T]:
        """Like ``call`` but keeps the connection (the caller releases it)."""

        def guarded(conn: Conn) -> T:
            if self.orphans:
                self.sweep(conn)
            try:
                return fn(conn)
            except StoreroomError:
                raise
            except SFTPStatusError as exc:
                raise self.error(conn, exc, op, key) from exc
            except Exception as exc:
                if conn.alive():
                    raise  # mapped below, after the pool has seen it
                raise self.error(conn, exc, op, key) from exc

        try:
            return self.pool.start(guarded)
        except StoreroomError:
            raise
        except Exception as exc:
            raise self.error(None, exc, op, key) from exc

    def sweep(self, conn: Conn) -> None:
        """Remove temporary files left by writes whose connection dropped (SFTP-040).

        The server keeps a half-written temporary file when the connection dies;
        the next working connection removes it. A removal that fails on a dead
        connection is tried again later; any other failure is given up.
        """
        while self.orphans:
            try:
                tmp = self.orphans.pop()
            except IndexError:
                return
            try:
                conn.sftp.remove(self.path(tmp))
            except Exception:
                if not conn.alive():
                    self.orphans.append(tmp)
                    return

    def quiet_remove(self, conn: Conn, key: str) -> None:
        """Remove file ``key``, ignoring any failure (cleanup after another error)."""
        try:
            conn.sftp.remove(self.path(key))
        except Exception:
            pass

    def ping(self) -> None:
        """One request: the server answers and the login works."""
        self.call("ping", "", lambda c: c.sftp.normalize("."))

    def close(self) -> None:
        """Close idle connections; the pool reconnects lazily when used again."""
        self.pool.close()
