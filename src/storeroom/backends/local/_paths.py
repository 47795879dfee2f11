# ruff: noqa: PTH102, PTH106, PTH112, PTH116
# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""Key-to-path resolution of the local backend, checked against symlink escapes.

A key is checked by walking it one component at a time with ``lstat``; a
symlink is followed only when its real path stays inside the root. Entries
found this way without meeting any symlink are remembered by key with their
identity ``(st_ino, st_ctime_ns, st_dev)`` (a bounded cache; the change time
is part of it because filesystems hand a freed inode number to the next new
file at once). Later, one ``stat`` of the same path that returns the same
identity proves the path still reaches that very object, so the walk's
verdict stands: a known folder or file costs one system call, a file in a
known folder two. An entry that was removed, replaced, changed or swapped for
a symlink has another identity and is walked again.

``exists`` answers whether the *store* has an entry: a path that resolves
outside the root (through a symlink) is not part of the store, so it is
``False`` there, while every operation that touches the entry raises
``InvalidPath`` (spec LOCAL-013).
"""

from __future__ import annotations

import errno
import os
from typing import Any

from storeroom.backends.local.errors import BACKEND, map_os_error
from storeroom.errors import InvalidPath, NotFound, StoreroomError

__all__ = ["PathChecks", "undo_folders"]

_IFMT = 0o170000
_IFDIR = 0o040000
_IFLNK = 0o120000
_BAD = frozenset(("", ".", ".."))
_MISSING = frozenset((errno.ENOENT, errno.ENOTDIR))
_KNOWN_MAX = 4096

Found = tuple[str, os.stat_result | None, OSError | None]


def undo_folders(created: list[str]) -> None:
    """Remove folders a failed write created (deepest first); stop at one that filled up."""
    for path in reversed(created):
        try:
            os.rmdir(path)
        except OSError:
            return


class PathChecks:
    """Mixin of ``LocalBackend``: safe key resolution below ``root``."""

    root: str  #: the root with every symlink resolved
    _base: str  #: root without trailing separator ("" for "/")
    _prefix: str  #: ``_base + "/"``, prepended to keys
    _inside: str  #: real paths inside the root start with this
    _known: dict[str, tuple[int, int, int]]  #: key -> (st_ino, st_ctime_ns, st_dev)

    def _set_root(self, real_root: str) -> None:
        self.root = real_root
        self._base = "" if real_root == os.sep else real_root
        self._prefix = self._base + "/"
        self._inside = real_root if real_root.endswith(os.sep) else real_root + os.sep
        self._known = {}

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

    def _not_found(self, key: str, cause: BaseException | None) -> StoreroomError:
        err = self._error(NotFound, "file or folder not found", key)
        err.__cause__ = cause
        return err

    def _inside_real(self, path: str, key: str) -> str:
        """Real path of ``path``; ``InvalidPath`` when it lies outside the root."""
        real = os.path.realpath(path)
        if real != self.root and not real.startswith(self._inside):
            raise self._error(
                InvalidPath,
                "path resolves outside the store root (through a symbolic link)",
                key,
                hint="symbolic links may only point inside the backend root",
            )
        return real

    def _remember(self, key: str, st: os.stat_result) -> None:
        """Record that ``key`` reaches the object ``st`` describes without any symlink."""
        known = self._known
        if len(known) >= _KNOWN_MAX:
            known.clear()
        known[key] = (st.st_ino, st.st_ctime_ns, st.st_dev)

    def _forget(self) -> None:
        """Drop every remembered identity (after removing folders)."""
        self._known.clear()

    def _still_known(self, key: str) -> bool:
        """True when ``key``'s path still reaches the object remembered for it."""
        ident = self._known.get(key)
        if ident is None:
            return False
        try:
            st = os.stat(self._prefix + key)
        except (OSError, ValueError):
            st = None
        if (
            st is not None
            and st.st_ino == ident[0]
            and st.st_ctime_ns == ident[1]
            and st.st_dev == ident[2]
        ):
            return True
        self._known.pop(key, None)
        return False

    def exists(self, key: str) -> bool:
        """True when the store has a file or folder at ``key``; usually one system call.

        A miss needs no further check: nothing is there, inside or outside the
        root. A hit is trusted when its identity is remembered, else checked.
        """
        ident = self._known.get(key)
        if ident is None and not _BAD.isdisjoint(key.split("/")):
            if key:
                raise self._bad_key(key)
            return self._lookup(key)[1] is not None
        try:
            st = os.lstat(self._prefix + key)
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as exc:
            raise map_os_error(exc, key) from exc
        except ValueError as exc:
            raise self._bad_key(key) from exc
        if (
            ident is not None
            and st.st_ino == ident[0]
            and st.st_ctime_ns == ident[1]
            and st.st_dev == ident[2]
        ):
            return True
        try:
            return self._lookup(key)[1] is not None
        except InvalidPath:
            return False  # the key is well formed, so its path leads outside the root

    def _lookup(self, key: str, *, follow_last: bool = True) -> Found:
        """Checked path of ``key``, its stat (``None`` when missing) and the miss's cause.

        Symlinks are followed only inside the root; with ``follow_last=False``
        a final symlink is checked but returned unfollowed.
        """
        ident = self._known.get(key)
        if ident is not None:
            path = self._prefix + key
            try:
                st = os.lstat(path)
                if st.st_ino == ident[0] and st.st_ctime_ns == ident[1] and st.st_dev == ident[2]:
                    return path, st, None
            except OSError:
                pass
        parent, sep, name = key.rpartition("/")
        if name not in _BAD and (not sep or self._still_known(parent)):
            return self._last(self._prefix + key, key, follow_last)
        if not key:
            try:
                return self.root, os.stat(self.root), None
            except OSError as exc:
                if exc.errno in _MISSING:
                    return self.root, None, exc
                raise map_os_error(exc, key) from exc
        parts = key.split("/")
        if not _BAD.isdisjoint(parts):
            raise self._bad_key(key)
        path = self._base
        plain = True  # no symlink met so far
        dir_st: os.stat_result | None = None
        for part in parts[:-1]:
            path, dir_st, missing, link = self._step(f"{path}/{part}", key, True)
            if dir_st is None:
                return path, None, missing
            plain = plain and not link
        if plain and dir_st is not None and dir_st.st_mode & _IFMT == _IFDIR:
            self._remember(parent, dir_st)
        return self._last(f"{path}/{name}", key, follow_last, plain)

    def _step(
        self, path: str, key: str, follow: bool
    ) -> tuple[str, os.stat_result | None, OSError | None, bool]:
        """``lstat`` one component: (path, stat or None if missing, the miss, was a symlink).

        A symlink must resolve inside the root; it is followed when ``follow``.
        """
        try:
            st = os.lstat(path)
            if st.st_mode & _IFMT != _IFLNK:
                return path, st, None, False
            real = self._inside_real(path, key)
            if not follow:
                return path, st, None, True
            return real, os.stat(real), None, True
        except StoreroomError:
            raise
        except OSError as exc:
            if exc.errno in _MISSING:
                return path, None, exc, False
            raise map_os_error(exc, key) from exc
        except ValueError as exc:  # NUL byte
            raise self._bad_key(key) from exc

    def _last(self, path: str, key: str, follow_last: bool, plain: bool = True) -> Found:
        """Stat the final component below an already checked folder."""
        found, st, missing, link = self._step(path, key, follow_last)
        if st is not None and plain and not link:
            self._remember(key, st)
        return found, st, missing

    def _parent_for_write(self, key: str) -> tuple[str, str, list[str]]:
        """Checked real path of ``key``'s folder, the file name, and the folders created.

        Missing parents are created; the caller passes the created list to
        ``undo_folders`` if the write then fails.
        """
        parent, sep, name = key.rpartition("/")
        if name in _BAD:
            raise (
                self._bad_key(key)
                if key
                else self._error(InvalidPath, "a file path is required, got the root", key)
            )
        if not sep:
            return self._base, name, []
        if self._still_known(parent):
            return self._prefix + parent, name, []
        parts = parent.split("/")
        if not _BAD.isdisjoint(parts):
            raise self._bad_key(key)
        created: list[str] = []
        try:
            path, plain, st = self._make_parents(parts, key, created)
        except BaseException as exc:
            undo_folders(created)
            if isinstance(exc, StoreroomError):
                raise
            if isinstance(exc, OSError):
                raise map_os_error(exc, key, operation="write") from exc
            if isinstance(exc, ValueError):
                raise self._bad_key(key) from exc
            raise
        if plain and st is not None:
            self._remember(parent, st)
        return path, name, created

    def _make_parents(
        self, parts: list[str], key: str, created: list[str]
    ) -> tuple[str, bool, os.stat_result | None]:
        """Walk (creating as needed) the folders ``parts``; returns the real path."""
        path = self._base
        plain = True
        st: os.stat_result | None = None
        for part in parts:
            path = f"{path}/{part}"
            st = None
            if created:  # below a new folder nothing exists yet
                try:
                    os.mkdir(path)
                    created.append(path)
                    continue
                except FileExistsError:
                    pass
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                try:
                    os.mkdir(path)
                    created.append(path)
                    continue
                except FileExistsError:
                    st = os.lstat(path)
            mode = st.st_mode & _IFMT
            if mode == _IFLNK:
                plain = False
                path = self._inside_real(path, key)
                mode = _IFDIR if os.path.isdir(path) else 0
            if mode != _IFDIR:
                raise self._error(InvalidPath, "a parent of this path is a file", key)
        return path, plain, st
