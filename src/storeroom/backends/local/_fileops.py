# ruff: noqa: PTH108
# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""File-descriptor helpers of the local backend: fill, sync, temp files, copy, rmtree.

Every helper that can fail on the filesystem raises a storeroom error for
the given key, with the ``OSError`` as ``__cause__``.
"""

from __future__ import annotations

import errno
import os
import random
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from storeroom.backend import COPY_CHUNK, Source
from storeroom.backends.local.errors import BACKEND, map_os_error
from storeroom.errors import StoreroomError
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = [
    "CLOEXEC",
    "NEW_FILE",
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "Fill",
    "close_filled",
    "copy_fd",
    "in_place_filler",
    "is_temp_name",
    "make_temp",
    "quiet_unlink",
    "result",
    "rmtree",
    "source_filler",
    "sync_dir",
]

TEMP_PREFIX = ".~storeroom-"
TEMP_SUFFIX = ".tmp"
CLOEXEC = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | CLOEXEC
_DIR_FLAGS: int | None = getattr(os, "O_DIRECTORY", None)
_NO_DIR_SYNC = frozenset(
    getattr(errno, n) for n in ("EINVAL", "ENOTSUP", "EOPNOTSUPP") if hasattr(errno, n)
)
_NO_KERNEL_COPY = frozenset(
    getattr(errno, n)
    for n in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "ENOTSUP", "EBADF", "EPERM")
    if hasattr(errno, n)
)

_fallocate = getattr(os, "posix_fallocate", None)
_NO_FALLOCATE = frozenset(
    getattr(errno, n) for n in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "ENODEV") if hasattr(errno, n)
)

#: Writes content into an open file descriptor and returns the number of bytes.
Fill = Callable[[int], int]


def is_temp_name(name: str) -> bool:
    """True for the names of the backend's temporary files (hidden from listings)."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> int:
    """Write all of ``data`` to ``fd`` (a regular file rarely writes short, but may)."""
    total = len(data)
    done = os.write(fd, data)
    if done < total:
        view = memoryview(data)
        while done < total:
            done += os.write(fd, view[done:])
    return total


def source_filler(src: Source) -> Fill:
    """A ``Fill`` for ``src``: bytes in one write call, a stream in 1 MiB blocks."""
    if isinstance(src, bytes | bytearray | memoryview):
        data = src if isinstance(src, bytes) else memoryview(src).cast("B")
        return lambda fd: write_all(fd, data)

    def fill(fd: int) -> int:
        read = src.read
        size = 0
        while block := read(COPY_CHUNK):
            size += write_all(fd, block)
        return size

    return fill


def in_place_filler(data: bytes | bytearray | memoryview, old_size: int) -> Fill:
    """A ``Fill`` rewriting an open existing file of ``old_size`` bytes with ``data``.

    Growth is reserved first with ``posix_fallocate`` where supported, so a
    full disk is reported before any old byte is touched.
    """

    if not isinstance(data, bytes):
        data = memoryview(data).cast("B")

    def fill(fd: int) -> int:
        size = len(data)
        if size > old_size and _fallocate is not None:
            try:
                _fallocate(fd, old_size, size - old_size)
            except OSError as exc:
                if exc.errno not in _NO_FALLOCATE:
                    raise
        write_all(fd, data)
        if old_size > size:
            os.ftruncate(fd, size)
        return size

    return fill


def copy_fd(src: int, dst: int) -> int:
    """Copy ``src`` to ``dst`` from their current offsets, kernel-side where possible."""
    total = 0
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is not None:
        try:
            while n := copy_range(src, dst, 8 * COPY_CHUNK):
                total += n
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
    # Fallback, and a final check that EOF really was reached.
    while block := os.read(src, COPY_CHUNK):
        total += write_all(dst, block)
    return total


def close_filled(
    fd: int, fill: Fill, key: str, *, sync: bool, mode: int | None
) -> tuple[int, float]:
    """Run ``fill`` on ``fd``, optionally chmod and fsync, and close it (also on failure).

    Returns the size written and the file's mtime.
    """
    try:
        size = fill(fd)
        if sync:
            os.fsync(fd)
        st = os.fstat(fd)
        if mode is not None and mode != st.st_mode & 0o7777:
            os.fchmod(fd, mode)  # keep the replaced file's permissions
        mtime = st.st_mtime
    except BaseException as exc:
        try:
            os.close(fd)
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, StoreroomError):
            raise map_os_error(exc, key, operation="write") from exc
        raise
    try:
        os.close(fd)
    except OSError as exc:
        raise map_os_error(exc, key, operation="write") from exc
    return size, mtime


def make_temp(folder: str, key: str) -> tuple[str, int]:
    """Create a fresh temporary file in ``folder``; returns its path and an open descriptor."""
    for _ in range(8):
        path = f"{folder}/{TEMP_PREFIX}{random.getrandbits(48):012x}{TEMP_SUFFIX}"
        try:
            return path, os.open(path, NEW_FILE, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise map_os_error(exc, key, operation="write") from exc
    raise StoreroomError("could not create a temporary file", path=key, backend=BACKEND)


def sync_dir(folder: str, key: str) -> None:
    """``fsync`` a folder so that a rename or link made in it survives a crash."""
    if _DIR_FLAGS is None:  # pragma: no cover - no directory fsync on Windows
        return
    try:
        fd = os.open(folder or "/", os.O_RDONLY | _DIR_FLAGS | CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIR_SYNC:
            raise map_os_error(exc, key, operation="write") from exc


def quiet_unlink(path: str) -> None:
    """Remove ``path`` if possible; used only to clean up after another failure."""
    try:
        os.unlink(path)
    except OSError:
        pass


def result(key: str, size: int, mtime: float) -> WriteResult:
    """The ``WriteResult`` of a local write."""
    return WriteResult(
        RemotePath._trusted(key), size, last_modified=datetime.fromtimestamp(mtime, UTC)
    )


def rmtree(path: str) -> None:
    """``shutil.rmtree`` (which never follows symlinks) tolerating entries that vanish."""

    def onexc(func: object, p: str, exc: BaseException) -> None:
        if not isinstance(exc, FileNotFoundError):
            raise exc

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=onexc)
    else:
        shutil.rmtree(path, onerror=lambda func, p, info: onexc(func, p, info[1]))
