"""``Store``: a folder-scoped, validated, capability-gated view of a backend.

The Store is the only place user paths are validated and scoped to the root,
capabilities are checked (before any I/O), errors get their store-relative
path and context, and the wide user API is derived from the backend's few
primitives (spec STORE-*).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, TypeVar

from storeroom._glob import compile_glob
from storeroom._mask import scrub_exception
from storeroom._rangeio import open_seekable
from storeroom._sources import is_user_error, to_source
from storeroom._store_support import (
    GATES,
    SPOOL_MAX,
    TMP_PREFIX,
    check_depth,
    check_metadata,
    filter_files,
    filter_folders,
    store_capabilities,
)
from storeroom.backend import Backend, Entry, unsupported
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    InvalidArgument,
    InvalidPath,
    NotFound,
    StoreroomError,
    UnexpectedError,
)
from storeroom.models import FileInfo, FolderEntry, FolderInfo, ResolutionPlan, WriteResult
from storeroom.path import RemotePath, join_key, normalize, normalize_file

__all__ = ["GATES", "Store"]

T = TypeVar("T")
C = Capability


class Store:
    """Files under one folder of one backend. Immutable and thread-safe.

    Every path is relative to ``root_path``; no path can leave it. Build one
    with ``Registry.get_store`` or directly: ``Store(LocalBackend(root="/data"))``.
    """

    __slots__ = ("_backend", "_caps", "_name", "_owns", "_prefix", "_type")

    def __init__(
        self,
        backend: Backend,
        root_path: str = "",
        *,
        name: str | None = None,
        owns_backend: bool = True,
    ) -> None:
        if not isinstance(backend, Backend):
            raise InvalidArgument(
                f"Store needs a storeroom Backend, got {type(backend).__name__}",
                hint="build one with Registry.get_store() or e.g. LocalBackend(root=...)",
            )
        self._backend = backend
        self._prefix = normalize(root_path)
        self._name = name
        self._type = backend.type_name
        self._caps = store_capabilities(backend)
        self._owns = owns_backend

    # -- identity ---------------------------------------------------------------

    @property
    def backend(self) -> Backend:
        return self._backend

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
        return f"Store({label}backend={self._backend!r}, root_path={self._prefix!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Store)
            and other._backend is self._backend
            and other._prefix == self._prefix
        )

    def __hash__(self) -> int:
        return hash((id(self._backend), self._prefix))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as configuration: the backend pickles as its options.
        return (_restore_store, (self._backend, self._prefix, self._name))

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals --------------------------------------------------------------

    def _gate(self, method: str) -> None:
        cap = GATES[method]
        if cap not in self._caps:
            raise unsupported(cap, self._type, method).with_context(store=self._name)

    def _key(self, path: object) -> str:
        try:
            key = normalize(path, backend=self._type)
        except InvalidPath as exc:
            raise self._bad_path(exc) from None
        if self._prefix:
            return f"{self._prefix}/{key}" if key else self._prefix
        return key

    def _file_key(self, path: object) -> str:
        try:
            key = normalize_file(path, backend=self._type)
        except InvalidPath as exc:
            raise self._bad_path(exc) from None
        return f"{self._prefix}/{key}" if self._prefix else key

    def _bad_path(self, exc: InvalidPath) -> InvalidPath:
        # Off the hot path: name the public method that was called.
        frame = sys._getframe(2)
        op = None
        for _ in range(4):
            if frame is None:
                break
            name = frame.f_code.co_name
            if not name.startswith("_") and hasattr(Store, name):
                op = name
                break
            frame = frame.f_back  # type: ignore[assignment]
        exc.with_context(store=self._name, operation=op)
        return exc

    def _rel(self, key: str) -> str:
        """Store-relative path of a backend key."""
        p = self._prefix
        if not p:
            return key
        if key == p:
            return ""
        if key.startswith(p) and key[len(p) : len(p) + 1] == "/":
            return key[len(p) + 1 :]
        return key

    def _fail(self, exc: Exception, op: str, key: str) -> Exception:
        """Translate any failure inside a backend call into a contextual storeroom error."""
        if is_user_error(exc):
            return exc
        scrub_exception(exc)  # secrets masked in the whole cause chain (CONFIG-037)
        if isinstance(exc, StoreroomError):
            exc.path = self._rel(exc.path) if exc.path is not None else self._rel(key)
            # The public method the user called wins over the primitive the
            # context layer stamped underneath it.
            exc.operation = op
            exc.with_context(backend=self._type, store=self._name)
            return exc
        err = UnexpectedError(
            f"unexpected {type(exc).__name__} from the backend",
            path=self._rel(key),
            backend=self._type,
            operation=op,
            store=self._name,
            hint="this is a bug in the backend's error mapping; please report it",
        )
        err.__cause__ = exc
        return err

    # -- read -------------------------------------------------------------------

    def read(self, path: str) -> BinaryIO:
        """A streaming binary reader; close it (or use ``with``)."""
        self._gate("read")
        key = self._file_key(path)
        try:
            return self._backend.open_read(key)
        except Exception as exc:
            raise self._fail(exc, "read", key)

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
        """Whole file decoded as text."""
        self._gate("read_text")
        data = self.read_bytes(path)
        try:
            return data.decode(encoding, errors)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InvalidArgument(
                f"cannot decode as {encoding}: {exc}",
                path=normalize(path),
                backend=self._type,
                operation="read_text",
                store=self._name,
                hint="pass the right encoding= or use read_bytes()",
            ) from exc

    def read_range(self, path: str, start: int, end: int | None = None) -> bytes:
        """Bytes ``[start, end)``; ``end=None`` reads to the end. Past-EOF ranges shrink."""
        self._gate("read_range")
        if (
            not isinstance(start, int)
            or start < 0
            or (end is not None and (not isinstance(end, int) or end < start))
        ):
            raise InvalidArgument(
                f"invalid byte range start={start!r} end={end!r}",
                path=normalize(path),
                backend=self._type,
                operation="read_range",
                hint="use 0 <= start <= end (end exclusive, None for end of file)",
            )
        key = self._file_key(path)
        if end == start:
            try:
                self._backend._check_file(key)
            except Exception as exc:
                raise self._fail(exc, "read_range", key)
            return b""
        try:
            with self._backend.open_read(key, start, end) as stream:
                return stream.read()
        except Exception as exc:
            raise self._fail(exc, "read_range", key)

    def read_seekable(self, path: str) -> BinaryIO:
        """A seekable binary reader (native where the backend has it, else ranged reads)."""
        self._gate("read_seekable")
        key = self._file_key(path)
        backend = self._backend
        try:
            if C.SEEKABLE_READ in self._caps:
                stream = backend.open_read(key)
                if stream.seekable():
                    return stream
                stream.close()
            size = backend._check_file(key).size
        except Exception as exc:
            raise self._fail(exc, "read_seekable", key)

        def opener(start: int, end: int | None) -> BinaryIO:
            try:
                return backend.open_read(key, start, end)
            except Exception as exc:
                raise self._fail(exc, "read_seekable", key)

        reader: BinaryIO = open_seekable(opener, size, name=self._rel(key))
        return reader

    # -- write ------------------------------------------------------------------

    def _write(
        self,
        op: str,
        path: str,
        content: object,
        overwrite: bool,
        metadata: Mapping[str, str] | None,
        atomic: bool,
    ) -> WriteResult:
        key = self._file_key(path)
        if metadata:
            check_metadata(metadata, self._rel(key))
            if C.USER_METADATA not in self._caps:
                raise unsupported(C.USER_METADATA, self._type, op).with_context(
                    path=self._rel(key), store=self._name
                )
        src = to_source(content)
        try:
            if atomic and C.ATOMIC_WRITE not in self._backend.capabilities:
                result = self._write_via_move(key, src, overwrite, metadata)
            else:
                result = self._backend.write(
                    key, src, overwrite=overwrite, metadata=metadata, atomic=atomic
                )
        except Exception as exc:
            raise self._fail(exc, op, key)
        return result._rebase(self._rel(result.path)) if self._prefix else result

    def _write_via_move(
        self, key: str, src: Any, overwrite: bool, metadata: Mapping[str, str] | None
    ) -> WriteResult:
        import uuid

        parent = key.rpartition("/")[0]
        tmp = join_key(parent, f"{TMP_PREFIX}{uuid.uuid4().hex}.tmp")
        result = self._backend.write(tmp, src, overwrite=False, metadata=metadata)
        try:
            self._backend.move(tmp, key, overwrite=overwrite)
        except BaseException:
            with contextlib.suppress(Exception):
                self._backend.delete(tmp)
            raise
        return result._rebase(key)

    def write(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write bytes, a binary file object, or an iterable of bytes to ``path``.

        An existing file raises ``AlreadyExists`` unless ``overwrite=True``.
        """
        self._gate("write")
        return self._write("write", path, content, overwrite, metadata, False)

    def write_text(
        self,
        path: str,
        text: str,
        *,
        encoding: str = "utf-8",
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Encode ``text`` and write it."""
        self._gate("write_text")
        if not isinstance(text, str):
            raise InvalidArgument(
                f"write_text() needs str, got {type(text).__name__}",
                path=str(path),
                backend=self._type,
                hint="use write() for bytes",
            )
        return self._write("write_text", path, text.encode(encoding), overwrite, metadata, False)

    def write_atomic(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Like ``write``, but readers never see a partial file, even on failure."""
        self._gate("write_atomic")
        return self._write("write_atomic", path, content, overwrite, metadata, True)

    @contextlib.contextmanager
    def open_atomic(self, path: str, *, overwrite: bool = False) -> Iterator[BinaryIO]:
        """Yield a writable binary stream; committed atomically on clean exit only.

        Content is spooled (in memory up to 8 MiB, then a temporary file) and
        written in one atomic write; an exception inside the block discards it.
        """
        self._gate("open_atomic")
        key = self._file_key(path)
        if not overwrite:
            try:
                exists = self._backend.exists(key)
            except Exception as exc:
                raise self._fail(exc, "open_atomic", key)
            if exists:
                raise AlreadyExists(
                    "file already exists",
                    path=self._rel(key),
                    backend=self._type,
                    operation="open_atomic",
                    store=self._name,
                    hint="pass overwrite=True to replace it",
                )
        import tempfile  # imported here: it costs ~3 ms and most programs never need it

        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as spool:
            yield spool  # type: ignore[misc]
            spool.seek(0)
            self._write("open_atomic", self._rel(key), spool, overwrite, None, True)

    # -- delete -----------------------------------------------------------------

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Delete one file. Missing: ``NotFound`` unless ``missing_ok``."""
        self._gate("delete")
        key = self._file_key(path)
        try:
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
        self._gate("delete_folder")
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

    def _iterate(self, op: str, key: str, recursive: bool) -> Iterator[Entry]:
        try:
            yield from self._backend.list(key, recursive=recursive, base=self._prefix)
        except Exception as exc:
            raise self._fail(exc, op, key)

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
        check_depth(max_depth)
        key = self._key(path)
        rec = max_depth > 0 if max_depth is not None else recursive
        entries = self._iterate("list_files", key, rec)
        base = self._rel(key)
        base_depth = base.count("/") + 1 if base else 0
        return filter_files(entries, max_depth, base_depth, pattern)

    def list_folders(
        self, path: str = "", *, max_depth: int | None = None, pattern: str | None = None
    ) -> Iterator[FolderEntry]:
        """Sub-folders of ``path``: children only, or down to ``max_depth`` extra levels."""
        self._gate("list_folders")
        check_depth(max_depth)
        key = self._key(path)
        depth = max_depth or 0
        entries = self._iterate("list_folders", key, depth > 0)
        base = self._rel(key)
        base_depth = base.count("/") + 1 if base else 0
        return filter_folders(entries, depth, base_depth, pattern)

    def iter_children(self, path: str = "") -> Iterator[FileInfo | FolderEntry]:
        """Immediate files and folders of ``path`` in one pass."""
        self._gate("iter_children")
        return self._iterate("iter_children", self._key(path), False)

    def glob(self, pattern: str) -> Iterator[FileInfo]:
        """Files matching ``pattern`` (``*``, ``?``, ``[..]``, ``**``), sorted by path."""
        self._gate("glob")
        norm = normalize(pattern, backend=self._type)
        prefix, recursive, regex = compile_glob(norm)
        entries = self._iterate("glob", self._key(prefix), recursive)
        match = regex.match
        return (e for e in entries if type(e) is FileInfo and match(e.path))

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
        self._gate("move")
        self._transfer("move", src, dst, overwrite)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy a file (server-side where the backend can)."""
        self._gate("copy")
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
        )

    def get_folder_info(self, path: str = "", *, max_depth: int | None = None) -> FolderInfo:
        """File count, total size and newest time below ``path`` (all depths by default)."""
        self._gate("get_folder_info")
        check_depth(max_depth)
        key = self._key(path)
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
        return Store(
            self._backend, join_key(self._prefix, sub), name=self._name, owns_backend=False
        )

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

    def ping(self) -> None:
        """Check the backend answers; raises ``BackendUnavailable`` when not."""
        try:
            self._backend.ping()
        except Exception as exc:
            raise self._fail(exc, "ping", self._prefix)

    def close(self) -> None:
        """Release the backend if this Store owns it (Registry stores: the Registry does)."""
        if self._owns:
            self._backend.close()

    def unwrap(self, kind: type[T]) -> T:
        """The first backend or layer of type ``kind`` in this Store's stack."""
        current: Any = self._backend
        while current is not None:
            if isinstance(current, kind):
                return current
            current = getattr(current, "inner", None)
        raise InvalidArgument(
            f"no {kind.__name__} in this store's backend stack",
            backend=self._type,
        )


def _restore_store(backend: Backend, root: str, name: str | None) -> Store:
    return Store(backend, root, name=name)
