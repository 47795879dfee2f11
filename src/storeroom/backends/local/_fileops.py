# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""File-descriptor helpers of the local backend: fill, sync, temporary files, copy.

Helpers raise raw ``OSError``s; the backend maps them for the key at hand.
Temporary files live next to their target and are named
``.~storeroom-<12 hex>.tmp``; one a killed writer left behind is removed by
a later write or listing of its folder once it is stale (``STALE_AFTER``).
"""

from __future__ import annotations

import errno
import os
import random
import stat
import time
from collections.abc import Callable
from datetime import UTC, datetime

from storeroom._sources import mark_user_error
from storeroom.backend import COPY_CHUNK, Source
from storeroom.backends.local._fdpath import CLOEXEC, DIR_FLAGS, NOFOLLOW
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = [
    "NEW_FILE",
    "STALE_AFTER",
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "Fill",
    "close_filled",
    "copy_fd",
    "is_stale_temp",
    "is_temp_name",
    "local_etag",
    "make_temp",
    "quiet_unlink",
    "result",
    "source_filler",
    "sweep_stale",
    "sync_fd",
]

TEMP_PREFIX = ".~storeroom-"
TEMP_SUFFIX = ".tmp"
_HEX_DIGITS = 12
_TEMP_LEN = len(TEMP_PREFIX) + _HEX_DIGITS + len(TEMP_SUFFIX)
_HEX = frozenset("0123456789abcdef")
#: A temporary file untouched this long (seconds) was left by a writer that died.
STALE_AFTER = 3600.0
NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | CLOEXEC | NOFOLLOW
_NO_DIR_SYNC = frozenset(
    getattr(errno, n) for n in ("EINVAL", "ENOTSUP", "EOPNOTSUPP", "EBADF") if hasattr(errno, n)
)
_NO_KERNEL_COPY = frozenset(
    getattr(errno, n)
    for n in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "ENOTSUP", "EBADF", "EPERM")
    if hasattr(errno, n)
)

#: Writes content into an open file descriptor and returns the number of bytes.
Fill = Callable[[int], int]


def is_temp_name(name: str) -> bool:
    """True for exactly the backend's temporary names, ``.~storeroom-<12 hex>.tmp``.

    Listings hide these; a name that merely looks similar is a user file.
    """
    return (
        len(name) == _TEMP_LEN
        and name.startswith(TEMP_PREFIX)
        and name.endswith(TEMP_SUFFIX)
        and _HEX.issuperset(name[len(TEMP_PREFIX) : -len(TEMP_SUFFIX)])
    )


def is_stale_temp(st: os.stat_result, now: float) -> bool:
    """True for a regular temporary file nobody has written to for ``STALE_AFTER`` seconds."""
    return stat.S_ISREG(st.st_mode) and st.st_mtime < now - STALE_AFTER


def sweep_stale(folder_fd: int) -> None:
    """Remove the stale temporary files of the folder open as ``folder_fd`` (best effort).

    The folder is read through a descriptor of its own: a shared one would
    share its read position with other threads.
    """
    now = time.time()
    try:
        fd = os.open(".", DIR_FLAGS, dir_fd=folder_fd)
        try:
            with os.scandir(fd) as it:
                names = [e.name for e in it if e.name[0] == "." and is_temp_name(e.name)]
            for name in names:
                if is_stale_temp(os.stat(name, dir_fd=fd, follow_symlinks=False), now):
                    os.unlink(name, dir_fd=fd)
        finally:
            os.close(fd)
    except OSError:
        pass  # housekeeping only: a later write or listing tries again


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
    """A ``Fill`` for ``src``: bytes in one write call, a stream in 1 MiB blocks.

    An exception raised by the stream itself is marked as the caller's own,
    so it propagates unchanged instead of being reported as a disk failure.
    """
    if isinstance(src, bytes | bytearray | memoryview):
        data = src if isinstance(src, bytes) else memoryview(src).cast("B")
        return lambda fd: write_all(fd, data)

    def fill(fd: int) -> int:
        read = src.read
        size = 0
        while True:
            try:
                block = read(COPY_CHUNK)
            except Exception as exc:
                mark_user_error(exc)
                raise
            if not block:
                return size
            size += write_all(fd, block)

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
    fd: int, fill: Fill, *, sync: bool, mode: int | None
) -> tuple[int, os.stat_result]:
    """Run ``fill`` on ``fd``, optionally chmod and fsync, and close it (also on failure).

    Returns the size written and the file's stat. Raw ``OSError``s propagate.
    """
    try:
        size = fill(fd)
        if mode is not None:
            os.fchmod(fd, mode)  # keep the replaced file's permissions
        if sync:
            os.fsync(fd)
        st = os.fstat(fd)
    except BaseException:
        try:
            os.close(fd)
        except OSError:
            pass
        raise
    os.close(fd)
    return size, st


def make_temp(folder_fd: int) -> tuple[str, int]:
    """Create a fresh temporary file in the folder open as ``folder_fd``: (name, descriptor)."""
    for _ in range(8):
        name = f"{TEMP_PREFIX}{random.getrandbits(48):012x}{TEMP_SUFFIX}"
        try:
            return name, os.open(name, NEW_FILE, 0o666, dir_fd=folder_fd)
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name")


def sync_fd(fd: int) -> None:
    """``fsync`` a folder descriptor so that a rename or link made in it survives a crash."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIR_SYNC:
            raise


def quiet_unlink(name: str, folder_fd: int) -> None:
    """Remove ``name`` if possible; used only to clean up after another failure."""
    try:
        os.unlink(name, dir_fd=folder_fd)
    except OSError:
        pass


def local_etag(st: os.stat_result) -> str:
    """A file's etag: inode, mtime (ns) and size in hex; a rename keeps all three."""
    return "%x-%x-%x" % (st.st_ino, st.st_mtime_ns, st.st_size)  # noqa: UP031 - the fastest


def result(key: str, size: int, st: os.stat_result) -> WriteResult:
    """The ``WriteResult`` of a local write (``st``: the new file's stat)."""
    return WriteResult(
        RemotePath._trusted(key),
        size,
        etag=local_etag(st),
        last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
    )
