"""Hierarchical-namespace (ADLS Gen2) operations of the ``azure`` backend.

Used when the account has a hierarchical namespace: real directories
(empty ones exist and are listed), atomic rename, and recursive directory
delete through the Data Lake (DFS) API. Reads and copies stay on the Blob
API, which these accounts also serve.

A write creates a temporary file beside the target (``create``, ``append``,
``flush``), then renames it onto the target in one atomic step; a
create-only write sends ``If-None-Match: *`` with the rename, so the check
is atomic with the commit. A failed write deletes the temporary file.

NOT conformance-tested: Azurite does not implement the DFS API. The request
sequence is checked by ``tests/backends/test_azure.py`` on scripted HTTP
answers (spec AZURE-030..035).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.storage.filedatalake import DataLakeServiceClient

from storeroom._store_support import TMP_PREFIX
from storeroom.backend import Entry, Source, entry_sort_key, iter_source
from storeroom.backends.azure._blob import create_only, file_info, folder, read_block
from storeroom.backends.azure._conn import make_client
from storeroom.backends.azure.errors import BACKEND, TABLE, error_code
from storeroom.errors import DirectoryNotEmpty, InvalidPath, NotFound, StoreroomError
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import RemotePath, listable

if TYPE_CHECKING:
    from storeroom.backends.azure._core import AzureCore

__all__ = ["HnsOps", "is_folder_props"]

_FOLDER_FLAG = "hdi_isfolder"


def is_folder_props(props: Any) -> bool:
    """True when Blob API properties describe an HNS directory."""
    meta = getattr(props, "metadata", None) or {}
    return str(meta.get(_FOLDER_FLAG, "")).lower() == "true"


class HnsOps:
    """The primitives that differ on hierarchical-namespace accounts."""

    def __init__(self, core: AzureCore) -> None:
        self._core = core
        o = core.options
        # DFS calls go to the account's ``.dfs.`` host (checked by the HNS unit test).
        self._svc = make_client(DataLakeServiceClient, o, core.sdk_extra, dfs=True)
        self._fs = self._svc.get_file_system_client(o.container)
        self._container = o.container

    def close(self) -> None:
        self._svc.close()

    def _err(self, exc: AzureError, key: str, operation: str) -> StoreroomError:
        return TABLE.map(exc, key, operation=operation)

    # -- entries -------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        if not key:
            return FolderEntry._fast("", "")
        try:
            props = self._core.blob(key).get_blob_properties()
        except AzureError as exc:
            raise self._err(exc, key, "stat") from exc
        name = key.rpartition("/")[2]
        if is_folder_props(props):
            return FolderEntry._fast(key, name)
        return file_info(key, name, props)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
            return True
        except NotFound:
            return False

    def is_folder(self, key: str) -> bool:
        try:
            return isinstance(self.stat(key), FolderEntry)
        except NotFound:
            return False

    # -- write ---------------------------------------------------------------------

    def write(
        self, key: str, src: Source, overwrite: bool, meta: dict[str, str] | None
    ) -> WriteResult:
        parent = key.rpartition("/")[0]
        name = f"{TMP_PREFIX}{uuid.uuid4().hex}.tmp"
        tmp = f"{parent}/{name}" if parent else name
        fc = self._fs.get_file_client(tmp)
        try:
            fc.create_file(metadata=meta)  # creates missing parent directories
        except AzureError as exc:
            raise self._err(exc, key, "write") from exc
        done = False
        try:
            offset = 0
            flushed: dict[str, Any] = {}
            for chunk in self._chunks(src):
                try:
                    fc.append_data(chunk, offset, length=len(chunk))
                except AzureError as exc:
                    raise self._err(exc, key, "write") from exc
                offset += len(chunk)
            cond = create_only(overwrite)
            try:
                flushed = fc.flush_data(offset, close=True)
                fc.rename_file(f"{self._container}/{key}", **cond)
            except AzureError as exc:
                raise self._err(exc, key, "write") from exc
            done = True
        finally:
            if not done:
                with contextlib.suppress(AzureError):
                    fc.delete_file()
        etag = flushed.get("etag")
        return WriteResult(
            RemotePath._trusted(key),
            offset,
            etag=etag.strip('"') if isinstance(etag, str) else None,
            last_modified=flushed.get("last_modified"),
            metadata=meta or {},
        )

    def _chunks(self, src: Source) -> Iterator[bytes]:
        if isinstance(src, bytes | bytearray | memoryview):
            yield from iter_source(src)
            return
        size = self._core.options.block_size
        while True:
            block = read_block(src.read, size)
            if not block:
                return
            yield block

    # -- delete, move, folders ---------------------------------------------------------

    def _require_file(self, key: str, operation: str) -> None:
        if isinstance(self.stat(key), FolderEntry):
            raise InvalidPath(
                "expected a file, found a folder", path=key, backend=BACKEND, operation=operation
            )

    def delete(self, key: str) -> None:
        self._require_file(key, "delete")
        try:
            self._fs.get_file_client(key).delete_file()
        except AzureError as exc:
            raise self._err(exc, key, "delete") from exc

    def move(self, src: str, dst: str, overwrite: bool) -> None:
        """One atomic DFS rename (``x-ms-rename-source``); create-only with If-None-Match."""
        self._require_file(src, "move")
        parent = dst.rpartition("/")[0]
        if parent:
            try:
                self._fs.get_directory_client(parent).create_directory(
                    match_condition=MatchConditions.IfMissing
                )
            except AzureError as exc:
                if error_code(exc) != "PathAlreadyExists" and getattr(exc, "status_code", 0) != 409:
                    raise self._err(exc, dst, "move") from exc
        cond = create_only(overwrite)
        try:
            self._fs.get_file_client(src).rename_file(f"{self._container}/{dst}", **cond)
        except AzureError as exc:
            raise self._err(exc, dst, "move") from exc

    def remove_folder(self, key: str, recursive: bool) -> None:
        if not key:
            raise InvalidPath("refusing to remove the backend root", path=key, backend=BACKEND)
        entry = self.stat(key)
        if not isinstance(entry, FolderEntry):
            raise InvalidPath("expected a folder, found a file", path=key, backend=BACKEND)
        if not recursive and next(self._page(key, max_results=1), None) is not None:
            raise DirectoryNotEmpty(
                "folder is not empty",
                path=key,
                backend=BACKEND,
                hint="pass recursive=True to delete it with its content",
            )
        try:
            self._fs.get_directory_client(key).delete_directory()
        except AzureError as exc:
            raise self._err(exc, key, "remove_folder") from exc

    # -- listing ---------------------------------------------------------------------

    def _page(self, key: str, max_results: int | None = None) -> Iterator[Any]:
        """Raw ``get_paths`` items directly under directory ``key`` (none if missing)."""
        try:
            for item in self._fs.get_paths(
                path=key or None, recursive=False, max_results=max_results
            ):
                if item.name != key:
                    yield item
        except AzureError as exc:
            if error_code(exc) in ("PathNotFound", "FilesystemNotFound") and key:
                return
            raise self._err(exc, key, "list") from exc

    def _directory(self, key: str, cut: int) -> list[Entry]:
        """One directory's entries, sorted (a directory's names are held to sort them)."""
        out: list[Entry] = []
        for item in self._page(key):
            if not listable(item.name, BACKEND):  # spec BACKEND-006
                continue
            path = item.name[cut:]
            if item.is_directory:
                out.append(folder(path))
            else:
                out.append(
                    FileInfo._fast(
                        path,
                        path.rpartition("/")[2],
                        item.content_length or 0,
                        item.last_modified,
                        etag=item.etag.strip('"') if item.etag else None,
                    )
                )
        out.sort(key=entry_sort_key)
        return out

    def list(self, prefix: str, recursive: bool, base: str) -> Iterator[Entry]:
        """Depth-first walk: one sorted DFS listing per directory on the current branch."""
        cut = len(base) + 1 if base else 0
        if prefix and not self.is_folder(prefix):
            return
        stack = [iter(self._directory(prefix, cut))]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
                continue
            yield entry
            if recursive and isinstance(entry, FolderEntry):
                full = f"{base}/{entry.path}" if base else entry.path
                stack.append(iter(self._directory(full, cut)))
