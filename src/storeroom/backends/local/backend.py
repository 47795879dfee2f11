# ruff: noqa: PTH100, PTH103, PTH111, PTH116
# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""The ``local`` backend: files in a folder of a local or mounted filesystem.

Every key is resolved per operation below a descriptor held on the root,
refusing symbolic links (``openat2`` with ``RESOLVE_BENEATH |
RESOLVE_NO_SYMLINKS``, or an ``O_NOFOLLOW`` walk), and acted upon with
``*at`` calls relative to the folder descriptor found, so no key reaches
outside the root even while another process renames folders and plants
links (spec LOCAL-010..015). Every write fills a temporary file next to the
target and then gives it the name (``._write``), so a process killed at any
point leaves the old or the complete new content; create-only writes and
moves claim the name with ``renameat2(RENAME_NOREPLACE)`` (spec
LOCAL-020..029, LOCAL-050).
"""

from __future__ import annotations

import errno
import os
import stat as st_
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from storeroom.backend import Backend, Entry, Source, rel_key, unsupported
from storeroom.backends.local._cond import ConditionalWrites
from storeroom.backends.local._fdpath import (
    CLOEXEC,
    DIR_FLAGS,
    no_link,
    open_beneath,
    rename_noreplace,
)
from storeroom.backends.local._fileops import (
    copy_fd,
    is_temp_name,
    local_etag,
    quiet_unlink,
    source_filler,
)
from storeroom.backends.local._lock import lock_folder, unlock
from storeroom.backends.local._reader import open_stream
from storeroom.backends.local._walk import remove_tree, walk
from storeroom.backends.local.config import LocalOptions
from storeroom.backends.local.errors import BACKEND, TABLE
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import (
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult

if TYPE_CHECKING:
    from storeroom.backends.local._txn import LocalTransaction

__all__ = ["LocalBackend"]

_IFMT = 0o170000
_IFDIR = st_.S_IFDIR
_IFREG = st_.S_IFREG
_IFLNK = st_.S_IFLNK
# O_NONBLOCK: opening a FIFO does not hang (it is then refused as not regular).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | CLOEXEC
_NAME = BACKEND


class LocalBackend(ConditionalWrites, Backend):
    """Files below ``root`` on the local filesystem.

    ``LocalBackend(root="/srv/data")``. See ``LocalOptions`` for
    ``create_root`` and ``durable``. Folders are real: empty ones exist and
    are listed. There is no user metadata. Symbolic links are never
    followed: they are not part of the store.
    """

    type_name = _NAME
    real_folders = True
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
            Capability.CONDITIONAL_WRITE,
            Capability.TRANSACTION,
        }
    )
    options_class: ClassVar[type[LocalOptions]] = LocalOptions

    def __init__(
        self, root: str | os.PathLike[str], *, create_root: bool = True, durable: bool = True
    ) -> None:
        self._setup(LocalOptions(root=os.fspath(root), create_root=create_root, durable=durable))

    def _setup(self, opts: LocalOptions) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        self.create_root = opts.create_root
        self.durable = opts.durable
        self._swept: dict[str, float] = {}
        raw = os.path.expanduser(opts.root)
        if opts.create_root:
            try:
                os.makedirs(raw, exist_ok=True)
            except FileExistsError as exc:
                raise ConfigError(
                    f"root: {raw!r} exists and is not a folder", key="root", backend=_NAME
                ) from exc
            except OSError as exc:
                raise TABLE.map(exc, "", operation="create_root") from exc
        self._set_root(os.path.realpath(os.path.abspath(raw)))

    # -- reads ---------------------------------------------------------------

    def _entry(self, key: str, st: os.stat_result) -> Entry:
        name = key.rpartition("/")[2]
        if st.st_mode & _IFMT == _IFDIR:
            return FolderEntry._fast(key, name)
        mtime = datetime.fromtimestamp(st.st_mtime, UTC)
        return FileInfo._fast(key, name, st.st_size, mtime, local_etag(st))

    def stat(self, key: str) -> Entry:
        """Entry of a file or folder; ``NotFound`` when missing."""
        if key:
            self._check(key)
        st = self._run(key, "stat", lambda: self._lstat(key))
        if st.st_mode & _IFMT == _IFLNK:
            raise self._link_error(key)
        return self._entry(key, st)

    def is_folder(self, key: str) -> bool:
        """True for a folder of the store (``False`` for a path through a symlink)."""
        try:
            st = self._stat_or_none(key, "is_folder")
        except InvalidPath:
            if key:
                self._check(key)
            return False
        return st is not None and st.st_mode & _IFMT == _IFDIR

    def _open_file(self, key: str, op: str) -> int:
        """A read descriptor of the regular file ``key``: one resolution, then ``fstat``."""
        if not key:
            raise self._error(InvalidPath, "expected a file, found a folder", key)
        self._check(key)
        try:
            fd = open_beneath(self._root_fd(), key, _READ_FLAGS)
        except OSError:  # once more, the slow way: the root may have been replaced
            fd = self._run(key, op, lambda: open_beneath(self._root_fd(), key, _READ_FLAGS))
        try:
            mode = os.fstat(fd).st_mode & _IFMT
        except OSError as exc:
            os.close(fd)
            raise TABLE.map(exc, key, operation=op) from exc
        if mode != _IFREG:
            os.close(fd)
            raise self._error(
                InvalidPath,
                "expected a file, found a folder"
                if mode == _IFDIR
                else "not a regular file (a device, pipe or socket)",
                key,
            )
        return fd

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A buffered real file positioned at ``start`` and stopping at ``end``."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise self._error(InvalidPath, "byte offsets must not be negative", key)
        fd = self._open_file(key, "open_read")
        try:
            return open_stream(fd, key, start, end)
        except OSError as exc:
            raise TABLE.map(exc, key, operation="open_read") from exc

    # -- writes --------------------------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Write a whole file; see ``Backend.write`` for the rules."""
        if metadata:
            raise unsupported(Capability.USER_METADATA, _NAME, "write")
        early = not isinstance(src, bytes | bytearray | memoryview)
        return self._commit(key, source_filler(src), overwrite, atomic, early=early)

    # -- delete, copy, move ---------------------------------------------------

    def _folder_of(self, key: str, op: str) -> tuple[int, bool]:
        """Descriptor of the existing folder holding ``key``, and whether to close it."""
        return self._run(key, op, lambda: self._parent_fd(key))

    def _file_at(self, fd: int, name: str, key: str, op: str) -> os.stat_result:
        """Stat of the regular file (or other non-folder) ``name`` in folder ``fd``."""
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as exc:
            raise self._fail(exc, key, op, reading=True) from exc
        mode = st.st_mode & _IFMT
        if mode == _IFDIR:
            raise self._error(InvalidPath, "expected a file, found a folder", key)
        if mode == _IFLNK:
            raise self._link_error(key)
        return st

    def delete(self, key: str) -> None:
        """Remove one file (``unlinkat`` relative to its folder: nothing is followed)."""
        self._key_for_write(key)
        fd, owned = self._folder_of(key, "delete")
        name = key.rpartition("/")[2]
        lock = -1
        try:
            lock = lock_folder(fd, exclusive=False)  # excludes conditional writers (COND-041)
            self._file_at(fd, name, key, "delete")
            os.unlink(name, dir_fd=fd)
        except StoreroomError:
            raise
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                raise self._error(InvalidPath, "expected a file, found a folder", key) from exc
            raise self._fail(exc, key, "delete") from exc
        finally:
            unlock(lock)
            if owned:
                os.close(fd)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy a file into ``dst`` through the same safe write path (kernel copy when possible)."""
        in_fd = self._open_file(src, "copy")
        try:
            return self._commit(dst, lambda fd: copy_fd(in_fd, fd), overwrite, False)
        finally:
            os.close(in_fd)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename one file: ``renameat`` to overwrite, ``renameat2(RENAME_NOREPLACE)`` otherwise.

        Of racing moves of one file exactly one succeeds; the others get ``NotFound``.
        """
        self._key_for_write(src)
        self._key_for_write(dst)
        sfd, sowned = self._folder_of(src, "move")
        sname = src.rpartition("/")[2]
        dfd, downed = -1, False
        created: list[str] = []
        try:
            self._file_at(sfd, sname, src, "move")
            if src == dst:
                return
            dfd, downed, created = self._run(
                dst, "move", lambda: self._folder_for_write(dst), create=True
            )
            dname = dst.rpartition("/")[2]
            self._target_mode(dfd, dname, dst, overwrite)
            locks = (lock_folder(sfd, exclusive=False), lock_folder(dfd, exclusive=False))
            try:
                if overwrite:
                    os.rename(sname, dname, src_dir_fd=sfd, dst_dir_fd=dfd)
                else:
                    try:
                        rename_noreplace(sfd, sname, dfd, dname)
                    except FileExistsError as exc:
                        raise self._occupied(dfd, dname, dst, exc) from exc
            finally:
                unlock(locks[0])
                unlock(locks[1])
        except StoreroomError:
            self._undo_folders(created)
            raise
        except OSError as exc:
            if no_link(exc):  # another filesystem mounted inside the root
                self.copy(src, dst, overwrite=overwrite)
                self.delete(src)
                return
            self._undo_folders(created)
            if exc.errno == errno.ENOENT:
                raise self._not_found(src, exc) from exc
            raise self._fail(exc, dst, "move") from exc
        finally:
            if sowned:
                os.close(sfd)
            if downed:
                os.close(dfd)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Remove a folder. Its content (with ``recursive``) is removed through descriptors
        opened afresh below the root; links are unlinked, never followed.

        Temporary files do not count: a folder that lists empty can be removed.
        """
        if not key:
            raise self._error(InvalidPath, "refusing to remove the backend root", key)
        self._check(key)
        fd, owned = self._folder_of(key, "remove_folder")
        name = key.rpartition("/")[2]
        try:
            mode = os.stat(name, dir_fd=fd, follow_symlinks=False).st_mode & _IFMT
            if mode == _IFLNK:
                raise self._link_error(key)
            if mode != _IFDIR:
                raise self._error(InvalidPath, "expected a folder, found a file", key)
            try:
                os.rmdir(name, dir_fd=fd)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
            if recursive:
                remove_tree(self._open_dir, key)
            else:
                self._drop_temps(key)  # then rmdir fails if anything else is there
            os.rmdir(name, dir_fd=fd)
        except StoreroomError:
            raise
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise self._not_empty(key, exc) from exc
            raise self._fail(exc, key, "remove_folder") from exc
        finally:
            if owned:
                os.close(fd)

    def _drop_temps(self, key: str) -> None:
        """Unlink the temporary files in folder ``key`` (they never keep a folder alive)."""
        fd = self._open_dir(key)
        try:
            with os.scandir(fd) as it:
                temps = [e.name for e in it if is_temp_name(e.name)]
            for name in temps:
                quiet_unlink(name, fd)
        finally:
            os.close(fd)

    def _not_empty(self, key: str, cause: OSError | None) -> StoreroomError:
        err = self._error(
            DirectoryNotEmpty,
            "folder is not empty",
            key,
            hint="pass recursive=True to delete it with its content",
        )
        err.__cause__ = cause
        return err

    # -- listing and housekeeping ---------------------------------------------

    def _scan_dir(self, key: str) -> int:
        """A new descriptor of folder ``key`` for reading (never the shared root descriptor)."""
        if key:
            return self._open_dir(key)
        return os.open(".", DIR_FLAGS, dir_fd=self._root_fd())

    def _list_fail(self, exc: OSError, key: str) -> Exception:
        return self._fail(exc, key, "list")

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Streamed, sorted entries under folder ``prefix``; see ``._walk``.

        The prefix is checked when called; each folder is read when reached.
        """
        try:
            st = self._stat_or_none(prefix, "list")
        except NotFound:
            st = None
        if st is None or st.st_mode & _IFMT != _IFDIR:
            return iter(())
        rel = rel_key(prefix, base) if prefix else ""
        return walk(self._scan_dir, prefix, rel, recursive, self._list_fail)

    def ping(self) -> None:
        """Check that the root exists and is a folder."""
        try:
            ok = st_.S_ISDIR(os.stat(self.root).st_mode)
        except OSError as exc:
            raise BackendUnavailable(
                "the backend root is not reachable",
                path="",
                backend=_NAME,
                hint="create the root folder, or set create_root = true",
            ) from exc
        if not ok:
            raise BackendUnavailable(
                "the backend root is not a folder",
                path="",
                backend=_NAME,
                retryable=False,
                hint="point root at a folder",
            )

    def begin_transaction(self) -> LocalTransaction:
        """Staged files, a commit record, then renames; a crash is settled next time (TXN-030)."""
        from storeroom.backends.local._txn import LocalTransaction

        return LocalTransaction(self)

    def native_path(self, key: str) -> str:
        """The absolute filesystem path of ``key``."""
        return self._prefix + key if key else self.root

    def describe(self) -> Mapping[str, object]:
        return {"root": self.root}
