# os-level calls are deliberate here, as in the rest of the local backend.
"""Conditional writes and deletes of the local backend (spec COND-041).

The new content fills a temporary file first; then, under the folder's
exclusive lock (``_lock``), the target is stat'ed, its etag compared, and
the temporary file renamed over it (or the target unlinked). Etags are
``<inode>-<mtime ns>-<size>`` in hex; a conditional write sets the new
file's mtime past the old one's, so etags of successive versions never repeat.
"""

from __future__ import annotations

import errno
import os
import stat as st_
import time
from collections.abc import Mapping

from storeroom._cond import precondition_failed
from storeroom._sources import is_user_error
from storeroom.backend import Source, unsupported
from storeroom.backends.local._fdpath import replace
from storeroom.backends.local._fileops import (
    local_etag,
    make_temp,
    quiet_unlink,
    result,
    source_filler,
    sync_fd,
)
from storeroom.backends.local._lock import lock_folder, unlock
from storeroom.backends.local._write import Writes
from storeroom.backends.local.errors import BACKEND
from storeroom.capabilities import Capability
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.models import WriteResult

__all__ = ["ConditionalWrites"]

_IFMT = 0o170000


class ConditionalWrites(Writes):
    """Mixin of ``LocalBackend``: ``write_if_match`` and ``delete_if_match``."""

    def _matched(self, fd: int, name: str, key: str, expected: str, op: str) -> os.stat_result:
        """Stat of file ``name`` in folder ``fd`` when its etag is ``expected`` (lock held)."""
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            raise precondition_failed(key, BACKEND, expected, None, op) from None
        mode = st.st_mode & _IFMT
        if mode == st_.S_IFDIR:
            raise self._error(InvalidPath, "expected a file, found a folder", key)
        if mode == st_.S_IFLNK:
            raise self._link_error(key)
        found = local_etag(st)
        if found != expected:
            raise precondition_failed(key, BACKEND, expected, found, op)
        return st

    def _cond_folder(self, key: str, expected: str, op: str) -> tuple[int, bool]:
        """The existing folder of ``key``; a missing one means a missing file."""
        self._key_for_write(key)
        try:
            return self._run(key, op, lambda: self._parent_fd(key))
        except NotFound:
            raise precondition_failed(key, BACKEND, expected, None, op) from None

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Fill a temporary file, then check the etag and rename under the folder lock."""
        if metadata:
            raise unsupported(Capability.USER_METADATA, BACKEND, "write")
        fd, owned = self._cond_folder(key, etag, "write")
        name = key.rpartition("/")[2]
        sync = atomic and self.durable
        tmp, tmp_fd = "", -1
        try:
            tmp, tmp_fd = make_temp(fd)
            size = source_filler(src)(tmp_fd)
            lock = lock_folder(fd, exclusive=True)
            try:
                old = self._matched(fd, name, key, etag, "write")
                os.fchmod(tmp_fd, st_.S_IMODE(old.st_mode))
                stamp = max(time.time_ns(), old.st_mtime_ns + 1)
                os.utime(tmp_fd, ns=(stamp, stamp))  # a new version never repeats an etag
                if sync:
                    os.fsync(tmp_fd)
                st = os.fstat(tmp_fd)
                os.close(tmp_fd)
                tmp_fd = -1
                replace(fd, tmp, name)
                tmp = ""
            finally:
                unlock(lock)
            if sync:
                sync_fd(fd)
        except BaseException as exc:
            if tmp_fd >= 0:
                os.close(tmp_fd)
            if tmp:
                quiet_unlink(tmp, fd)
            own = isinstance(exc, StoreroomError) or is_user_error(exc)
            if isinstance(exc, OSError) and not own:
                raise self._fail(exc, key, "write") from exc
            raise
        finally:
            if owned:
                os.close(fd)
        return result(key, size, st)

    def delete_if_match(self, key: str, etag: str) -> None:
        """Check the etag and unlink under the folder lock."""
        fd, owned = self._cond_folder(key, etag, "delete")
        name = key.rpartition("/")[2]
        try:
            lock = lock_folder(fd, exclusive=True)
            try:
                self._matched(fd, name, key, etag, "delete")
                os.unlink(name, dir_fd=fd)
            finally:
                unlock(lock)
        except StoreroomError:
            raise
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                raise self._error(InvalidPath, "expected a file, found a folder", key) from exc
            raise self._fail(exc, key, "delete") from exc
        finally:
            if owned:
                os.close(fd)
