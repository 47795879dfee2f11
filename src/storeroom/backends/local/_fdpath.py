"""Descriptor-relative path resolution that never follows a symbolic link.

Every path of the local backend is resolved below a descriptor held on the
root, one syscall per lookup where Linux has ``openat2`` (resolution flags
``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS``, called through ``ctypes``), else
by opening one folder at a time with ``O_NOFOLLOW`` relative to the previous
one. Either way a symlink anywhere on the path fails with ``ELOOP`` and no
lookup can climb above the root, whatever another process renames meanwhile:
there is no check that a later call could invalidate.

``rename_noreplace`` is ``renameat2(RENAME_NOREPLACE)`` where the kernel and
filesystem have it, else a hard link plus unlink that undoes its link when it
loses the race for the source, so exactly one of racing moves succeeds.
``replace`` puts a finished temporary file in place of an existing one.
"""

from __future__ import annotations

import errno
import os
import platform
import stat as st_
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "CLOEXEC",
    "DIR_FLAGS",
    "NOFOLLOW",
    "check_fd_support",
    "open_beneath",
    "probe",
    "rename_noreplace",
    "replace",
]

CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | NOFOLLOW | CLOEXEC

_O_PATH = getattr(os, "O_PATH", 0)
# What os.fsencode does, without its call overhead on the hot paths.
_FS_ENC, _FS_ERR = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
_NOT_THERE = frozenset((errno.ENOTDIR, errno.ELOOP, errno.EXDEV))
_RESOLVE = 0x04 | 0x08  # RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH
_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437}
_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276}
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
# Answers meaning "this kernel, sandbox or filesystem does not have the call".
_NO_CALL = frozenset(
    getattr(errno, n)
    for n in ("ENOSYS", "EPERM", "EINVAL", "ENOTSUP", "EOPNOTSUPP")
    if hasattr(errno, n)
)
_NO_LINK = frozenset(
    getattr(errno, n) for n in ("EXDEV", "ENOTSUP", "EOPNOTSUPP", "EMLINK") if hasattr(errno, n)
)

#: (dirfd, path, flags) -> fd, or -errno; ``None`` when openat2 is not usable here.
_openat2: Callable[[int, bytes, int], int] | None = None
#: (olddirfd, old, newdirfd, new, flags) -> 0, or -errno; ``None`` without renameat2.
_renameat2: Callable[[int, bytes, int, bytes, int], int] | None = None
_probed = False


def _bind() -> tuple[Any, Any]:
    """ctypes bindings of the raw ``syscall`` entry for openat2 and renameat2 (or ``None``).

    Both return the kernel's answer (-errno on failure) instead of raising:
    a miss is common and an exception costs more than the call.
    """
    import ctypes  # imported lazily: most programs never need it

    machine = platform.machine().lower()
    if not hasattr(os, "O_PATH") or machine not in _OPENAT2:
        return None, None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        o2 = libc["syscall"]  # a fresh function object each time: argtypes stay private
        r2 = libc["syscall"]
    except (OSError, AttributeError):
        return None, None
    # No argtypes: converting by declared types costs more than the call on a
    # fast path. Python ints go out as C ints, which libffi widens to the full
    # register (sign-extended) on x86_64 and aarch64, as syscall() reads them.
    o2.restype = r2.restype = ctypes.c_long

    class OpenHow(ctypes.Structure):
        _fields_ = (
            ("flags", ctypes.c_uint64),
            ("mode", ctypes.c_uint64),
            ("resolve", ctypes.c_uint64),
        )

    hows: dict[int, Any] = {}  # flags -> pointer to its struct (which it keeps alive)
    nr_open, nr_rename = _OPENAT2[machine], _RENAMEAT2[machine]
    get_errno = ctypes.get_errno

    def openat2(dirfd: int, path: bytes, flags: int) -> int:
        how = hows.get(flags)
        if how is None:  # never O_CREAT here, so the mode is 0 (openat2 insists)
            how = hows[flags] = ctypes.pointer(OpenHow(flags, 0, _RESOLVE))
        fd: int = o2(nr_open, dirfd, path, how, 24)
        return fd if fd >= 0 else -get_errno()

    def renameat2(olddir: int, old: bytes, newdir: int, new: bytes, flags: int) -> int:
        res: int = r2(nr_rename, olddir, old, newdir, new, flags)
        return res if res >= 0 else -get_errno()

    return openat2, renameat2


def _raise(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def check_fd_support(root_fd: int) -> None:
    """Find out once whether ``openat2`` works here (a sandbox may refuse it)."""
    global _openat2, _renameat2, _probed
    if _probed:
        return
    o2, r2 = _bind()
    if o2 is not None:
        fd = o2(root_fd, b".", os.O_PATH | CLOEXEC)
        if fd >= 0:
            os.close(fd)
        elif -fd in _NO_CALL:
            o2 = None
        else:
            raise _raise(-fd)
    _openat2, _renameat2, _probed = o2, r2, True


def _walk_error(exc: OSError, fd: int, name: str) -> OSError:
    """``ELOOP`` when ``name`` below ``fd`` is a symlink (``O_DIRECTORY`` says ``ENOTDIR``)."""
    if exc.errno == errno.ENOTDIR:
        try:
            if st_.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode):
                return OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        except OSError:
            pass
    return exc


def open_beneath(root_fd: int, rel: str, flags: int) -> int:
    """Open ``rel`` (a normalised key, not empty) below ``root_fd`` without following links.

    Never creates: files are created with ``dir_fd=`` relative to their folder.

    Raises ``OSError``: ``ELOOP`` when the path meets a symlink, ``ENOENT`` /
    ``ENOTDIR`` when a part is missing or a file.
    """
    o2 = _openat2
    if o2 is not None:
        # RESOLVE_NO_SYMLINKS makes a trailing link ELOOP too (O_NOFOLLOW would turn
        # that into ENOTDIR for folders).
        fd = o2(root_fd, rel.encode(_FS_ENC, _FS_ERR), (flags & ~NOFOLLOW) | CLOEXEC)
        if fd < 0:
            raise _raise(-fd)
        return fd
    flags |= NOFOLLOW | CLOEXEC
    parts = rel.split("/")
    fd = root_fd
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise _walk_error(exc, fd, part) from None
            if fd != root_fd:
                os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], flags, dir_fd=fd)
        except OSError as exc:
            raise (_walk_error(exc, fd, parts[-1]) if flags & _O_DIRECTORY else exc) from None
    finally:
        if fd != root_fd:
            os.close(fd)


def probe(root_fd: int, rel: str) -> int:
    """Is ``rel`` a file or folder below ``root_fd``, reached without any symlink?

    1: yes; 0: no, the path meets a symlink or a file; -1: nothing there.
    """
    o2 = _openat2
    if o2 is not None:  # a trailing symlink is ELOOP too: O_NOFOLLOW is left out
        fd = o2(root_fd, rel.encode(_FS_ENC, _FS_ERR), _O_PATH | CLOEXEC)
        if fd >= 0:
            os.close(fd)
            return 1
        if -fd == errno.ENOENT:
            return -1
        if -fd in _NOT_THERE:
            return 0
        raise _raise(-fd)
    try:
        parent, _, name = rel.rpartition("/")
        fd = open_beneath(root_fd, parent, DIR_FLAGS) if parent else root_fd
        try:
            return 0 if st_.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode) else 1
        finally:
            if fd != root_fd:
                os.close(fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return -1
        if exc.errno in _NOT_THERE:
            return 0
        raise


def rename_noreplace(old_fd: int, old: str, new_fd: int, new: str) -> None:
    """Rename ``old`` to ``new`` (names below two folder descriptors) unless ``new`` exists.

    ``FileExistsError`` when taken. Without ``renameat2``: hard link, then
    unlink the source; losing the source to a racing move removes the link
    again, so the source ends up under exactly one name.
    """
    r2 = _renameat2
    if r2 is not None:
        res = r2(old_fd, os.fsencode(old), new_fd, os.fsencode(new), _RENAME_NOREPLACE)
        if res == 0:
            return
        if -res == errno.EEXIST:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST))
        if -res not in _NO_CALL:
            raise _raise(-res)
    os.link(old, new, src_dir_fd=old_fd, dst_dir_fd=new_fd, follow_symlinks=False)
    try:
        os.unlink(old, dir_fd=old_fd)
    except BaseException:
        try:
            os.unlink(new, dir_fd=new_fd)
        except OSError:
            pass
        raise


def replace(fd: int, tmp: str, name: str) -> None:
    """Put the complete file ``tmp`` in place of ``name`` (both in folder ``fd``).

    Where the filesystem can, the two names are exchanged
    (``renameat2(RENAME_EXCHANGE)``) and the old file, now under the
    temporary name, is unlinked: on ext4 a rename over an existing file forces
    the new data to disk at once (``auto_da_alloc``), which made overwrites
    about twice as slow as ``open(p, "wb")``. Readers see the old or the new
    file either way. If ``name`` turned out to be a folder, the exchange is
    undone and ``IsADirectoryError`` raised. Otherwise a plain ``renameat``.
    """
    r2 = _renameat2
    if r2 is not None:
        btmp, bname = os.fsencode(tmp), os.fsencode(name)
        res = r2(fd, btmp, fd, bname, _RENAME_EXCHANGE)
        if res == 0:
            try:
                os.unlink(tmp, dir_fd=fd)
            except IsADirectoryError:
                r2(fd, btmp, fd, bname, _RENAME_EXCHANGE)  # a folder raced in: put it back
                raise
            except OSError:
                pass  # the new file is in place; the old one waits as a stale temporary
            return
        if -res != errno.ENOENT and -res not in _NO_CALL:
            raise _raise(-res)
    os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)


def no_link(exc: OSError) -> bool:
    """True when ``exc`` means "no hard link or rename across these folders here"."""
    return exc.errno in _NO_LINK
