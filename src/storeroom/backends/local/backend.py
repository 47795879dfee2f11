# ruff: noqa: PTH100, PTH103, PTH105, PTH106, PTH108, PTH111, PTH112, PTH116, PTH120
# os-level calls are deliberate here: pathlib objects cost too much on the hot paths.
"""The ``local`` backend: files in a folder of a local or mounted filesystem.

Keys map to paths below a root that is resolved once at construction. Every
access checks the key component by component with ``lstat``; a symlink is
followed only when its real path stays inside the root, so no key reaches
outside it (spec LOCAL-010..015). A failed write never leaves a partial file
under the target name, and create-only writes claim the name with ``O_EXCL``
or a hard link, so racing writers cannot clobber each other.

Caveat: the checks run just before each operation, so a process that swaps
a folder for a symlink at that very moment can win a race. The root is
meant to be owned by the application, not shared with an adversary.
"""

from __future__ import annotations

import errno
import os
import stat as st_
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import BinaryIO, ClassVar

from storeroom.backend import Backend, Entry, Source, rel_key, unsupported
from storeroom.backends.local._fileops import (
    CLOEXEC,
    NEW_FILE,
    Fill,
    close_filled,
    copy_fd,
    in_place_filler,
    make_temp,
    quiet_unlink,
    result,
    rmtree,
    source_filler,
    sync_dir,
)
from storeroom.backends.local._paths import PathChecks, undo_folders
from storeroom.backends.local._reader import open_stream
from storeroom.backends.local._walk import walk
from storeroom.backends.local.config import LocalOptions
from storeroom.backends.local.errors import BACKEND, map_os_error
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult

__all__ = ["LocalBackend"]

_IFMT = 0o170000
_IFDIR = st_.S_IFDIR
_IFREG = st_.S_IFREG
_IFLNK = st_.S_IFLNK
_BAD = frozenset(("", ".", ".."))
# O_NOFOLLOW: a final symlink fails (ELOOP) instead of being followed unchecked;
# O_NONBLOCK: opening a FIFO does not hang (it is then refused as not regular).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | CLOEXEC
_REWRITE = os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | CLOEXEC
_NAME = BACKEND
_NO_LINK = frozenset(
    getattr(errno, n) for n in ("EXDEV", "ENOTSUP", "EOPNOTSUPP", "EMLINK") if hasattr(errno, n)
)


class LocalBackend(PathChecks, Backend):
    """Files below ``root`` on the local filesystem.

    ``LocalBackend(root="/srv/data")``. See ``LocalOptions`` for
    ``create_root`` and ``durable``. Folders are real: empty ones exist and
    are listed. There is no user metadata.
    """

    type_name = _NAME
    real_folders = True
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
        }
    )
    options_class: ClassVar[type[LocalOptions]] = LocalOptions

    def __init__(
        self, root: str | os.PathLike[str], *, create_root: bool = True, durable: bool = True
    ) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = LocalOptions(root=os.fspath(root), create_root=create_root, durable=durable)
        self.create_root = create_root
        self.durable = durable
        raw = os.path.expanduser(self.options.root)
        if create_root:
            try:
                os.makedirs(raw, exist_ok=True)
            except FileExistsError as exc:
                raise ConfigError(
                    f"root: {raw!r} exists and is not a folder", key="root", backend=_NAME
                ) from exc
            except OSError as exc:
                raise map_os_error(exc, "", operation="create_root") from exc
        self._set_root(os.path.realpath(os.path.abspath(raw)))

    @classmethod
    def from_options(cls, opts: LocalOptions) -> LocalBackend:
        """Build the backend from parsed options."""
        return cls(root=opts.root, create_root=opts.create_root, durable=opts.durable)

    # -- reads ---------------------------------------------------------------

    def _entry(self, key: str, st: os.stat_result) -> Entry:
        name = key.rpartition("/")[2]
        if st.st_mode & _IFMT == _IFDIR:
            return FolderEntry._fast(key, name)
        return FileInfo._fast(key, name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def _require_file(self, key: str, *, follow_last: bool = True) -> tuple[str, os.stat_result]:
        path, st, err = self._lookup(key, follow_last=follow_last)
        if st is None:
            raise self._not_found(key, err)
        mode = st.st_mode & _IFMT
        if mode == _IFDIR or (mode == _IFLNK and os.path.isdir(path)):
            raise self._error(InvalidPath, "expected a file, found a folder", key)
        return path, st

    def _regular_file(self, key: str) -> str:
        path, st = self._require_file(key)
        if st.st_mode & _IFMT != _IFREG:
            raise self._error(InvalidPath, "not a regular file (a device, pipe or socket)", key)
        return path

    def stat(self, key: str) -> Entry:
        """Entry of a file or folder; ``NotFound`` when missing."""
        _, st, err = self._lookup(key)
        if st is None:
            raise self._not_found(key, err)
        return self._entry(key, st)

    def is_folder(self, key: str) -> bool:
        """True for a folder of the store (``False`` for one reached outside the root)."""
        try:
            st = self._lookup(key)[1]
        except InvalidPath:
            if not _BAD.isdisjoint(key.split("/")) and key:
                raise
            return False
        return st is not None and st.st_mode & _IFMT == _IFDIR

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A buffered real file positioned at ``start`` and stopping at ``end``."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise self._error(InvalidPath, "byte offsets must not be negative", key)
        fd = self._open_known(key)
        if fd < 0:
            path = self._regular_file(key)
            try:
                fd = os.open(path, _READ_FLAGS)
            except OSError as exc:
                raise map_os_error(exc, key, operation="open_read") from exc
        try:
            return open_stream(fd, key, start, end)
        except OSError as exc:
            raise map_os_error(exc, key, operation="open_read") from exc

    def _open_known(self, key: str) -> int:
        """Open a remembered regular file after one identity check; -1 to take the long way."""
        ident = self._known.get(key)
        if ident is None:
            return -1
        try:
            fd = os.open(self._prefix + key, _READ_FLAGS)
        except OSError:
            return -1
        try:
            st = os.fstat(fd)
            if (
                st.st_ino == ident[0]
                and st.st_ctime_ns == ident[1]
                and st.st_dev == ident[2]
                and st.st_mode & _IFMT == _IFREG
            ):
                return fd
        except OSError:
            pass
        os.close(fd)
        return -1

    # -- writes --------------------------------------------------------------

    def _occupied(self, target: str, key: str, cause: OSError) -> StoreroomError:
        """The error for a create-only write whose target name is taken."""
        try:
            st = os.lstat(target)
            if st.st_mode & _IFMT == _IFLNK:
                st = os.stat(self._inside_real(target, key))
        except OSError:
            st = None
        if st is not None and st.st_mode & _IFMT == _IFDIR:
            err = self._error(InvalidPath, "a folder exists at this path", key)
        else:
            err = self._error(
                AlreadyExists, "file already exists", key, hint="pass overwrite=True to replace it"
            )
        err.__cause__ = cause
        return err

    def _replace_target(
        self, parent: str, name: str, key: str
    ) -> tuple[str, os.stat_result | None]:
        """Path an overwrite replaces (a symlink's checked target) and its stat, if any."""
        target = f"{parent}/{name}"
        try:
            st = os.lstat(target)
            if st.st_mode & _IFMT == _IFLNK:
                target = self._inside_real(target, key)
                st = os.stat(target)
        except StoreroomError:
            raise
        except FileNotFoundError:
            return target, None
        except OSError as exc:
            raise map_os_error(exc, key, operation="write") from exc
        except ValueError as exc:
            raise self._bad_key(key) from exc
        if st.st_mode & _IFMT == _IFDIR:
            raise self._error(InvalidPath, "a folder exists at this path", key)
        return target, st

    def _commit(self, key: str, src: Source | Fill, overwrite: bool, atomic: bool) -> WriteResult:
        """Write ``src`` (content, or a ``Fill``) following the write rules."""
        parent, name, created = self._parent_for_write(key)
        fill = src if callable(src) else source_filler(src)
        try:
            if not overwrite and not atomic:
                return self._write_new(f"{parent}/{name}", key, fill)
            if overwrite and not atomic and isinstance(src, bytes | bytearray | memoryview):
                target, old = self._replace_target(parent, name, key)
                if old is not None and old.st_mode & _IFMT == _IFREG:
                    return self._write_in_place(target, key, in_place_filler(src, old.st_size))
            return self._write_via_temp(parent, name, key, fill, overwrite, atomic)
        except BaseException:
            undo_folders(created)
            raise

    def _write_in_place(self, target: str, key: str, fill: Fill) -> WriteResult:
        """Overwrite an existing file's content from bytes (which cannot fail half-way)."""
        try:
            fd = os.open(target, _REWRITE)
        except OSError as exc:
            raise map_os_error(exc, key, operation="write") from exc
        size, mtime = close_filled(fd, fill, key, sync=False, mode=None)
        return result(key, size, mtime)

    def _write_new(self, target: str, key: str, fill: Fill) -> WriteResult:
        """Create-only: ``O_EXCL`` claims the name; a failure removes what was written."""
        try:
            fd = os.open(target, NEW_FILE, 0o666)
        except FileExistsError as exc:
            raise self._occupied(target, key, exc) from exc
        except OSError as exc:
            raise map_os_error(exc, key, operation="write") from exc
        except ValueError as exc:
            raise self._bad_key(key) from exc
        try:
            size, mtime = close_filled(fd, fill, key, sync=False, mode=None)
        except BaseException:
            quiet_unlink(target)
            raise
        return result(key, size, mtime)

    def _write_via_temp(
        self, parent: str, name: str, key: str, fill: Fill, overwrite: bool, atomic: bool
    ) -> WriteResult:
        """A complete temporary file in the same folder, then ``os.replace`` or link."""
        sync = atomic and self.durable
        mode = None
        if overwrite:
            target, old = self._replace_target(parent, name, key)
            mode = None if old is None else st_.S_IMODE(old.st_mode)
        else:
            target = f"{parent}/{name}"
        tmp, fd = make_temp(parent, key)
        try:
            size, mtime = close_filled(fd, fill, key, sync=sync, mode=mode)
            if overwrite:
                os.replace(tmp, target)
            else:
                try:
                    os.link(tmp, target, follow_symlinks=False)
                except FileExistsError as exc:
                    raise self._occupied(target, key, exc) from exc
                quiet_unlink(tmp)
        except BaseException as exc:
            quiet_unlink(tmp)
            if isinstance(exc, OSError) and not isinstance(exc, StoreroomError):
                raise map_os_error(exc, key, operation="write") from exc
            raise
        if sync:
            sync_dir(os.path.dirname(target), key)
        return result(key, size, mtime)

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
        return self._commit(key, src, overwrite, atomic)

    # -- delete, copy, move ---------------------------------------------------

    def delete(self, key: str) -> None:
        """Remove one file (a symlink to a file loses the link, not the target)."""
        path, _ = self._require_file(key, follow_last=False)
        try:
            os.unlink(path)
        except OSError as exc:
            raise map_os_error(exc, key, operation="delete") from exc

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy a file into ``dst`` through the same safe write path (kernel copy when possible)."""
        path = self._regular_file(src)
        try:
            in_fd = os.open(path, os.O_RDONLY | CLOEXEC)
        except OSError as exc:
            raise map_os_error(exc, src, operation="copy") from exc
        try:
            return self._commit(dst, lambda fd: copy_fd(in_fd, fd), overwrite, False)
        finally:
            os.close(in_fd)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename one file: ``os.replace`` to overwrite, hard link + unlink for create-only."""
        path, _ = self._require_file(src, follow_last=False)
        if src == dst:
            return
        parent, name, created = self._parent_for_write(dst)
        try:
            if overwrite:
                target = self._replace_target(parent, name, dst)[0]
                os.replace(path, target)
                return
            target = f"{parent}/{name}"
            try:
                os.link(path, target, follow_symlinks=False)
            except FileExistsError as exc:
                raise self._occupied(target, dst, exc) from exc
            os.unlink(path)
        except StoreroomError:
            undo_folders(created)
            raise
        except OSError as exc:
            if exc.errno in _NO_LINK:  # another filesystem inside the root, or no hard links
                self.copy(src, dst, overwrite=overwrite)
                self.delete(src)
                return
            undo_folders(created)
            raise map_os_error(exc, dst, operation="move") from exc

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Remove a folder. Symlinks met on the way are unlinked, never followed.

        A symlinked folder loses only the link (its target keeps its content).
        """
        if not key:
            raise self._error(InvalidPath, "refusing to remove the backend root", key)
        path, st, err = self._lookup(key, follow_last=False)
        if st is None:
            raise self._not_found(key, err)
        is_link = st.st_mode & _IFMT == _IFLNK
        if not (os.path.isdir(path) if is_link else st.st_mode & _IFMT == _IFDIR):
            raise self._error(InvalidPath, "expected a folder, found a file", key)
        if not recursive and (is_link and next(iter(self.list(key)), None) is not None):
            raise self._not_empty(key, None)
        self._forget()  # folders below may be gone
        try:
            if is_link:
                os.unlink(path)
            elif recursive:
                rmtree(path)
            else:
                os.rmdir(path)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise self._not_empty(key, exc) from exc
            raise map_os_error(exc, key, operation="remove_folder") from exc

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

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Streamed, sorted entries under folder ``prefix``; see ``._walk``.

        The prefix is checked when called; entries are read while iterating.
        """
        path, st, _ = self._lookup(prefix)
        if st is None or st.st_mode & _IFMT != _IFDIR:
            return iter(())
        rel = rel_key(prefix, base) if prefix else ""
        return walk(path, prefix, rel, recursive, self._inside_real)

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

    def native_path(self, key: str) -> str:
        """The absolute filesystem path of ``key`` (symlinks not resolved)."""
        return self._prefix + key if key else self.root

    def describe(self) -> Mapping[str, object]:
        return {"root": self.root}
