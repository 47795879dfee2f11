"""Writes of the local backend: a temporary file next to the target, then a rename.

Every write, create-only or overwrite, plain or atomic, fills a fresh
temporary file in the target's folder and renames it into place
(``renameat2(RENAME_EXCHANGE)`` + unlink of the old file, or ``renameat``, to
overwrite; ``renameat2(RENAME_NOREPLACE)`` for create-only), so a process
killed at any moment leaves the old content or the complete new one, never a
torn file, and racing create-only writers cannot clobber each other (spec
LOCAL-020..029). Atomic writes also ``fsync`` the file and its folder when
the backend is ``durable``.
"""

from __future__ import annotations

import errno
import os
import stat as st_
import time

from storeroom._sources import is_user_error
from storeroom.backends.local._fdpath import DIR_FLAGS, open_beneath, rename_noreplace, replace
from storeroom.backends.local._fileops import (
    Fill,
    close_filled,
    make_temp,
    quiet_unlink,
    result,
    sweep_stale,
    sync_fd,
)
from storeroom.backends.local._lock import lock_folder, unlock
from storeroom.backends.local._paths import PathChecks
from storeroom.errors import AlreadyExists, InvalidPath, StoreroomError
from storeroom.models import WriteResult

__all__ = ["Writes"]

_IFMT = 0o170000
_IFDIR = st_.S_IFDIR
_IFREG = st_.S_IFREG
_IFLNK = st_.S_IFLNK
#: Seconds between two sweeps of one folder's stale temporary files by writes.
_SWEEP_EVERY = 600.0
_SWEEP_MEMO = 4096
#: What ``_prepare`` hands over: folder fd, owned, created folders, temp name, temp fd, mode.
_Prepared = tuple[int, bool, list[str], str, int, int | None]


class Writes(PathChecks):
    """Mixin of ``LocalBackend``: the write path."""

    durable: bool
    _swept: dict[str, float]  #: folder key -> when a write last swept it (monotonic)

    def _key_for_write(self, key: str) -> None:
        if not key:
            raise self._error(InvalidPath, "a file path is required, got the root", key)
        self._check(key)

    def _folder_for_write(self, key: str) -> tuple[int, bool, list[str]]:
        """Descriptor of ``key``'s folder (created as needed), owned?, the folders created."""
        parent = key.rpartition("/")[0]
        root = self._root_fd()
        if not parent:
            return root, False, []
        try:
            return self._open_dir(parent), True, []
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
        created: list[str] = []
        fd = root
        done = ""
        try:
            for part in parent.split("/"):
                done = f"{done}/{part}" if done else part
                try:
                    nxt = os.open(part, DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    try:
                        os.mkdir(part, dir_fd=fd)
                        created.append(done)
                    except FileExistsError:
                        pass
                    nxt = open_beneath(fd, part, DIR_FLAGS)
                except NotADirectoryError:
                    nxt = open_beneath(fd, part, DIR_FLAGS)  # ELOOP for a symlink
                if fd != root:
                    os.close(fd)
                fd = nxt
        except BaseException:
            if fd != root:
                os.close(fd)
            self._undo_folders(created)
            raise
        return fd, True, created

    def _undo_folders(self, created: list[str]) -> None:
        """Remove folders a failed write created (deepest first); stop at one that filled up."""
        for rel in reversed(created):
            try:
                fd, owned = self._parent_fd(rel)
                try:
                    os.rmdir(rel.rpartition("/")[2], dir_fd=fd)
                finally:
                    if owned:
                        os.close(fd)
            except OSError:
                return

    def _occupied(self, fd: int, name: str, key: str, cause: OSError | None) -> StoreroomError:
        """The error for a create-only write whose target name is taken."""
        try:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode & _IFMT
        except OSError:
            mode = _IFREG
        if mode == _IFDIR:
            err = self._error(InvalidPath, "a folder exists at this path", key)
        elif mode == _IFLNK:
            err = self._link_error(key)
        else:
            err = self._error(
                AlreadyExists, "file already exists", key, hint="pass overwrite=True to replace it"
            )
        err.__cause__ = cause
        return err

    def _target_mode(self, fd: int, name: str, key: str, overwrite: bool) -> int | None:
        """Permission bits of the file an overwrite replaces (``None``: nothing there).

        A folder or symlink at the name is refused; so is any entry for a
        create-only write (a quick early answer: the name is claimed atomically later).
        """
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if not overwrite or st.st_mode & _IFMT in (_IFDIR, _IFLNK):
            raise self._occupied(fd, name, key, None)
        return st_.S_IMODE(st.st_mode)

    def _sweep(self, fd: int, folder: str) -> None:
        """Remove stale temporary files of folder ``fd`` (key ``folder``), at most every
        ``_SWEEP_EVERY`` seconds per key (a schedule only, nothing is trusted from it)."""
        now = time.monotonic()
        last = self._swept.get(folder)
        if last is not None and now - last < _SWEEP_EVERY:
            return
        if len(self._swept) >= _SWEEP_MEMO:
            self._swept.clear()
        self._swept[folder] = now
        sweep_stale(fd)

    def _prepare(self, key: str, name: str, overwrite: bool, early: bool) -> _Prepared:
        """The target's folder and a new temporary file in it; nothing consumed yet.

        ``early``: refuse a taken name before any content is written (worth a
        system call for streams; bytes are cheap to write and drop).
        """
        fd, owned, created = self._folder_for_write(key)
        try:
            self._sweep(fd, key.rpartition("/")[0])
            mode = self._target_mode(fd, name, key, overwrite) if overwrite or early else None
            tmp, tmp_fd = make_temp(fd)
        except BaseException:
            if owned:
                os.close(fd)
            self._undo_folders(created)
            raise
        return fd, owned, created, tmp, tmp_fd, mode

    def _commit(
        self, key: str, fill: Fill, overwrite: bool, atomic: bool, *, early: bool = True
    ) -> WriteResult:
        """Fill a temporary file in the target's folder, then rename it into place.

        Preparing is run once more if it found the root removed (recreated
        first when ``create_root``); the source is read only after that.
        """
        self._key_for_write(key)
        name = key.rpartition("/")[2]
        fd, owned, created, tmp, tmp_fd, mode = self._run(
            key, "write", lambda: self._prepare(key, name, overwrite, early), create=True
        )
        sync = atomic and self.durable
        try:
            try:
                size, st = close_filled(tmp_fd, fill, sync=sync, mode=mode)
                lock = lock_folder(fd, exclusive=False)  # excludes conditional writers
                try:
                    if overwrite:
                        replace(fd, tmp, name)
                    else:
                        try:
                            rename_noreplace(fd, tmp, fd, name)
                        except FileExistsError as exc:
                            raise self._occupied(fd, name, key, exc) from exc
                finally:
                    unlock(lock)
            except BaseException:
                quiet_unlink(tmp, fd)
                raise
            if sync:
                sync_fd(fd)
        except BaseException as exc:
            self._undo_folders(created)
            if (
                isinstance(exc, OSError)
                and not isinstance(exc, StoreroomError)
                and not is_user_error(exc)
            ):
                raise self._fail(exc, key, "write") from exc
            raise
        finally:
            if owned:
                os.close(fd)
        return result(key, size, st)
