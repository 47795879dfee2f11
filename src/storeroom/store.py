"""``Store``: a folder-scoped, validated, capability-gated view of a backend.

The Store is the only place user paths are validated and scoped to the root,
capabilities are checked (before any I/O), errors get their store-relative
path and context, and the wide user API is derived from the backend's few
primitives (spec STORE-*). The shared machinery lives in ``StoreCore``; the
read, write and listing families in ``_store_read``, ``_store_write`` and
``_store_list``; conditional writes in ``_store_cond``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from storeroom import _signed, _store_cond, _store_list, _store_read, _store_write
from storeroom._signed import DEFAULT_EXPIRES
from storeroom._store_core import StoreCore, StoreStream
from storeroom._store_support import GATES, check_depth
from storeroom.backend import Backend
from storeroom.capabilities import Capability
from storeroom.errors import CapabilityNotSupported, InvalidArgument, InvalidPath, NotFound
from storeroom.models import FileInfo, FolderEntry, FolderInfo, ResolutionPlan, WriteResult
from storeroom.path import RemotePath, join_key, normalize

if TYPE_CHECKING:
    from storeroom.mapping import StoreMapper
    from storeroom.transaction import Transaction

__all__ = ["GATES", "Store"]

T = TypeVar("T")
C = Capability


class Store(StoreCore):
    """Files under one folder of one backend. Immutable and thread-safe.

    Every path is relative to ``root_path``; no path can leave it. Build one
    with ``Registry.get_store`` or directly: ``Store(LocalBackend(root="/data"))``;
    both give the same typed, context-stamped errors.
    """

    __slots__ = ()

    # -- identity ---------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return self._given

    @property
    def root_path(self) -> str:
        return self._prefix

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._caps

    def supports(self, capability: Capability | str) -> bool:
        return Capability(capability) in self._caps

    def __repr__(self) -> str:
        label = f"name={self._name!r}, " if self._name else ""
        return f"Store({label}backend={self._given!r}, root_path={self._prefix!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Store)
            and other._given is self._given
            and other._prefix == self._prefix
        )

    def __hash__(self) -> int:
        return hash((id(self._given), self._prefix))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as configuration: the backend pickles as its options.
        return (_restore_store, (self._given, self._prefix, self._name))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- read -------------------------------------------------------------------

    def read(self, path: str) -> BinaryIO:
        """A streaming binary reader; close it (or use ``with``)."""
        self._gate("read")
        key = self._file_key(path)
        try:
            stream = self._backend.open_read(key)
        except Exception as exc:
            raise self._fail(exc, "read", key)
        return StoreStream(stream, self, "read", key)  # type: ignore[return-value]

    def read_bytes(self, path: str) -> bytes:
        """Whole file content."""
        self._gate("read_bytes")
        key = self._file_key(path)
        try:
            with self._backend.open_read(key) as stream:
                return stream.read()
        except Exception as exc:
            raise self._fail(exc, "read_bytes", key)

    def read_text(self, path: str, *, encoding: str = "utf-8", errors: str = "strict") -> str:
        """Whole file decoded as text; a decode error or unknown codec is ``InvalidArgument``."""
        self._gate("read_text")
        return _store_read.decode_text(self, path, self.read_bytes(path), encoding, errors)

    def read_range(self, path: str, start: int, end: int | None = None) -> bytes:
        """Bytes ``[start, end)``; ``end=None`` reads to the end. Past-EOF ranges shrink."""
        self._gate("read_range")
        return _store_read.read_range(self, path, start, end)

    def read_seekable(self, path: str) -> BinaryIO:
        """A seekable binary reader (native where the backend has it, else ranged reads)."""
        self._gate("read_seekable")
        return _store_read.read_seekable(self, path)

    # -- write ------------------------------------------------------------------

    def write(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> WriteResult:
        """Write bytes, a binary file object, or an iterable of bytes to ``path``.

        An existing file raises ``AlreadyExists`` unless ``overwrite=True``.
        ``if_match``: replace only while the file's etag is that (``PreconditionFailed``).
        """
        self._gate("write", path)
        return _store_cond.write(self, "write", path, content, overwrite, metadata, if_match, False)

    def write_text(
        self,
        path: str,
        text: str,
        *,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> WriteResult:
        """Encode ``text`` and write it; an encode error or unknown codec is ``InvalidArgument``."""
        self._gate("write_text", path)
        data = _store_write.encode_text(self, path, text, encoding)
        return _store_cond.write(
            self, "write_text", path, data, overwrite, metadata, if_match, False
        )

    def write_atomic(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
    ) -> WriteResult:
        """Like ``write``, but readers never see a partial file, even on failure."""
        self._gate("write_atomic", path)
        return _store_cond.write(
            self, "write_atomic", path, content, overwrite, metadata, if_match, True
        )

    @contextlib.contextmanager
    def open_atomic(self, path: str, *, overwrite: bool = False) -> Iterator[BinaryIO]:
        """Yield a writable binary stream; committed atomically on clean exit only.

        Content is spooled (in memory up to 8 MiB, then a temporary file) and
        written in one atomic write; an exception inside the block discards it.
        """
        self._gate("open_atomic", path)
        with _store_write.open_atomic(self, path, overwrite) as spool:
            yield spool

    # -- delete -----------------------------------------------------------------

    def delete(self, path: str, *, missing_ok: bool = False, if_match: str | None = None) -> None:
        """Delete one file. Missing: ``NotFound`` unless ``missing_ok``.

        ``if_match``: delete only while the file's etag is that (``PreconditionFailed``).
        """
        self._gate("delete", path)
        if if_match is not None:
            _store_cond.delete(self, path, if_match)
            return
        key = self._file_key(path)
        try:
            if missing_ok:  # no existence check: one request where a miss costs one more
                self._backend.discard(key)
            else:
                self._backend.delete(key)
        except NotFound as exc:
            if not missing_ok:
                raise self._fail(exc, "delete", key)
        except Exception as exc:
            raise self._fail(exc, "delete", key)

    def delete_folder(
        self, path: str, *, recursive: bool = False, missing_ok: bool = False
    ) -> None:
        """Delete a folder; non-empty needs ``recursive=True``. The root cannot be deleted."""
        self._gate("delete_folder", path)
        rel = normalize(path, backend=self._type)
        if not rel:
            raise InvalidPath(
                "the store root cannot be deleted",
                path="",
                backend=self._type,
                operation="delete_folder",
                store=self._name,
                hint="delete the folders inside it instead",
            )
        key = self._key(rel)
        try:
            self._backend.remove_folder(key, recursive=recursive)
        except NotFound as exc:
            if not missing_ok:
                raise self._fail(exc, "delete_folder", key)
        except Exception as exc:
            raise self._fail(exc, "delete_folder", key)

    # -- listing ----------------------------------------------------------------

    def list_files(
        self,
        path: str = "",
        *,
        recursive: bool = False,
        max_depth: int | None = None,
        pattern: str | None = None,
    ) -> Iterator[FileInfo]:
        """Files under ``path``, sorted by path; streams.

        ``max_depth`` (0 = direct files only) overrides ``recursive``; ``pattern``
        is a glob matched against each file's name.
        """
        self._gate("list_files")
        return _store_list.list_files(self, path, recursive, max_depth, pattern)

    def list_folders(
        self, path: str = "", *, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[FolderEntry]:
        """Sub-folders of ``path``: children only, or down to ``max_depth`` extra levels."""
        self._gate("list_folders")
        return _store_list.list_folders(self, path, max_depth, pattern)

    def iter_children(self, path: str = "") -> Iterator[FileInfo | FolderEntry]:
        """Immediate files and folders of ``path`` in one pass."""
        self._gate("iter_children")
        return _store_list.iterate(self, "iter_children", self._key(path), False)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Files matching ``pattern`` (``*``, ``?``, ``[..]``, ``**``), sorted by path."""
        self._gate("glob")
        return _store_list.glob(self, pattern)

    # -- move / copy --------------------------------------------------------------

    def _transfer(self, op: str, src: str, dst: str, overwrite: bool) -> None:
        skey, dkey = self._file_key(src), self._file_key(dst)
        backend = self._backend
        try:
            if skey == dkey:
                backend._check_file(skey)  # onto itself: a no-op, but src must exist
                return
            if op == "move":
                backend.move(skey, dkey, overwrite=overwrite)
            else:
                backend.copy(skey, dkey, overwrite=overwrite)
        except Exception as exc:
            raise self._fail(exc, op, skey)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Move a file. Atomic only where ``supports(Capability.ATOMIC_MOVE)``."""
        self._gate("move", src)
        self._transfer("move", src, dst, overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy a file (server-side where the backend can)."""
        self._gate("copy", src)
        self._transfer("copy", src, dst, overwrite)

    # -- metadata -------------------------------------------------------------------

    def exists(self, path: str = "") -> bool:
        """True for an existing file or folder (the store root always exists)."""
        key = self._key(path)
        if key == self._prefix:
            return True
        try:
            return self._backend.exists(key)
        except Exception as exc:
            raise self._fail(exc, "exists", key)

    def is_file(self, path: str) -> bool:
        key = self._key(path)
        if not key:
            return False
        try:
            return type(self._backend.stat(key)) is FileInfo
        except NotFound:
            return False
        except Exception as exc:
            raise self._fail(exc, "is_file", key)

    def is_folder(self, path: str = "") -> bool:
        """True for a folder; the store root is always one."""
        key = self._key(path)
        if key == self._prefix:
            return True
        try:
            return self._backend.is_folder(key)
        except Exception as exc:
            raise self._fail(exc, "is_folder", key)

    def get_file_info(self, path: str) -> FileInfo:
        """Size, time, etag, ... of a file; a folder is ``InvalidPath``."""
        self._gate("get_file_info")
        key = self._file_key(path)
        try:
            info = self._backend._check_file(key)
        except Exception as exc:
            raise self._fail(exc, "get_file_info", key)
        return info._rebase(self._rel(key)) if self._prefix else info

    def head(self, path: str) -> WriteResult:
        """A file's metadata in the shape of a ``WriteResult``."""
        self._gate("head")
        info = self.get_file_info(path)
        return WriteResult(
            path=info.path,
            size=info.size,
            etag=info.etag,
            last_modified=info.modified_at,
            digest=info.digest,
            metadata=dict(info.metadata or {}),
            source="sidecar",
        )

    def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """File count, total size and newest time below ``path`` (all depths by default)."""
        self._gate("get_folder_info")
        key = self._key(path)
        try:
            check_depth(max_depth)
        except InvalidArgument as exc:
            raise self._stamp(exc, "get_folder_info", self._rel(key)) from None
        count = total = 0
        newest: datetime | None = None
        files = self.list_files(path, recursive=max_depth is None, max_depth=max_depth)
        for info in files:
            count += 1
            total += info.size
            if info.modified_at is not None and (newest is None or info.modified_at > newest):
                newest = info.modified_at
        if count == 0 and key != self._prefix and not self.is_folder(path):
            raise NotFound(
                "folder not found",
                path=self._rel(key),
                backend=self._type,
                operation="get_folder_info",
                store=self._name,
            )
        return FolderInfo(RemotePath._trusted(self._rel(key)), count, total, newest)

    # -- always available -----------------------------------------------------------

    def child(self, subpath: str) -> Store:
        """A Store rooted at ``subpath`` of this one, sharing the backend."""
        sub = normalize(subpath, backend=self._type)
        return Store(self._given, join_key(self._prefix, sub), name=self._name, owns_backend=False)

    def mapper(self, path: str = "") -> StoreMapper:
        """The files under folder ``path`` as a ``MutableMapping[str, bytes]`` (keys relative)."""
        from storeroom.mapping import StoreMapper

        return StoreMapper(self, path)

    def resolve(self, path: str = "") -> ResolutionPlan:
        """How ``path`` maps onto the backend (no I/O)."""
        key = self._key(path)
        return ResolutionPlan(
            backend_type=self._type,
            store_path=RemotePath._trusted(self._rel(key)),
            native_path=self._backend.native_path(key),
            options=dict(self._backend.describe()),
        )

    def native_path(self, path: str = "") -> str:
        """The backend's own name for ``path`` (filesystem path, URL, key)."""
        return self._backend.native_path(self._key(path))

    def to_key(self, native: str) -> str:
        """Inverse of ``native_path``: the store-relative path of a native path."""
        root = self._backend.native_path(self._prefix)
        text = str(native).replace("\\", "/")
        root_n = root.replace("\\", "/").rstrip("/")
        if text == root_n:
            return ""
        if text.startswith(root_n + "/"):
            return normalize(text[len(root_n) + 1 :], backend=self._type)
        raise InvalidPath(
            "native path is outside this store's root",
            path=native,
            backend=self._type,
            hint=f"native paths of this store start with {root!r}",
        )

    def url(
        self, path: str, *, expires: int | timedelta = DEFAULT_EXPIRES, method: str = "GET"
    ) -> str:
        """A signed URL to download (``GET``) or upload (``PUT``) ``path`` without credentials.

        ``expires``: seconds or a ``timedelta``, at most 7 days (spec SIGN-*).
        """
        return _signed.signed_url(self, path, expires, method)

    def transaction(self) -> Transaction:
        """Changes published together on a clean ``with`` exit, or not at all (TXN-001)."""
        from storeroom.transaction import Transaction

        return Transaction(self)

    def ping(self) -> None:
        """Check the backend answers; raises ``BackendUnavailable`` when not."""
        try:
            self._backend.ping()
        except Exception as exc:
            raise self._fail(exc, "ping", self._prefix)

    def close(self) -> None:
        """Release the backend if this Store owns it (Registry stores: the Registry does)."""
        if self._owns:
            self._given.close()

    def unwrap(self, kind: type[T]) -> T:
        """The first backend or layer of type ``kind`` in this Store's stack, else the
        backend's SDK object of that type (``Backend.unwrap``, remote-store's meaning)."""
        current: Any = self._given
        while current is not None:
            if isinstance(current, kind):
                return current
            current = getattr(current, "inner", None)
        native = getattr(self._given, "unwrap", None)
        if native is not None:
            with contextlib.suppress(CapabilityNotSupported):
                handle: T = native(kind)
                return handle
        raise InvalidArgument(
            f"no {kind.__name__} in this store's backend stack nor among its SDK objects",
            backend=self._type,
        )


def _restore_store(backend: Backend, root: str, name: str | None) -> Store:
    return Store(backend, root, name=name)
