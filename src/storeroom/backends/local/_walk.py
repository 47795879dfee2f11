# os-level calls are deliberate here: pathlib objects cost too much per entry.
"""Streaming, sorted, depth-first listing of a local folder tree, and its removal.

Each folder is opened afresh below the root descriptor when the walk reaches
it (never through a descriptor kept from its parent, which would follow the
folder if it were moved out of the root meanwhile), read completely with
``os.scandir`` into small rows ``(name, size, mtime, etag)`` and closed again; a
folder's name carries a trailing ``/`` so that sorting the rows gives
``storeroom.backend.entry_sort_key`` order. Memory grows with the largest
single folder and the depth, never with the total count. Symlinks are not
part of the store and are never listed or entered; temporary files are
hidden, and stale ones removed on the way.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter

from storeroom.backend import Entry
from storeroom.backends.local._fileops import is_stale_temp, is_temp_name
from storeroom.errors import StoreroomError
from storeroom.models import FileInfo, FolderEntry
from storeroom.path import listable

__all__ = ["OpenDir", "remove_tree", "walk"]

_MISSING = frozenset((errno.ENOENT, errno.ENOTDIR, errno.ELOOP))
_BATCH = 256
#: Sort rows by name alone: names are unique, and comparing strings directly is
#: about twice as fast as comparing the tuples.
_by_name = itemgetter(0)

#: Opens the folder of a backend key below the root: a new descriptor, raw ``OSError``s.
OpenDir = Callable[[str], int]
#: Maps an ``OSError`` met at a backend key to the error to raise.
Fail = Callable[[OSError, str], Exception]
Rows = list[tuple[str, int, float, str]]
_Frame = tuple[Rows, int, str, str]


def _join(key: str, name: str) -> str:
    return f"{key}/{name}" if key else name


def _scan(open_dir: OpenDir, key: str, fail: Fail) -> Rows:
    """One folder's rows ``(name, size, mtime, etag)``, sorted; a folder's name ends in ``/``.

    A folder that vanished or became a symlink meanwhile has no rows.
    """
    rows: Rows = []
    append = rows.append
    try:
        fd = open_dir(key)
    except OSError as exc:
        if exc.errno in _MISSING:
            return rows
        raise fail(exc, key) from exc
    now = 0.0
    try:
        with os.scandir(fd) as it:
            for e in it:
                name = e.name
                if ("\\" in name or not name.isascii()) and not listable(name, "local"):
                    continue  # a name no store path can spell (BACKEND-006)
                try:
                    # A regular file answers the first test from the directory entry
                    # itself; only other kinds need the two further ones.
                    if not e.is_file(follow_symlinks=False):
                        if e.is_dir(follow_symlinks=False):
                            if name[0] == "." and is_temp_name(name):
                                continue  # a transaction's staging folder (TXN-031)
                            append((name + "/", 0, 0.0, ""))
                            continue
                        if e.is_symlink():
                            continue  # never part of the store
                    st = e.stat(follow_symlinks=False)
                    if name[0] == "." and is_temp_name(name):
                        now = now or time.time()
                        if is_stale_temp(st, now):
                            try:
                                os.unlink(name, dir_fd=fd)
                            except OSError:
                                pass
                        continue
                except OSError as exc:
                    if exc.errno in _MISSING:
                        continue  # vanished meanwhile
                    raise fail(exc, _join(key, name)) from exc
                # local_etag's format, inlined: one call fewer per listed file
                tag = "%x-%x-%x" % (st.st_ino, st.st_mtime_ns, st.st_size)  # noqa: UP031
                append((name, st.st_size, st.st_mtime, tag))
    except StoreroomError:
        raise
    except OSError as exc:
        if exc.errno not in _MISSING:
            raise fail(exc, key) from exc
    finally:
        os.close(fd)
    rows.sort(key=_by_name)
    return rows


def walk(open_dir: OpenDir, key: str, rel: str, recursive: bool, fail: Fail) -> Iterator[Entry]:
    """Entries below folder ``key``, their paths prefixed by ``rel``.

    Runs of files are built in batches of up to ``_BATCH`` entries (a tight
    loop is much cheaper than resuming the generator for each file).
    """
    rows = _scan(open_dir, key, fail)
    stack: list[_Frame] = []
    i = 0
    rel = rel + "/" if rel else ""
    while True:
        count = len(rows)
        while i < count:
            name = rows[i][0]
            if name[-1] != "/":
                i, batch = _files(rows, i, rel)
                yield from batch
                continue
            i += 1
            name = name[:-1]
            yield FolderEntry._fast(rel + name, name)
            if not recursive:
                continue
            stack.append((rows, i, key, rel))
            key, rel = _join(key, name), f"{rel}{name}/"
            rows = _scan(open_dir, key, fail)
            i = 0
            count = len(rows)
        if not stack:
            return
        rows, i, key, rel = stack.pop()


def _files(rows: Rows, start: int, rel: str) -> tuple[int, list[FileInfo]]:
    """File entries for the run of file rows from ``start``; returns where the run stopped."""
    new_file = FileInfo._fast
    from_ts = datetime.fromtimestamp
    utc = UTC
    batch: list[FileInfo] = []
    append = batch.append
    for name, size, mtime, etag in islice(rows, start, start + _BATCH):
        if name[-1] == "/":
            break
        append(new_file(rel + name, name, size, from_ts(mtime, utc), etag))
    return start + len(batch), batch


def remove_tree(open_dir: OpenDir, key: str) -> None:
    """Remove the content of folder ``key`` (not empty), depth first, never following links.

    Every folder is opened afresh below the root; its files and symlinks are
    unlinked relative to that descriptor, its subfolders emptied the same way
    and removed with ``rmdir`` relative to it. A subfolder swapped for a
    symlink meanwhile fails to open as a folder and is unlinked as a link.
    """
    fd = open_dir(key)
    subfolders: list[str] = []
    try:
        with os.scandir(fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for name, is_dir in entries:
            if is_dir:
                subfolders.append(name)
                continue
            try:
                os.unlink(name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                subfolders.append(name)
    finally:
        os.close(fd)
    for name in subfolders:
        sub = _join(key, name)
        try:
            remove_tree(open_dir, sub)
        except OSError as exc:
            if exc.errno in (errno.ENOENT,):
                continue
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
        fd = open_dir(key)
        try:
            try:
                os.rmdir(name, dir_fd=fd)
            except NotADirectoryError:
                os.unlink(name, dir_fd=fd)  # became a symlink or a file: remove just that
            except FileNotFoundError:
                pass
        finally:
            os.close(fd)
