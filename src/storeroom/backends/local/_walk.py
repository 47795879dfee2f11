# ruff: noqa: PTH116
# os-level calls are deliberate here: pathlib objects cost too much per entry.
"""Streaming, sorted, depth-first listing of a local folder tree.

One folder is read at a time with ``os.scandir``; only its names are kept
(a folder's name carries a trailing ``/``, so a plain string sort gives
:func:`storeroom.backend.entry_sort_key` order). Memory grows with the
largest single folder and the depth, never with the total count. Files are
``lstat``-ed relative to an open folder descriptor where the platform
allows, which saves the kernel a path walk per entry. Temporary files are
hidden; symlinks are listed only when they lead inside the root, and a
recursive listing never descends into a symlinked folder.
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
    hasattr(os, "O_DIRECTORY")
    and os.lstat in os.supports_dir_fd
    and os.scandir in os.supports_fd
    and os.open in os.supports_dir_fd
)
_DIR_OPEN = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | CLOEXEC

#: Checks a symlink: returns its real path, or raises InvalidPath outside the root.
InsideReal = Callable[[str, str], str]
_Frame = tuple[list[str], int, int | None, str, str, str, dict[str, str] | None]


def _open(name: str, parent: int | None, key: str) -> int | None:
    """Descriptor of folder ``name`` (relative to ``parent``); ``None`` if it vanished."""
    try:
        return os.open(name, _DIR_OPEN, dir_fd=parent)
    except OSError as exc:
        if exc.errno in _MISSING or exc.errno == errno.ELOOP:
            return None
        raise map_os_error(exc, key, operation="list") from exc


def _scan(
    folder: str, fd: int | None, key: str, inside_real: InsideReal
) -> tuple[list[str], dict[str, str] | None]:
    """Sorted names of a folder (folders end in ``/``) and the real paths of its symlinks."""
    names: list[str] = []
    links: dict[str, str] | None = None
    try:
        with os.scandir(folder if fd is None else fd) as it:
            for e in it:
                name = e.name
                if name[0] == "." and is_temp_name(name):
                    continue
                try:
                    if e.is_symlink():
                        try:
                            real = inside_real(f"{folder}/{name}", key)
                        except InvalidPath:
                            continue  # leads outside the root: not part of the store
                        is_dir = os.stat(real).st_mode & _IFMT == _IFDIR
                        if links is None:
                            links = {}
                        links[name] = real
                    else:
                        is_dir = e.is_dir(follow_symlinks=False)
                except OSError:
                    continue  # vanished meanwhile, or a broken link
                names.append(name + "/" if is_dir else name)
    except OSError as exc:
        if exc.errno in _MISSING:
            return [], None
        raise map_os_error(exc, key, operation="list") from exc
    names.sort()
    return names, links


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
        names, links = _scan(folder, fd, key, inside_real)
        i = 0
        rel = rel + "/" if rel else ""
        while True:
            count = len(names)
            while i < count:
                name = names[i]
                if name[-1] != "/":
                    i, batch = _files(names, i, fd, folder, key, rel, links)
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
                stack.append((names, i, fd, folder, key, rel, links))
                fd, folder, key, rel = sub, f"{folder}/{name}", sub_key, f"{rel}{name}/"
                names, links = _scan(folder, fd, key, inside_real)
                i = 0
                count = len(names)
            if fd is not None:
                os.close(fd)
                fd = None
            if not stack:
                return
            names, i, fd, folder, key, rel, links = stack.pop()
    finally:
        if fd is not None:
            os.close(fd)
        for frame in stack:
            if frame[2] is not None:
                os.close(frame[2])


def _files(
    names: list[str],
    start: int,
    fd: int | None,
    folder: str,
    key: str,
    rel: str,
    links: dict[str, str] | None,
) -> tuple[int, list[FileInfo]]:
    """File entries for the run of file names at ``names[start:]``; returns where it stopped."""
    lstat = os.lstat
    from_ts = datetime.fromtimestamp
    new_file = FileInfo._fast
    pre = "" if fd is not None else folder + "/"
    batch: list[FileInfo] = []
    append = batch.append
    stop = min(len(names), start + _BATCH)
    i = start
    while i < stop:
        name = names[i]
        if name[-1] == "/":
            break
        i += 1
        try:
            if links is not None and name in links:
                st = os.stat(links[name])
            else:
                st = lstat(pre + name, dir_fd=fd)
        except OSError as exc:
            if exc.errno in _MISSING:
                continue  # deleted while we were listing
            where = f"{key}/{name}" if key else name
            raise map_os_error(exc, where, operation="list") from exc
        append(new_file(rel + name, name, st.st_size, from_ts(st.st_mtime, UTC)))
    return i, batch
