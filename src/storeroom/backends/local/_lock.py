"""Folder locks of the local backend: ``flock`` on a fresh descriptor of the folder.

A conditional write or delete holds its folder's lock exclusively from the
etag check to the rename or unlink; every other write, delete and move holds
it shared around the moment it changes a name. So no storeroom writer, in
this process or another, changes a name between a conditional check and its
publish (spec COND-041). Each lock opens the folder afresh: an open file
description of its own, so threads and forked children exclude each other too.
"""

from __future__ import annotations

import errno
import fcntl
import os

from storeroom.backends.local._fdpath import DIR_FLAGS
from storeroom.backends.local.errors import BACKEND
from storeroom.errors import CapabilityNotSupported

__all__ = ["lock_folder", "unlock"]

#: flock is not offered here (some network filesystems).
_NO_FLOCK = frozenset(
    getattr(errno, n)
    for n in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EINVAL")
    if hasattr(errno, n)
)


def lock_folder(folder_fd: int, *, exclusive: bool) -> int:
    """Lock the folder open as ``folder_fd``; returns the lock's descriptor (-1: none).

    A shared lock on a filesystem without ``flock`` is skipped (the plain
    write goes on); an exclusive one raises ``CapabilityNotSupported``.
    """
    fd = os.open(".", DIR_FLAGS, dir_fd=folder_fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    except OSError as exc:
        os.close(fd)
        if exc.errno not in _NO_FLOCK:
            raise
        if not exclusive:
            return -1
        raise CapabilityNotSupported(
            "this filesystem offers no flock, which conditional writes need",
            capability="conditional_write",
            backend=BACKEND,
            hint="keep files you update with if_match on a local filesystem (ext4, xfs, tmpfs)",
        ) from exc
    except BaseException:
        os.close(fd)
        raise
    return fd


def unlock(lock_fd: int) -> None:
    """Release a lock from ``lock_folder`` (closing its descriptor releases it)."""
    if lock_fd >= 0:
        os.close(lock_fd)
