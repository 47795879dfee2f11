"""Listings of the ``sftp`` backend: one folder at a time, sorted, walked depth-first.

Every function works on the backend's ``SFTPCore`` (spec SFTP-051, SFTP-052, SFTP-090).
"""

from __future__ import annotations

from collections.abc import Iterator

import paramiko

from storeroom._store_support import TMP_PREFIX
from storeroom.backend import Entry, entry_sort_key
from storeroom.backends.sftp._conn import Conn
from storeroom.backends.sftp._core import IFDIR, IFMT, IFREG, SFTPCore, entry
from storeroom.backends.sftp.errors import BACKEND, FX_FAILURE, FX_NO_SUCH_FILE, SFTPStatusError
from storeroom.models import FolderEntry
from storeroom.path import listable

__all__ = ["scan", "walk"]


def scan(core: SFTPCore, key: str) -> list[Entry]:
    """The sorted entries of folder ``key`` (paths are keys); [] when not a folder."""

    def run(conn: Conn) -> list[paramiko.SFTPAttributes]:
        try:
            return conn.sftp.listdir_attr(core.path(key))
        except SFTPStatusError as exc:
            if exc.code in (FX_NO_SUCH_FILE, FX_FAILURE):
                return []
            raise

    out: list[Entry] = []
    for attrs in core.call("list", key, run):
        name = attrs.filename
        kind = (attrs.st_mode or 0) & IFMT
        if name.startswith(TMP_PREFIX) or kind not in (IFDIR, IFREG):
            continue  # unfinished writes, symlinks, devices: not part of the store
        path = f"{key}/{name}" if key else name
        if listable(path, BACKEND):  # a name with "\\" is no store path (BACKEND-006)
            out.append(entry(path, attrs))
    out.sort(key=entry_sort_key)
    return out


def walk(core: SFTPCore, prefix: str, recursive: bool, cut: int) -> Iterator[Entry]:
    """Entries of ``prefix`` with ``cut`` leading characters dropped; depth-first if recursive."""
    for item in scan(core, prefix):
        yield item._rebase(item.path[cut:]) if cut else item
        if recursive and isinstance(item, FolderEntry):
            yield from walk(core, item.path, True, cut)
