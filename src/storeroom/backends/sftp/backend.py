"""The ``sftp`` backend: files below ``base_path`` on an SSH server (paramiko).

Every write goes to a temporary name in the target's folder and is committed
in one server-side step: ``posix-rename@openssh.com`` to replace, or
``hardlink@openssh.com`` (fails when the name exists) for create-only writes,
so a dropped connection never leaves a partial file under the target name and
racing create-only writers cannot clobber each other (spec SFTP-*). Folders
are real; parents are created on demand. Many SFTP failures arrive as a bare
``SSH_FX_FAILURE``: the backend then stats the path and looks the answer up
in ``errors.FAILURE_TABLE``.
"""

from __future__ import annotations

import stat as st_
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, ClassVar, TypeVar

import paramiko
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_HANDLE,
    CMD_OPEN,
    CMD_REMOVE,
    CMD_RENAME,
    CMD_STAT,
    CMD_STATUS,
    SFTP_FLAG_CREATE,
    SFTP_FLAG_EXCL,
    SFTP_FLAG_READ,
    SFTP_FLAG_TRUNC,
    SFTP_FLAG_WRITE,
)

from storeroom._sources import is_user_error
from storeroom._store_support import TMP_PREFIX
from storeroom.backend import Backend, Entry, Source, entry_sort_key, iter_source, unsupported
from storeroom.backends.sftp._conn import Conn, Pool
from storeroom.backends.sftp._io import Replies, Stream, rmtree, write_all
from storeroom.backends.sftp.config import SFTPOptions
from storeroom.backends.sftp.errors import (
    BACKEND,
    FX_FAILURE,
    FX_NO_SUCH_FILE,
    TABLE,
    Found,
    SFTPStatusError,
)
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import RemotePath, listable

__all__ = ["SFTPBackend"]

T = TypeVar("T")
_IFMT = 0o170000
_IFDIR = st_.S_IFDIR
_IFREG = st_.S_IFREG
_NEW_TEMP = SFTP_FLAG_WRITE | SFTP_FLAG_CREATE | SFTP_FLAG_EXCL | SFTP_FLAG_TRUNC
_NO_ATTRS = paramiko.SFTPAttributes()


def _is_status(exc: BaseException, code: int) -> bool:
    return isinstance(exc, SFTPStatusError) and exc.code == code


class SFTPBackend(Backend):
    """Files below ``base_path`` on an SFTP server; see ``SFTPOptions``.

    ``SFTPBackend(host="example.org", username="me", key_filename="~/.ssh/id_ed25519")``.
    Connections are opened lazily, pooled and reopened after a drop.
    """

    type_name = BACKEND
    real_folders = True
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {Capability.LAZY_READ, Capability.ATOMIC_MOVE}
    )
    options_class: ClassVar[type[SFTPOptions]] = SFTPOptions

    def __init__(self, host: str, **options: Any) -> None:
        self._setup(SFTPOptions.parse({"host": host, **options}))

    def _setup(self, opts: SFTPOptions) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        self._root = opts.root()
        self._pool = Pool(opts)
        self._orphans: list[str] = []

    # -- helpers ------------------------------------------------------------------

    def _path(self, key: str) -> str:
        """The server path of ``key``: below ``base_path``, never absolute on its own."""
        if not key:
            return self._root or "."
        return f"{self._root}/{key}" if self._root else key

    def _found(self, conn: Conn, key: str) -> Found:
        try:
            mode = conn.sftp.stat(self._path(key)).st_mode or 0
        except SFTPStatusError as exc:
            if exc.code == FX_NO_SUCH_FILE:
                return "missing"
            raise
        kind = mode & _IFMT
        return "folder" if kind == _IFDIR else "file" if kind == _IFREG else "other"

    def _error(self, conn: Conn | None, exc: BaseException, op: str, key: str) -> StoreroomError:
        """Map ``exc``; a bare SSH_FX_FAILURE is explained by a stat of ``key``."""
        if is_user_error(exc) or isinstance(exc, StoreroomError):
            return exc  # type: ignore[return-value]
        lost = conn is not None and not conn.alive()
        if conn is not None and not lost and _is_status(exc, FX_FAILURE):
            try:
                err = TABLE.map(exc, key, operation=op, found=self._found(conn, key))
            except Exception as follow_up:
                err = TABLE.map(follow_up, key, operation=op)
        else:
            err = TABLE.map(exc, key, operation=op, lost=lost)
        err.__cause__ = exc
        return err

    def _call(self, op: str, key: str, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` on a pooled connection, mapping failures for ``key``."""
        conn, result = self._hold(op, key, fn)
        self._pool.release(conn)
        return result

    def _entry(self, key: str, attrs: paramiko.SFTPAttributes) -> Entry:
        name = key.rpartition("/")[2]
        if (attrs.st_mode or 0) & _IFMT == _IFDIR:
            return FolderEntry._fast(key, name)
        mtime = datetime.fromtimestamp(attrs.st_mtime or 0, UTC)
        return FileInfo._fast(key, name, attrs.st_size or 0, mtime)

    # -- reads ----------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """Entry of a file or folder (symlinks followed by the server)."""
        attrs = self._call("stat", key, lambda c: c.sftp.stat(self._path(key)))
        return self._entry(key, attrs)

    def exists(self, key: str) -> bool:
        """One stat request; a miss builds no exception object of ours."""
        path = self._path(key)

        def run(conn: Conn) -> bool:
            replies = Replies(conn)
            t, msg = replies.wait(replies.send(CMD_STAT, path))
            if t == CMD_STATUS:
                code = msg.get_int()
                if code == FX_NO_SUCH_FILE:
                    return False
                raise SFTPStatusError(code, msg.get_text())
            return True

        return self._call("exists", key, run)

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        try:
            return isinstance(self.stat(key), FolderEntry)
        except NotFound:
            return False

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A lazy stream keeping a window of read requests in flight (holds one connection)."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise InvalidPath("byte offsets must not be negative", path=key, backend=BACKEND)
        path = self._path(key)

        def opened(conn: Conn) -> bytes:
            t, msg = conn.sftp.request(CMD_OPEN, path, SFTP_FLAG_READ, _NO_ATTRS)
            if t != CMD_HANDLE or msg is None:
                raise paramiko.SFTPError("expected a handle")
            handle: bytes = msg.get_binary()
            return handle

        conn, handle = self._hold("open_read", key, opened)

        def fail(exc: BaseException) -> StoreroomError:
            return self._error(conn, exc, "open_read", key)

        def on_close(c: Conn, broken: bool) -> None:
            self._pool.release(c, broken=broken)

        raw = Stream(conn, handle, start or 0, end, on_close, fail)
        raw.prime()
        return raw  # type: ignore[return-value]

    def _hold(self, op: str, key: str, fn: Callable[[Conn], T]) -> tuple[Conn, T]:
        """Like ``_call`` but keeps the connection (the caller releases it)."""

        def guarded(conn: Conn) -> T:
            if self._orphans:
                self._sweep(conn)
            try:
                return fn(conn)
            except StoreroomError:
                raise
            except SFTPStatusError as exc:
                raise self._error(conn, exc, op, key) from exc
            except Exception as exc:
                if conn.alive():
                    raise  # mapped below, after the pool has seen it
                raise self._error(conn, exc, op, key) from exc

        try:
            return self._pool.start(guarded)
        except StoreroomError:
            raise
        except Exception as exc:
            raise self._error(None, exc, op, key) from exc

    # -- writes ---------------------------------------------------------------------

    def _mkdirs(self, conn: Conn, folder: str) -> None:
        """``mkdir -p`` of ``folder`` (a key); a file on the way is ``InvalidPath``."""
        try:
            conn.sftp.mkdir(self._path(folder))
            return
        except SFTPStatusError as exc:
            if exc.code == FX_NO_SUCH_FILE and "/" in folder:
                self._mkdirs(conn, folder.rpartition("/")[0])
            elif exc.code == FX_NO_SUCH_FILE and folder and self._root:
                self._mkdir_root(conn)
            elif exc.code == FX_FAILURE:
                found = self._found(conn, folder)
                if found == "folder":
                    return
                raise TABLE.map(exc, folder, operation="mkdir", found=found) from exc
            else:
                raise
        try:
            conn.sftp.mkdir(self._path(folder))
        except SFTPStatusError as exc:
            if exc.code != FX_FAILURE or self._found(conn, folder) != "folder":
                if exc.code == FX_FAILURE:
                    found = self._found(conn, folder)
                    raise TABLE.map(exc, folder, operation="mkdir", found=found) from exc
                raise

    def _mkdir_root(self, conn: Conn) -> None:
        parts = self._root.split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if not path:
                continue
            try:
                conn.sftp.mkdir(path)
            except SFTPStatusError as exc:
                if exc.code != FX_FAILURE:
                    raise

    def _open_temp(self, conn: Conn, key: str) -> tuple[str, bytes]:
        """Create a fresh temporary file next to ``key`` (parents made on demand)."""
        parent = key.rpartition("/")[0]
        tmp = (
            f"{parent}/{TMP_PREFIX}{uuid.uuid4().hex}.tmp"
            if parent
            else f"{TMP_PREFIX}{uuid.uuid4().hex}.tmp"
        )
        for attempt in (0, 1):
            try:
                t, msg = conn.sftp.request(CMD_OPEN, self._path(tmp), _NEW_TEMP, _NO_ATTRS)
                if t != CMD_HANDLE or msg is None:
                    raise paramiko.SFTPError("expected a handle")
                return tmp, msg.get_binary()
            except SFTPStatusError as exc:
                if attempt or exc.code != FX_NO_SUCH_FILE:
                    raise
                if parent:
                    self._mkdirs(conn, parent)
                else:
                    self._mkdir_root(conn)
        raise AssertionError("unreachable")

    def _commit(self, conn: Conn, tmp: str, key: str, overwrite: bool, op: str) -> None:
        """Move the finished ``tmp`` onto ``key``: replace, or create-only (no clobber)."""
        try:
            self._place(conn, tmp, key, overwrite)
        except BaseException as exc:
            self._quiet_remove(conn, tmp)
            if isinstance(exc, SFTPStatusError):
                raise self._error(conn, exc, op, key) from exc
            raise

    def _place(self, conn: Conn, src: str, key: str, overwrite: bool, move: bool = False) -> None:
        """Commit ``src`` (a temporary file, or a file being moved) under ``key``.

        For a ``move`` the source's removal is awaited: movers racing on one file
        can all link it, and each whose removal finds it gone removes its own
        link again and gets ``NotFound`` (SFTP-044).
        """
        sftp = conn.sftp
        if overwrite:
            sftp.posix_rename(self._path(src), self._path(key))
            return
        if not conn.hardlink:
            # SSH_FXP_RENAME must fail on an existing target (SFTP v3).
            sftp.request(CMD_RENAME, self._path(src), self._path(key))
            return
        sftp.request(CMD_EXTENDED, "hardlink@openssh.com", self._path(src), self._path(key))
        if not move:  # a private temporary: its removal's reply is read by the next request
            sftp.send_async(type(None), CMD_REMOVE, self._path(src))
            return
        try:
            sftp.request(CMD_REMOVE, self._path(src))
        except SFTPStatusError as exc:
            if exc.code != FX_NO_SUCH_FILE:
                raise
            self._quiet_remove(conn, key)
            msg = "file not found (another client moved or deleted it meanwhile)"
            raise NotFound(msg, path=src, backend=BACKEND, operation="move") from exc

    def _sweep(self, conn: Conn) -> None:
        """Remove temporary files left by writes whose connection dropped (SFTP-040).

        The server keeps a half-written temporary file when the connection dies;
        the next working connection removes it. A removal that fails on a dead
        connection is tried again later; any other failure is given up.
        """
        while self._orphans:
            try:
                tmp = self._orphans.pop()
            except IndexError:
                return
            try:
                conn.sftp.remove(self._path(tmp))
            except Exception:
                if not conn.alive():
                    self._orphans.append(tmp)
                    return

    def _quiet_remove(self, conn: Conn, path_key: str) -> None:
        try:
            conn.sftp.remove(self._path(path_key))
        except Exception:
            pass

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Write into a temporary file, then commit it in one server-side step."""
        if metadata:
            raise unsupported(Capability.USER_METADATA, BACKEND, "write")
        return self._write(key, lambda conn: iter_source(src, conn.write_size), overwrite, "write")

    def _write(
        self, key: str, chunks: Callable[[Conn], Any], overwrite: bool, op: str
    ) -> WriteResult:
        conn, (tmp, handle) = self._hold(op, key, lambda c: self._open_temp(c, key))
        broken = False
        try:
            try:
                size, mtime = write_all(conn, handle, chunks(conn))
            except BaseException as exc:
                if isinstance(exc, SFTPStatusError | paramiko.SFTPError):
                    self._quiet_remove(conn, tmp)
                    raise self._error(conn, exc, op, key) from exc
                if is_user_error(exc) or not isinstance(exc, Exception):
                    self._quiet_remove(conn, tmp)
                    raise
                raise
            self._commit(conn, tmp, key, overwrite, op)
        except StoreroomError:
            raise
        except BaseException as exc:
            if is_user_error(exc) or not isinstance(exc, Exception):
                raise
            broken = True
            self._orphans.append(tmp)
            raise self._error(conn, exc, op, key) from exc
        finally:
            self._pool.release(conn, broken=broken)
        return WriteResult(
            RemotePath._trusted(key), size, last_modified=datetime.fromtimestamp(mtime, UTC)
        )

    # -- delete, move, copy -----------------------------------------------------------

    def delete(self, key: str) -> None:
        """Remove one file; a folder is ``InvalidPath``."""
        self._call("delete", key, lambda c: c.sftp.remove(self._path(key)))

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename on the server: atomic replace, or hard link + unlink (never clobbers)."""

        def run(conn: Conn) -> None:
            if self._found(conn, src) != "file":
                found = self._found(conn, src)
                if found == "missing":
                    raise NotFound("file not found", path=src, backend=BACKEND, operation="move")
                raise InvalidPath("expected a file, found a folder", path=src, backend=BACKEND)
            try:
                self._place(conn, src, dst, overwrite, move=True)
            except SFTPStatusError as exc:
                if exc.code != FX_NO_SUCH_FILE or "/" not in dst:
                    raise self._error(conn, exc, "move", dst) from exc
                self._mkdirs(conn, dst.rpartition("/")[0])
                try:
                    self._place(conn, src, dst, overwrite, move=True)
                except SFTPStatusError as again:
                    raise self._error(conn, again, "move", dst) from again

        self._call("move", dst, run)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """``rmdir``, or a depth-first removal of everything below with ``recursive``."""
        if not key:
            raise InvalidPath("refusing to remove the backend root", path=key, backend=BACKEND)

        def run(conn: Conn) -> None:
            found = self._found(conn, key)
            if found != "folder":
                # What rmdir would answer (a bare failure), explained by the stat.
                bare = SFTPStatusError(FX_FAILURE, "not a folder")
                raise TABLE.map(bare, key, operation="remove_folder", found=found)
            if recursive:
                rmtree(conn, self._path(key))
            else:
                conn.sftp.rmdir(self._path(key))

        self._call("remove_folder", key, run)

    # -- listing and housekeeping -------------------------------------------------------

    def _scan(self, key: str) -> list[Entry]:
        """The sorted entries of folder ``key`` (paths are keys); [] when not a folder."""

        def run(conn: Conn) -> list[paramiko.SFTPAttributes]:
            try:
                return conn.sftp.listdir_attr(self._path(key))
            except SFTPStatusError as exc:
                if exc.code in (FX_NO_SUCH_FILE, FX_FAILURE):
                    return []
                raise

        out: list[Entry] = []
        for attrs in self._call("list", key, run):
            name = attrs.filename
            kind = (attrs.st_mode or 0) & _IFMT
            if name.startswith(TMP_PREFIX) or kind not in (_IFDIR, _IFREG):
                continue  # unfinished writes, symlinks, devices: not part of the store
            path = f"{key}/{name}" if key else name
            if listable(path, BACKEND):  # a name with "\\" is no store path (BACKEND-006)
                out.append(self._entry(path, attrs))
        out.sort(key=entry_sort_key)
        return out

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Sorted entries; recursive listings walk depth-first, one folder in memory per level."""
        return self._walk(prefix, recursive, len(base) + 1 if base else 0)

    def _walk(self, prefix: str, recursive: bool, cut: int) -> Iterator[Entry]:
        for entry in self._scan(prefix):
            yield entry._rebase(entry.path[cut:]) if cut else entry
            if recursive and isinstance(entry, FolderEntry):
                yield from self._walk(entry.path, True, cut)

    def ping(self) -> None:
        """One request: the server answers and the login works."""
        self._call("ping", "", lambda c: c.sftp.normalize("."))

    def native_path(self, key: str) -> str:
        o = self.options
        user = f"{o.username}@" if o.username else ""
        # A relative path is relative to the login folder: shown without a leading "/".
        return f"sftp://{user}{o.host}:{o.port}/{self._path(key).removeprefix('/')}"

    def describe(self) -> Mapping[str, object]:
        o = self.options
        return {
            "host": o.host,
            "port": o.port,
            "username": o.username,
            "base_path": self._root,
            "host_key_policy": o.host_key_policy,
        }

    def close(self) -> None:
        """Close idle connections; the backend reconnects lazily when used again."""
        self._pool.close()
