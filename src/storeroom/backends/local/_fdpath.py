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
"""

from __future__ import annotations

import errno
import os
import platform
import stat as st_
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
]

CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
DIR_FLAGS = os.O_RDONLY | _O_DIRECTORY | NOFOLLOW | CLOEXEC

_O_PATH = getattr(os, "O_PATH", 0)
_NOT_THERE = frozenset((errno.ENOTDIR, errno.ELOOP, errno.EXDEV))
_RESOLVE = 0x04 | 0x08  # RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH
_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437}
_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "arm64": 276}
_RENAME_NOREPLACE = 1
# Answers meaning "this kernel, sandbox or filesystem does not have the call".
_NO_CALL = frozenset(
    getattr(errno, n)
    for n in ("ENOSYS", "EPERM", "EINVAL", "ENOTSUP", "EOPNOTSUPP")
    if hasattr(errno, n)
)
_NO_LINK = frozenset(
    getattr(errno, n) for n in ("EXDEV", "ENOTSUP", "EOPNOTSUPP", "EMLINK") if hasattr(errno, n)
)

#: (dirfd, path, flags, mode) -> fd; ``None`` until ``check_fd_support`` found openat2.
_openat2: Callable[[int, bytes, int, int], int] | None = None
#: (olddirfd, old, newdirfd, new) -> None; ``None`` without renameat2.
_renameat2: Callable[[int, bytes, int, bytes], None] | None = None
_probed = False


def _bind() -> tuple[Any, Any]:
    """ctypes bindings of the raw ``syscall`` entry for openat2 and renameat2 (or ``None``)."""
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
    size_t, long_, int_, char_p = ctypes.c_size_t, ctypes.c_long, ctypes.c_int, ctypes.c_char_p
    o2.argtypes = [long_, int_, char_p, ctypes.c_void_p, size_t]
    o2.restype = long_
    r2.argtypes = [long_, int_, char_p, int_, char_p, ctypes.c_uint]
    r2.restype = long_

    class OpenHow(ctypes.Structure):
        _fields_ = (
            ("flags", ctypes.c_uint64),
            ("mode", ctypes.c_uint64),
            ("resolve", ctypes.c_uint64),
        )

    hows: dict[tuple[int, int], Any] = {}  # the structs, kept alive for their addresses
    nr_open, nr_rename = _OPENAT2[machine], _RENAMEAT2[machine]
    get_errno = ctypes.get_errno

    def openat2(dirfd: int, path: bytes, flags: int, mode: int) -> int:
        how = hows.get((flags, mode))
        if how is None:
            how = hows[(flags, mode)] = OpenHow(flags, mode, _RESOLVE)
        fd: int = o2(nr_open, dirfd, path, ctypes.byref(how), 24)
        if fd < 0:
            code = get_errno()
            raise OSError(code, os.strerror(code))
        return fd

    def renameat2(olddir: int, old: bytes, newdir: int, new: bytes) -> None:
        if r2(nr_rename, olddir, old, newdir, new, _RENAME_NOREPLACE) < 0:
            code = get_errno()
            raise OSError(code, os.strerror(code))

    return openat2, renameat2


def check_fd_support(root_fd: int) -> None:
    """Find out once whether ``openat2`` works here (a sandbox may refuse it)."""
    global _openat2, _renameat2, _probed
    if _probed:
        return
    o2, r2 = _bind()
    if o2 is not None:
        try:
            os.close(o2(root_fd, b".", os.O_PATH | CLOEXEC, 0))
        except OSError as exc:
            if exc.errno not in _NO_CALL:
                raise
            o2 = None
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


def open_beneath(root_fd: int, rel: str, flags: int, mode: int = 0o666) -> int:
    """Open ``rel`` (a normalised key, not empty) below ``root_fd`` without following links.

    Raises ``OSError``: ``ELOOP`` when the path meets a symlink, ``ENOENT`` /
    ``ENOTDIR`` when a part is missing or a file.
    """
    o2 = _openat2
    if o2 is not None:
        # RESOLVE_NO_SYMLINKS makes a trailing link ELOOP too (O_NOFOLLOW would turn
        # that into ENOTDIR for folders); openat2 refuses a mode without O_CREAT.
        flags = (flags & ~NOFOLLOW) | CLOEXEC
        return o2(root_fd, os.fsencode(rel), flags, mode if flags & os.O_CREAT else 0)
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
            return os.open(parts[-1], flags, mode, dir_fd=fd)
        except OSError as exc:
            raise (_walk_error(exc, fd, parts[-1]) if flags & _O_DIRECTORY else exc) from None
    finally:
        if fd != root_fd:
            os.close(fd)


def probe(root_fd: int, rel: str) -> bool:
    """True when ``rel`` names a file or folder below ``root_fd`` reached without any symlink.

    ``False`` for a path through a symlink or a file; ``ENOENT`` is raised
    (the caller may want to check that the root still exists).
    """
    o2 = _openat2
    try:
        if o2 is not None:  # a trailing symlink is ELOOP too: O_NOFOLLOW is left out
            os.close(o2(root_fd, os.fsencode(rel), _O_PATH | CLOEXEC, 0))
            return True
        parent, _, name = rel.rpartition("/")
        fd = open_beneath(root_fd, parent, DIR_FLAGS) if parent else root_fd
        try:
            return not st_.S_ISLNK(os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode)
        finally:
            if fd != root_fd:
                os.close(fd)
    except OSError as exc:
        if exc.errno in _NOT_THERE:
            return False
        raise


def rename_noreplace(old_fd: int, old: str, new_fd: int, new: str) -> None:
    """Rename ``old`` to ``new`` (names below two folder descriptors) unless ``new`` exists.

    ``FileExistsError`` when taken. Without ``renameat2``: hard link, then
    unlink the source; losing the source to a racing move removes the link
    again, so the source ends up under exactly one name.
    """
    r2 = _renameat2
    if r2 is not None:
        try:
            r2(old_fd, os.fsencode(old), new_fd, os.fsencode(new))
            return
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(exc.errno, exc.strerror) from None
            if exc.errno not in _NO_CALL:
                raise
    os.link(old, new, src_dir_fd=old_fd, dst_dir_fd=new_fd, follow_symlinks=False)
    try:
        os.unlink(old, dir_fd=old_fd)
    except BaseException:
        try:
            os.unlink(new, dir_fd=new_fd)
        except OSError:
            pass
        raise


def no_link(exc: OSError) -> bool:
    """True when ``exc`` means "no hard link or rename across these folders here"."""
    return exc.errno in _NO_LINK
