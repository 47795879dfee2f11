"""``StoreHandler``: a ``pyarrow.fs.FileSystemHandler`` whose every call goes through a Store.

Arrow paths are store-relative (a leading ``/`` is ignored). Folders follow
the backend: where folders are real (local, sftp, memory, Azure with a
hierarchical namespace) they are created and kept; on flat backends (S3,
flat Azure, SQL) a folder exists while files exist below it and
``create_dir`` makes nothing. Storeroom's typed errors come out of pyarrow
calls unchanged (spec ARROW-*).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.fs as pafs  # type: ignore[import-untyped]

from storeroom._store_support import TMP_PREFIX
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    InvalidArgument,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.ext.arrow._files import AtomicOutput, RangedFile
from storeroom.models import FileInfo
from storeroom.path import normalize
from storeroom.store import Store

__all__ = ["StoreHandler"]

#: Default seconds a size seen in a listing or ``get_file_info`` stands in for a stat.
SIZE_TTL = 30.0
#: Most sizes remembered at once (the oldest is dropped first).
SIZE_MAX = 10_000
#: Name of the short-lived file that makes a folder on real-folder backends.
_MARKER = f"{TMP_PREFIX}dir-"


def _by_path(info: pafs.FileInfo) -> str:
    return str(info.path)


class StoreHandler(pafs.FileSystemHandler):  # type: ignore[misc]
    """Arrow's filesystem calls mapped onto one Store; pickles as the Store.

    ``size_ttl``: for that many seconds a file size this handler saw (in
    ``get_file_info`` or a listing) is used to open the file without another
    stat; ``0`` stats on every open. Writes through this filesystem forget
    the size at once; a change made elsewhere inside the window is not seen.
    """

    def __init__(self, store: Store, *, size_ttl: float = SIZE_TTL) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"arrow_filesystem needs a storeroom Store, got {type(store)!r}")
        if isinstance(size_ttl, bool) or not isinstance(size_ttl, int | float) or size_ttl < 0:
            raise InvalidArgument(
                f"size_ttl must be a number of seconds >= 0, got {size_ttl!r}",
                backend=store.backend.type_name,
                store=store.name,
            )
        self.store = store
        self.size_ttl = float(size_ttl)
        self._type = store.backend.type_name
        self._sizes: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.store, self.size_ttl))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StoreHandler) and other.store == self.store

    def __hash__(self) -> int:
        return hash(self.store)

    # -- helpers ------------------------------------------------------------------

    def _path(self, path: str, op: str) -> str:
        """The normalised store-relative path; a bad one is ``InvalidPath`` with context."""
        try:
            return normalize(path, backend=self._type)
        except InvalidPath as exc:
            exc.with_context(store=self.store.name, operation=op)
            raise

    def _error(
        self, cls: type[StoreroomError], message: str, path: str, op: str, hint: str | None = None
    ) -> StoreroomError:
        return cls(
            message, path=path, backend=self._type, operation=op, store=self.store.name, hint=hint
        )

    def _remember(self, info: FileInfo) -> None:
        if not self.size_ttl:
            return
        with self._lock:
            sizes = self._sizes
            sizes.pop(info.path, None)
            if len(sizes) >= SIZE_MAX:
                del sizes[next(iter(sizes))]
            sizes[info.path] = (info.size, time.monotonic())

    def _recall(self, path: str) -> int | None:
        """A size seen within the last ``SIZE_TTL`` seconds, else ``None``."""
        with self._lock:
            entry = self._sizes.get(path)
        if entry is None or time.monotonic() - entry[1] >= self.size_ttl:
            return None
        return entry[0]

    def _forget(self, path: str) -> None:
        with self._lock:
            self._sizes.pop(path, None)

    def _file_info(self, info: FileInfo, path: str | None = None) -> pafs.FileInfo:
        self._remember(info)
        return pafs.FileInfo(
            path if path is not None else str(info.path),
            pafs.FileType.File,
            size=info.size,
            mtime=info.modified_at,
        )

    # -- identity -------------------------------------------------------------------

    def get_type_name(self) -> str:
        return f"storeroom+{self._type}"

    def equals(self, other: Any) -> bool:
        handler = getattr(other, "handler", None)
        return isinstance(handler, StoreHandler) and handler.store == self.store

    def normalize_path(self, path: str) -> str:
        return self._path(path, "normalize_path")

    # -- metadata -------------------------------------------------------------------

    def get_file_info(self, paths: Iterable[str]) -> list[pafs.FileInfo]:
        return [self._one_info(p) for p in paths]

    def _one_info(self, given: str) -> pafs.FileInfo:
        path = self._path(given, "get_file_info")
        store = self.store
        if not path:
            return pafs.FileInfo(given, pafs.FileType.Directory)
        try:
            return self._file_info(store.get_file_info(path), given)
        except (NotFound, InvalidPath):  # InvalidPath: a folder (or a malformed path)
            if store.is_folder(path):
                return pafs.FileInfo(given, pafs.FileType.Directory)
            if store.exists(path):
                raise
        return pafs.FileInfo(given, pafs.FileType.NotFound)

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        base = self._path(selector.base_dir, "get_file_info_selector")
        entries = sorted(self._select(base, selector.recursive), key=_by_path)
        if not entries and base and not self.store.is_folder(base):
            if self.store.is_file(base):
                raise self._error(
                    InvalidPath, "expected a folder, found a file", base, "get_file_info_selector"
                )
            if selector.allow_not_found:
                return []
            raise self._error(NotFound, "folder not found", base, "get_file_info_selector")
        return entries

    def _select(self, base: str, recursive: bool) -> Iterator[pafs.FileInfo]:
        store = self.store
        if not recursive:
            for entry in store.iter_children(base):
                if isinstance(entry, FileInfo):
                    yield self._file_info(entry)
                else:
                    yield pafs.FileInfo(str(entry.path), pafs.FileType.Directory)
            return
        seen: set[str] = set()
        if store.backend.real_folders:  # empty folders exist here: list them too
            for folder in store.list_folders(base, max_depth=2**31):
                seen.add(str(folder.path))
                yield pafs.FileInfo(str(folder.path), pafs.FileType.Directory)
        start = len(base) + 1 if base else 0
        for info in store.list_files(base, recursive=True):
            parent = info.path.rpartition("/")[0]
            while parent and len(parent) >= start and parent not in seen:  # implied folders
                seen.add(parent)
                yield pafs.FileInfo(parent, pafs.FileType.Directory)
                parent = parent.rpartition("/")[0]
            yield self._file_info(info)

    # -- folders ----------------------------------------------------------------------

    def create_dir(self, path: str, recursive: bool) -> None:
        key = self._path(path, "create_dir")
        store = self.store
        if not key or store.is_folder(key):
            return
        if store.is_file(key):
            raise self._error(AlreadyExists, "a file exists at this path", key, "create_dir")
        if not store.backend.real_folders:
            return  # flat: a folder exists while files exist below it
        parent = key.rpartition("/")[0]
        if not recursive and parent and not store.is_folder(parent):
            raise self._error(
                NotFound,
                "parent folder not found",
                key,
                "create_dir",
                hint="pass recursive=True to create the parents too",
            )
        marker = f"{key}/{_MARKER}{uuid.uuid4().hex}"
        store.write(marker, b"")
        store.delete(marker)

    def delete_dir(self, path: str) -> None:
        key = self._path(path, "delete_dir")
        self.store.delete_folder(key, recursive=True)

    def delete_dir_contents(self, path: str, missing_dir_ok: bool = False) -> None:
        key = self._path(path, "delete_dir_contents")
        if not key:
            raise self._error(
                InvalidPath,
                "refusing to empty the store root",
                key,
                "delete_dir_contents",
                hint="use delete_root_dir_contents() to empty the whole store",
            )
        if not self.store.is_folder(key):
            if missing_dir_ok and not self.store.is_file(key):
                return
            raise self._error(NotFound, "folder not found", key, "delete_dir_contents")
        self._empty(key)

    def delete_root_dir_contents(self) -> None:
        self._empty("")

    def _empty(self, key: str) -> None:
        store = self.store
        for entry in list(store.iter_children(key)):
            if isinstance(entry, FileInfo):
                store.delete(entry.path, missing_ok=True)
            else:
                store.delete_folder(entry.path, recursive=True, missing_ok=True)
        with self._lock:
            self._sizes.clear()

    def delete_file(self, path: str) -> None:
        key = self._path(path, "delete_file")
        self._forget(key)
        self.store.delete(key)

    def move(self, src: str, dest: str) -> None:
        """Move a file, or a folder file by file (not atomic as a whole)."""
        skey, dkey = self._path(src, "move"), self._path(dest, "move")
        store = self.store
        self._forget(skey)
        self._forget(dkey)
        if skey and store.is_file(skey):
            store.move(skey, dkey, overwrite=True)
            return
        if not skey or not store.is_folder(skey):
            raise self._error(NotFound, "nothing to move at this path", skey, "move")
        for info in list(store.list_files(skey, recursive=True)):
            store.move(info.path, dkey + info.path[len(skey) :], overwrite=True)
        if store.backend.real_folders:
            store.delete_folder(skey, recursive=True, missing_ok=True)

    def copy_file(self, src: str, dest: str) -> None:
        skey, dkey = self._path(src, "copy_file"), self._path(dest, "copy_file")
        self._forget(dkey)
        self.store.copy(skey, dkey, overwrite=True)

    # -- streams ----------------------------------------------------------------------

    def open_input_stream(self, path: str) -> pa.NativeFile:
        key = self._path(path, "open_input_stream")
        return pa.PythonFile(self.store.read(key), mode="r")

    def open_input_file(self, path: str) -> pa.NativeFile:
        key = self._path(path, "open_input_file")
        size = self._recall(key)
        if size is None:
            size = self.store.get_file_info(key).size
        return pa.PythonFile(RangedFile(self.store, key, size), mode="r")

    def open_output_stream(self, path: str, metadata: Any) -> pa.NativeFile:
        key = self._path(path, "open_output_stream")
        self._forget(key)
        return pa.PythonFile(AtomicOutput(self.store, key), mode="w")

    def open_append_stream(self, path: str, metadata: Any) -> pa.NativeFile:
        key = self._path(path, "open_append_stream")
        raise self._error(
            CapabilityNotSupported,
            "appending is not supported: storeroom writes whole files",
            key,
            "open_append_stream",
            hint="write a new file (open_output_stream) or read, extend and rewrite it",
        )


def _rebuild(store: Store, size_ttl: float) -> StoreHandler:
    return StoreHandler(store, size_ttl=size_ttl)
