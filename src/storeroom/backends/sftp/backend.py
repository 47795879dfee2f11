"""The ``sftp`` backend: files below ``base_path`` on an SSH server (paramiko).

Roles, each working on one ``SFTPCore`` (``_core``: options, the connection
pool, server paths, error mapping, stats): ``_read`` (stat, exists, lazy
streams), ``_write`` (writes and moves), ``_delete`` (files and folders),
``_list`` (folder listings); ``_io`` pipelines the requests and ``_conn``
connects and pools (spec SFTP-090).

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

from collections.abc import Callable, Iterator, Mapping
from typing import Any, BinaryIO, ClassVar, TypeVar

from storeroom.backend import Backend, Entry, Source, iter_source, unsupported
from storeroom.backends.sftp import _delete, _list, _read, _write
from storeroom.backends.sftp._conn import Conn, Pool
from storeroom.backends.sftp._core import SFTPCore
from storeroom.backends.sftp.config import SFTPOptions
from storeroom.backends.sftp.errors import BACKEND
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.models import WriteResult

__all__ = ["SFTPBackend"]

T = TypeVar("T")


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
        self._core = SFTPCore(opts)

    # -- plumbing (kept for tests and tools that reach the connections) -------------

    @property
    def _pool(self) -> Pool:
        return self._core.pool

    @property
    def _orphans(self) -> list[str]:
        return self._core.orphans

    def _path(self, key: str) -> str:
        """The server path of ``key``."""
        return self._core.path(key)

    def _call(self, op: str, key: str, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` on a pooled connection, mapping failures for ``key``."""
        return self._core.call(op, key, fn)

    # -- reads ----------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """Entry of a file or folder (symlinks followed by the server)."""
        return _read.stat(self._core, key)

    def exists(self, key: str) -> bool:
        """One stat request; a miss builds no exception object of ours."""
        return _read.exists(self._core, key)

    def is_folder(self, key: str) -> bool:
        return _read.is_folder(self._core, key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A lazy stream keeping a window of read requests in flight (holds one connection)."""
        return _read.open_read(self._core, key, start, end)

    # -- writes, moves, removals ----------------------------------------------------

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
        return _write.write(
            self._core, key, lambda conn: iter_source(src, conn.write_size), overwrite, "write"
        )

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename on the server: atomic replace, or hard link + unlink (never clobbers)."""
        _write.move(self._core, src, dst, overwrite)

    def delete(self, key: str) -> None:
        """Remove one file; a folder is ``InvalidPath``."""
        _delete.delete(self._core, key)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """``rmdir``, or a depth-first removal of everything below with ``recursive``."""
        _delete.remove_folder(self._core, key, recursive)

    # -- listing and housekeeping -------------------------------------------------------

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Sorted entries; recursive listings walk depth-first, one folder in memory per level."""
        return _list.walk(self._core, prefix, recursive, len(base) + 1 if base else 0)

    def ping(self) -> None:
        """One request: the server answers and the login works."""
        self._core.ping()

    def native_path(self, key: str) -> str:
        o = self.options
        user = f"{o.username}@" if o.username else ""
        # A relative path is relative to the login folder: shown without a leading "/".
        return f"sftp://{user}{o.host}:{o.port}/{self._core.path(key).removeprefix('/')}"

    def describe(self) -> Mapping[str, object]:
        o = self.options
        return {
            "host": o.host,
            "port": o.port,
            "username": o.username,
            "base_path": self._core.root,
            "host_key_policy": o.host_key_policy,
        }

    def close(self) -> None:
        """Close idle connections; the backend reconnects lazily when used again."""
        self._core.close()
