# ruff: noqa: PTH103
# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""The root descriptor of the local backend and key resolution below it.

The backend holds a descriptor on its root folder for its whole life and
resolves every key freshly, per operation, below that descriptor with
``open_beneath`` (``openat2`` with ``RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS``,
or a ``O_NOFOLLOW`` walk). Nothing about a key is remembered between
operations: a verdict is only as good as the descriptor it was made with,
and a folder descriptor kept across calls would follow that folder if an
attacker moved it out of the root (spec LOCAL-015).

A root folder that is removed while the backend is in use is noticed when a
lookup misses (its descriptor then names a deleted folder): the backend opens
the root path again, creating it first for a write when ``create_root``.
"""

from __future__ import annotations

import errno
import os
import stat as st_
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from storeroom.backends.local._fdpath import (
    CLOEXEC,
    DIR_FLAGS,
    check_fd_support,
    open_beneath,
    probe,
)
from storeroom.backends.local.errors import BACKEND, TABLE
from storeroom.errors import InvalidPath, NotFound, StoreroomError

__all__ = ["PathChecks"]

T = TypeVar("T")
_BAD = frozenset(("", ".", ".."))
_WELL_FORMED: set[str] = set()
_WELL_FORMED_MAX = 4096
#: Seconds between two checks of the root for removal by ``exists`` misses.
_RECHECK_ROOT = 1.0
_ROOT_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | CLOEXEC
#: A path through a symlink (``ELOOP``) or above the root (``EXDEV`` from RESOLVE_BENEATH).
_LINK = frozenset((errno.ELOOP, errno.EXDEV))


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    fds.clear()


class PathChecks:
    """Mixin of ``LocalBackend``: the root descriptor and safe resolution below it."""

    root: str  #: the root with every symlink resolved
    create_root: bool
    _prefix: str  #: ``root + "/"`` ("/" for the filesystem root), for ``native_path``
    _rfd: int  #: descriptor of the root folder, -1 until first opened
    _fds: list[int]  #: every root descriptor opened (closed when the backend is collected)
    _root_checked: float  #: when ``exists`` last checked the root after a miss (monotonic)

    def _set_root(self, real_root: str) -> None:
        self.root = real_root
        self._prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._rfd = -1
        self._fds = []
        self._root_checked = 0.0
        # Descriptors are never closed while the backend lives: a thread may be
        # using one, and a closed number can be handed to an unrelated file.
        weakref.finalize(self, _close_all, self._fds)

    # -- the root descriptor -------------------------------------------------------

    def _root_fd(self) -> int:
        """The root descriptor, opened on first use (``OSError`` when the root is missing)."""
        fd = self._rfd
        return fd if fd >= 0 else self._open_root(create=False)

    def _open_root(self, *, create: bool) -> int:
        if create and self.create_root:
            os.makedirs(self.root, exist_ok=True)
        fd = os.open(self.root, _ROOT_FLAGS)
        self._fds.append(fd)
        check_fd_support(fd)
        self._rfd = fd
        return fd

    def _root_replaced(self, *, create: bool) -> bool:
        """After a miss: reopen the root if its folder was removed; True when it was."""
        fd = self._rfd
        try:
            if fd >= 0 and os.fstat(fd).st_nlink > 0:
                return False
            self._open_root(create=create)
        except OSError:
            return False
        return True

    def _run(self, key: str, op: str, fn: Callable[[], T], *, create: bool = False) -> T:
        """Run ``fn`` (raw ``OSError``s allowed) once more if the root was replaced; map errors."""
        try:
            try:
                return fn()
            except OSError as exc:
                if exc.errno != errno.ENOENT or not self._root_replaced(create=create):
                    raise
            return fn()
        except StoreroomError:
            raise
        except OSError as exc:
            raise self._fail(exc, key, op) from exc
        except ValueError as exc:  # NUL byte
            raise self._bad_key(key) from exc

    # -- errors ----------------------------------------------------------------------

    def _error(
        self, cls: type[StoreroomError], message: str, key: str, **kw: Any
    ) -> StoreroomError:
        return cls(message, path=key, backend=BACKEND, **kw)

    def _bad_key(self, key: str) -> StoreroomError:
        return self._error(
            InvalidPath,
            "not a normalised key (empty, '.' or '..' segment, or a NUL byte)",
            key,
            hint="pass keys through a Store, or normalise them with storeroom.path.normalize",
        )

    def _link_error(self, key: str) -> StoreroomError:
        return self._error(
            InvalidPath,
            "path goes through a symbolic link, and symbolic links are never followed "
            "(no key may lead outside the store root)",
            key,
            hint="replace the link with the folder or file it points to",
        )

    def _not_found(self, key: str, cause: BaseException | None) -> StoreroomError:
        err = self._error(NotFound, "file or folder not found", key)
        err.__cause__ = cause
        return err

    def _fail(
        self, exc: OSError, key: str, op: str, *, reading: bool | None = None
    ) -> StoreroomError:
        """The storeroom error for an ``OSError`` met while working on ``key``.

        A file where a folder was expected is a miss for a read of an
        existing entry (``reading``), and an invalid path for a write.
        """
        if exc.errno in _LINK:
            return self._link_error(key)
        if exc.errno == errno.ENOTDIR:
            if op in _READS if reading is None else reading:
                return self._not_found(key, exc)
            return self._parent_is_file(key)
        return TABLE.map(exc, key, operation=op)

    def _parent_is_file(self, key: str) -> StoreroomError:
        return self._error(InvalidPath, "a parent of this path is a file, not a folder", key)

    # -- resolution --------------------------------------------------------------------

    def _check(self, key: str) -> None:
        """``InvalidPath`` unless ``key`` is normalised (no empty, '.' or '..' part, no NUL).

        Keys found well formed are remembered (a check of the string alone,
        nothing about the filesystem), so a hot key costs one set lookup.
        """
        if key in _WELL_FORMED:
            return
        if (
            not key
            or "//" in key
            or key[0] == "/"
            or key[-1] == "/"
            or "\x00" in key
            or (("/." in key or key[0] == ".") and not _BAD.isdisjoint(key.split("/")))
        ):
            raise self._bad_key(key)
        if len(_WELL_FORMED) >= _WELL_FORMED_MAX:
            _WELL_FORMED.clear()
        _WELL_FORMED.add(key)

    def _open_dir(self, rel: str) -> int:
        """A new descriptor of folder ``rel`` (not empty) below the root; raw ``OSError``s."""
        return open_beneath(self._root_fd(), rel, DIR_FLAGS)

    def _parent_fd(self, key: str) -> tuple[int, bool]:
        """Descriptor of the folder holding ``key`` and whether the caller must close it."""
        parent = key.rpartition("/")[0]
        if not parent:
            return self._root_fd(), False
        return self._open_dir(parent), True

    def _lstat(self, key: str) -> os.stat_result:
        """``lstat`` of ``key`` resolved below the root (the root itself for "")."""
        if not key:
            st = os.fstat(self._root_fd())
            if st.st_nlink == 0:  # the root folder was removed
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            return st
        parent, _, name = key.rpartition("/")
        if not parent:
            return os.stat(name, dir_fd=self._root_fd(), follow_symlinks=False)
        fd = self._open_dir(parent)
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        finally:
            os.close(fd)

    def _stat_or_none(self, key: str, op: str) -> os.stat_result | None:
        """Stat of the store's entry at ``key``; ``None`` when missing; a symlink is refused."""
        if key:
            self._check(key)
        try:
            st = self._run(key, op, lambda: self._lstat(key))
        except NotFound:
            return None
        if st_.S_ISLNK(st.st_mode):
            raise self._link_error(key)
        return st

    def exists(self, key: str) -> bool:
        """True when the store has a file or folder at ``key``; one or two system calls.

        A path through a symlink is not part of the store: ``False``, whatever
        is at the other end (spec LOCAL-013). After a miss the root is checked
        for removal at most once a second (``exists`` is the cheapest call).
        """
        if not key:
            return self._stat_or_none(key, "exists") is not None
        self._check(key)
        try:
            found = probe(self._root_fd(), key)
            if found < 0:
                now = time.monotonic()
                if now - self._root_checked < _RECHECK_ROOT:
                    return False
                self._root_checked = now
                if self._root_replaced(create=False):
                    found = probe(self._root_fd(), key)
        except OSError as exc:
            if exc.errno == errno.ENOENT:  # no root
                return False
            raise self._fail(exc, key, "exists") from exc
        return found > 0


_READS = frozenset(("stat", "exists", "is_folder", "open_read", "list", "delete", "remove_folder"))
