"""Removals of the ``sftp`` backend: one file, or a folder (empty, or everything below).

Every function works on the backend's ``SFTPCore`` (spec SFTP-050, SFTP-090).
"""

from __future__ import annotations

from storeroom.backends.sftp._conn import Conn
from storeroom.backends.sftp._core import SFTPCore
from storeroom.backends.sftp._io import rmtree
from storeroom.backends.sftp.errors import BACKEND, FX_FAILURE, TABLE, SFTPStatusError
from storeroom.errors import InvalidPath

__all__ = ["delete", "remove_folder"]


def delete(core: SFTPCore, key: str) -> None:
    """Remove one file; a folder is ``InvalidPath``."""
    core.call("delete", key, lambda c: c.sftp.remove(core.path(key)))


def remove_folder(core: SFTPCore, key: str, recursive: bool) -> None:
    """``rmdir``, or a depth-first removal of everything below with ``recursive``."""
    if not key:
        raise InvalidPath("refusing to remove the backend root", path=key, backend=BACKEND)

    def run(conn: Conn) -> None:
        found = core.found(conn, key)
        if found != "folder":
            # What rmdir would answer (a bare failure), explained by the stat.
            bare = SFTPStatusError(FX_FAILURE, "not a folder")
            raise TABLE.map(bare, key, operation="remove_folder", found=found)
        if recursive:
            rmtree(conn, core.path(key))
        else:
            conn.sftp.rmdir(core.path(key))

    core.call("remove_folder", key, run)
