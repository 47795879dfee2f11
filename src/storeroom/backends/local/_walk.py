# ruff: noqa: PTH116
# os-level calls are deliberate here: pathlib objects cost too much per entry.
"""Streaming, sorted, depth-first listing of a local folder tree.

One folder is read at a time with ``os.scandir``, opened from a folder
descriptor where the platform allows (each file's ``stat`` is then relative
to it, sparing the kernel a path walk). Of each entry only a small row
``(name, size, mtime)`` is kept; a folder's name carries a trailing ``/`` so
that sorting the rows gives ``storeroom.backend.entry_sort_key`` order.
Memory grows with the largest single folder and the depth, never with the
total count. Temporary files are hidden; symlinks are listed only when they
lead inside the root, and a recursive listing never enters a symlinked folder.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from storeroom.backend import Entry
from storeroom.backends.local._fileops import CLOEXEC, is_temp_name
from storeroom.backends.local.errors import map_os_error
from storeroom.errors import InvalidPath
from storeroom.models import FileInfo, FolderEntry

__all__ = ["walk"]

_IFMT = 0o170000
_IFDIR = 0o040000
_MISSING = frozenset((errno.ENOENT, errno.ENOTDIR))
_BATCH = 256
_USE_FD = (
    hasattr(os, "O_DIRECTORY") and os.scandir in os.supports_fd and os.open in os.supports_dir_fd
)
_DIR_OPEN = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | CLOEXEC

#: Checks a symlink: returns its real path, or raises InvalidPath outside the root.
InsideReal = Callable[[str, str], str]
Rows = list[tuple[str, int, float]]
Links = set[str] | None
_Frame = tuple[Rows, int, int | None, str, str, str, Links]


def _open(name: str, parent: int | None, key: str) -> int | None:
    """Descriptor of folder ``name`` (relative to ``parent``); ``None`` if it vanished."""
    try:
        return os.open(name, _DIR_OPEN, dir_fd=parent)
    except OSError as exc:
        if exc.errno in _MISSING or exc.errno == errno.ELOOP:
            return None
        raise map_os_error(exc, key, operation="list") from exc


def _scan(folder: str, fd: int | None, key: str, inside_real: InsideReal) -> tuple[Rows, Links]:
    """One folder's rows ``(name, size, mtime)``, sorted; a folder's name ends in ``/``.

    Files are stat-ed here, through the open ``DirEntry`` (relative to the
    folder's descriptor). Symlinks are resolved and kept only inside the root;
    the names of symlinked folders are returned so the walk does not enter them.
    """
    rows: Rows = []
    append = rows.append
    links: Links = None
    try:
        with os.scandir(folder if fd is None else fd) as it:
            for e in it:
                name = e.name
                if name[0] == "." and is_temp_name(name):
                    continue
                try:
                    if e.is_symlink():
                        try:
                            st = os.stat(inside_real(f"{folder}/{name}", key))
                        except InvalidPath:
                            continue  # leads outside the root: not part of the store
                        if links is None:
                            links = set()
                        links.add(name)
                        if st.st_mode & _IFMT == _IFDIR:
                            append((name + "/", 0, 0.0))
                            continue
                    elif e.is_dir(follow_symlinks=False):
                        append((name + "/", 0, 0.0))
                        continue
                    else:
                        st = e.stat(follow_symlinks=False)
                except OSError as exc:
                    if exc.errno in _MISSING or e.is_symlink():
                        continue  # vanished meanwhile, or a broken link
                    where = f"{key}/{name}" if key else name
                    raise map_os_error(exc, where, operation="list") from exc
                append((name, st.st_size, st.st_mtime))
    except OSError as exc:
        if exc.errno in _MISSING:
            return [], None
        raise map_os_error(exc, key, operation="list") from exc
    rows.sort()
    return rows, links


def walk(
    folder: str, key: str, rel: str, recursive: bool, inside_real: InsideReal
) -> Iterator[Entry]:
    """Entries below real folder ``folder`` (backend key ``key``), paths prefixed by ``rel``.

    Runs of files are built in batches of up to ``_BATCH`` entries (a tight
    loop is much cheaper than resuming the generator for each file).
    """
    fd = _open(folder, None, key) if _USE_FD else None
    if _USE_FD and fd is None:
        return
    stack: list[_Frame] = []
    try:
        rows, links = _scan(folder, fd, key, inside_real)
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
                if not recursive or (links is not None and name in links):
                    continue
                sub_key = f"{key}/{name}" if key else name
                sub = _open(name, fd, sub_key) if fd is not None else None
                if fd is not None and sub is None:
                    continue
                stack.append((rows, i, fd, folder, key, rel, links))
                fd, folder, key, rel = sub, f"{folder}/{name}", sub_key, f"{rel}{name}/"
                rows, links = _scan(folder, fd, key, inside_real)
                i = 0
                count = len(rows)
            if fd is not None:
                os.close(fd)
                fd = None
            if not stack:
                return
            rows, i, fd, folder, key, rel, links = stack.pop()
    finally:
        if fd is not None:
            os.close(fd)
        for frame in stack:
            if frame[2] is not None:
                os.close(frame[2])


def _files(rows: Rows, start: int, rel: str) -> tuple[int, list[FileInfo]]:
    """File entries for the run of file rows from ``start``; returns where the run stopped."""
    new_file = FileInfo._fast
    from_ts = datetime.fromtimestamp
    stop = min(len(rows), start + _BATCH)
    batch: list[FileInfo] = []
    append = batch.append
    for i in range(start, stop):
        name, size, mtime = rows[i]
        if name[-1] == "/":
            return i, batch
        append(new_file(rel + name, name, size, from_ts(mtime, UTC)))
    return stop, batch
