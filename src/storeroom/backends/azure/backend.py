"""The ``azure`` backend: Azure Blob Storage, flat or hierarchical namespace.

Flat-namespace accounts (the default, and Azurite) are served through
``azure-storage-blob``: keys are blob names, folders are derived from name
prefixes. Small writes are one ``Put Blob``; streamed writes stage blocks and
commit them in one ``Put Block List``, so a failed write never shows a
partial blob under the target name (uncommitted blocks are invisible and
Azure discards them). Create-only writes and copies send ``If-None-Match: *``
so the existence check is atomic with the write.

Hierarchical-namespace accounts (ADLS Gen2) add real directories and an
atomic rename, used through ``azure-storage-file-datalake`` (``_hns.py``);
reads still use the Blob API, which those accounts serve too. The HNS path
is checked by a unit test on scripted HTTP answers only, NOT by the
conformance suite: Azurite does not implement the Data Lake API.

The SDK's own retries are off (``retry_total=0``): retrying is the retry
layer's job, driven by the ``retryable`` flag of ``errors.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, cast
from urllib.parse import quote

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobBlock, BlobClient, BlobPrefix, BlobServiceClient, ContainerClient

from storeroom._mask import mask_url
from storeroom._txn_objects import hidden, visible
from storeroom.backend import (
    Backend,
    Entry,
    Source,
    derive_folders,
    entry_sort_key,
    read_all,
    rel_key,
)
from storeroom.backends.azure import _cond
from storeroom.backends.azure._blob import (
    BlobReader,
    block_ids,
    check_metadata,
    create_only,
    file_info,
    folder,
    read_block,
)
from storeroom.backends.azure._conn import make_client
from storeroom.backends.azure._hns import HnsOps, is_folder_props
from storeroom.backends.azure._sas import Signer, can_sign
from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import BACKEND, error_code, map_azure_error
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import AlreadyExists, InvalidPath, NotFound, StoreroomError
from storeroom.models import FileInfo, WriteResult
from storeroom.path import RemotePath, is_store_key, listable

if TYPE_CHECKING:
    from storeroom._txn_core import BackendTransaction

__all__ = ["AzureBackend"]

_COPY_POLL = 0.2
_FLAT_CAPS = ALL_GATES | frozenset(
    {
        Capability.LAZY_READ,
        Capability.USER_METADATA,
        Capability.WRITE_RESULT_NATIVE,
        Capability.CONDITIONAL_WRITE,
        Capability.TRANSACTION,
    }
)
#: HNS writes go through the DFS API, which storeroom does not make conditional (COND-044).
_HNS_CAPS = (_FLAT_CAPS - {Capability.CONDITIONAL_WRITE}) | {Capability.ATOMIC_MOVE}


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def _listable(name: str) -> bool:
    """True for blob names that are store keys (spec BACKEND-006).

    A folder marker (``a/b/``, written by other tools) is skipped silently;
    any other name that is not a store path is skipped with a warning.
    """
    if name.endswith("/") and is_store_key(name[:-1]):
        return False
    return listable(name, BACKEND)


def _strip(etag: str | None) -> str | None:
    return etag.strip('"') if etag else None


class AzureBackend(Backend):
    """Blobs of one container; see ``AzureOptions`` for the options.

    ``AzureBackend(container="data", connection_string=...)``. With ``hns``
    unset the account is asked once, when the backend is built, whether it has
    a hierarchical namespace; pass ``hns`` to skip that request.
    """

    type_name = BACKEND
    real_folders = False
    capabilities: frozenset[Capability] = _FLAT_CAPS
    options_class: ClassVar[type[AzureOptions]] = AzureOptions

    def __init__(self, container: str, **options: Any) -> None:
        self._setup(AzureOptions.parse({"container": container, **options}))

    @classmethod
    def from_options(cls, opts: AzureOptions) -> AzureBackend:
        """Build the backend from parsed options."""
        self = cls.__new__(cls)
        self._setup(opts)
        return self

    def _setup(self, opts: AzureOptions) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        self._lock = threading.Lock()
        self._svc: BlobServiceClient | None = None
        self._cc: ContainerClient | None = None
        self._hns_ops: HnsOps | None = None
        #: Extra SDK client keywords; tests put a scripted ``transport`` here.
        self._sdk_extra: dict[str, Any] = {}
        hns = opts.hns
        if hns is None:
            try:
                info = self._container().get_account_information()
            except AzureError as exc:
                err = map_azure_error(exc, "", operation="detect_hns")
                err.hint = "set the 'hns' option to skip this check"
                raise err from exc
            hns = bool(info.get("is_hns_enabled"))
        self.hns = hns
        if hns:
            self.real_folders = True
            self.capabilities = _HNS_CAPS
        self._signer = Signer()
        if can_sign(opts):
            self.capabilities = self.capabilities | {Capability.SIGNED_URL}

    # -- clients -----------------------------------------------------------------

    def _service(self) -> BlobServiceClient:
        svc = self._svc
        if svc is None:
            with self._lock:
                if self._svc is None:
                    self._svc = make_client(BlobServiceClient, self.options, self._sdk_extra)
                svc = self._svc
        return svc

    def _container(self) -> ContainerClient:
        cc = self._cc
        if cc is None:
            cc = self._service().get_container_client(self.options.container)
            if self.options.create_container:
                try:
                    cc.create_container()
                except ResourceExistsError:
                    pass
                except AzureError as exc:
                    raise map_azure_error(exc, "", operation="create_container") from exc
            self._cc = cc
        return cc

    def _blob(self, key: str) -> BlobClient:
        return self._container().get_blob_client(key)

    def _err(self, exc: AzureError, key: str, operation: str) -> StoreroomError:
        return map_azure_error(exc, key, operation=operation)

    # -- reads ---------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """File entry from one ``Get Blob Properties``; folders too on HNS accounts."""
        if self.hns:
            return self._hns().stat(key)
        try:
            props = self._blob(key).get_blob_properties()
        except AzureError as exc:
            raise self._err(exc, key, "stat") from exc
        return file_info(key, key.rpartition("/")[2], props)

    def exists(self, key: str) -> bool:
        """A file (one HEAD) or, when that misses, a folder (one one-item listing of ``key/``).

        The HEAD is the SDK's own ``BlobClient.exists()``, so a hit costs what the
        raw SDK's check costs; only a 404 pays for the folder probe. A blob named
        ``key/`` (another tool's folder marker) is found by that probe too.
        """
        if not key:
            return True
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self.hns:
            return self._hns().exists(key)
        try:
            if self._blob(key).exists():
                return True
            return self._has_children(key)
        except AzureError as exc:
            raise self._err(exc, key, "exists") from exc

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self.hns:
            return self._hns().is_folder(key)
        try:
            return self._has_children(key)
        except AzureError as exc:
            raise self._err(exc, key, "is_folder") from exc

    def _has_children(self, key: str) -> bool:
        """Whether any blob lies below ``key/`` (listing pages of at most one name)."""
        pages = self._container().list_blobs(name_starts_with=key + "/", results_per_page=1)
        for page in pages.by_page():
            for _item in page:
                return True
        return False

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A stream over bytes ``[start, end)``, downloaded in ``block_size`` ranges."""
        offset = start or 0
        length = None if end is None else end - offset
        if length is not None and length <= 0:
            self._check_file(key)
            return cast(BinaryIO, BlobReader(None, key))
        try:
            if start or length is not None:
                dl = self._blob(key).download_blob(
                    offset=offset, length=length, max_concurrency=self.options.max_concurrency
                )
            else:
                dl = self._blob(key).download_blob(max_concurrency=self.options.max_concurrency)
        except AzureError as exc:
            if _status(exc) == 416:  # start at or past the end of an existing blob
                return cast(BinaryIO, BlobReader(None, key))
            raise map_azure_error(exc, key, operation="open_read", reading=True) from exc
        if self.hns and is_folder_props(dl.properties):
            raise InvalidPath("expected a file, found a folder", path=key, backend=BACKEND)
        return cast(BinaryIO, BlobReader(dl, key))

    # -- writes --------------------------------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """One ``Put Blob`` for small content, else staged blocks and one commit.

        Every write is atomic: readers see the old blob or the whole new one.
        Create-only writes are conditional (``If-None-Match: *``).
        """
        meta = check_metadata(metadata, key)
        if self.hns:
            return self._hns().write(key, src, overwrite, meta)
        self._check_ancestors(key)
        if isinstance(src, bytes | bytearray | memoryview):
            return self._put(key, src, overwrite, meta)
        size = self.options.block_size
        first = read_block(src.read, size)
        if len(first) < size:
            return self._put(key, first, overwrite, meta)
        second = read_block(src.read, size)
        if not second:
            return self._put(key, first, overwrite, meta)
        return self._staged(key, src, [first, second], overwrite, meta)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Put Blob with ``If-Match`` (``_cond``); flat namespace only."""
        if self.hns:
            return super().write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
        meta = check_metadata(metadata, key)
        data = read_all(src)
        blob, workers = self._blob(key), self.options.max_concurrency
        r = _cond.upload_if_match(self._err, blob, key, data, etag, meta, workers)
        return self._result(key, len(data), r, meta)

    def delete_if_match(self, key: str, etag: str) -> None:
        """Delete Blob with ``If-Match``; flat namespace only."""
        if self.hns:
            super().delete_if_match(key, etag)
            return
        _cond.delete_if_match(self._err, self._blob(key), key, etag)

    def _check_ancestors(self, key: str) -> None:
        """With ``reject_write_under_file_ancestor``: no parent of ``key`` may be a blob."""
        if not self.options.reject_write_under_file_ancestor:
            return
        parts = key.split("/")[:-1]
        for i in range(len(parts)):
            parent = "/".join(parts[: i + 1])
            if self._is_file(parent):
                raise InvalidPath(
                    f"a parent of this path is a file: {parent!r}", path=key, backend=BACKEND
                )

    def _result(self, key: str, size: int, r: Mapping[str, Any], meta: Any) -> WriteResult:
        return WriteResult(
            RemotePath._trusted(key),
            size,
            etag=_strip(r.get("etag")),
            version_id=r.get("version_id"),
            last_modified=r.get("last_modified"),
            metadata=meta or {},
        )

    def _put(
        self, key: str, data: bytes | bytearray | memoryview, overwrite: bool, meta: Any
    ) -> WriteResult:
        cond = create_only(overwrite)
        try:
            r = self._blob(key).upload_blob(
                cast(bytes, data),
                overwrite=overwrite,
                metadata=meta,
                max_concurrency=self.options.max_concurrency,
                **cond,
            )
        except AzureError as exc:
            if overwrite or error_code(exc) != "BlobAlreadyExists" or self._is_file(key):
                raise self._err(exc, key, "write") from exc
            # Azurite refuses a conditional Put Blob on a name that only holds
            # uncommitted blocks (an abandoned write), though no blob exists;
            # a conditional block-list commit is judged correctly there.
            return self._staged(key, None, [bytes(data)], overwrite, meta, checked=True)
        return self._result(key, len(data), r, meta)

    def _staged(
        self,
        key: str,
        src: BinaryIO | None,
        pending: list[bytes],
        overwrite: bool,
        meta: Any,
        checked: bool = False,
    ) -> WriteResult:
        blob = self._blob(key)
        if not overwrite and not checked and self._is_file(key):
            raise AlreadyExists(
                "file already exists",
                path=key,
                backend=BACKEND,
                hint="pass overwrite=True to replace it",
            )
        ids = block_ids()
        blocks: list[BlobBlock] = []
        total = 0
        size = self.options.block_size
        chunk: bytes | None = pending.pop(0)
        while chunk:
            block = BlobBlock(next(ids))
            try:
                blob.stage_block(block.id, chunk, length=len(chunk))
            except AzureError as exc:
                raise self._err(exc, key, "write") from exc
            blocks.append(block)
            total += len(chunk)
            # The source is read outside the mapping: its own errors pass unchanged.
            if pending:
                chunk = pending.pop(0)
            else:
                chunk = read_block(src.read, size) if src is not None else None
        cond = create_only(overwrite)
        try:
            r = blob.commit_block_list(blocks, metadata=meta, **cond)
        except AzureError as exc:
            raise self._err(exc, key, "write") from exc
        return self._result(key, total, r, meta)

    def _is_file(self, key: str) -> bool:
        try:
            self._blob(key).get_blob_properties()
            return True
        except AzureError as exc:
            if _status(exc) == 404 and error_code(exc) != "ContainerNotFound":
                return False
            raise self._err(exc, key, "write") from exc

    # -- delete, list ----------------------------------------------------------------

    def delete(self, key: str) -> None:
        if self.hns:
            self._hns().delete(key)
            return
        try:
            self._blob(key).delete_blob()
        except AzureError as exc:
            raise self._err(exc, key, "delete") from exc

    def discard(self, key: str) -> None:
        """One Delete Blob; a missing blob is skipped without building a storeroom error."""
        if self.hns:
            return super().discard(key)
        try:
            self._blob(key).delete_blob()
        except AzureError as exc:
            if error_code(exc) != "BlobNotFound":
                raise self._err(exc, key, "delete") from exc

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix``, one listing page at a time (a page is sorted here)."""
        if not prefix:  # transaction staging is never listed (TXN-040)
            return visible(self._list(prefix, recursive, base))
        return self._list(prefix, recursive, base)

    def _list(self, prefix: str, recursive: bool, base: str) -> Iterator[Entry]:
        if self.hns:
            return self._hns().list(prefix, recursive, base)
        if recursive:
            rel = rel_key(prefix, base) if prefix else ""
            return derive_folders(self._files(prefix, base), rel)
        return self._children(prefix, base)

    def _files(self, prefix: str, base: str) -> Iterator[FileInfo]:
        cut = len(base) + 1 if base else 0
        try:
            pages = (
                self._container()
                .list_blobs(name_starts_with=prefix + "/" if prefix else None)
                .by_page()
            )
            for page in pages:
                for item in page:
                    name = item.name
                    if not _listable(name):
                        continue
                    yield file_info(name[cut:], name.rpartition("/")[2], item)
        except AzureError as exc:
            raise self._err(exc, prefix, "list") from exc

    def _children(self, prefix: str, base: str) -> Iterator[Entry]:
        cut = len(base) + 1 if base else 0
        try:
            pages = (
                self._container()
                .walk_blobs(
                    name_starts_with=prefix + "/" if prefix else None,
                    delimiter="/",
                )
                .by_page()
            )
            for page in pages:
                batch: list[Entry] = []
                folders = False
                for item in page:
                    name = item.name
                    if isinstance(item, BlobPrefix):
                        if listable(name[:-1], BACKEND):
                            folders = True
                            batch.append(folder(name[cut:-1]))
                    elif _listable(name):
                        batch.append(file_info(name[cut:], name.rpartition("/")[2], item))
                if folders:  # the SDK returns a page's folders first
                    batch.sort(key=entry_sort_key)
                yield from batch
        except AzureError as exc:
            raise self._err(exc, prefix, "list") from exc

    # -- copy, move, folders -----------------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Server-side copy (``Copy Blob``), create-only unless ``overwrite``; waits for it."""
        source = self._blob(src)
        try:
            props = source.get_blob_properties()
        except AzureError as exc:
            raise self._err(exc, src, "copy") from exc
        if self.hns and is_folder_props(props):
            raise InvalidPath("expected a file, found a folder", path=src, backend=BACKEND)
        if not self.hns:
            self._check_ancestors(dst)
        target = self._blob(dst)
        cond = create_only(overwrite)
        try:
            r = target.start_copy_from_url(source.url, **cond)
            status = r.get("copy_status")
            while status == "pending":
                time.sleep(_COPY_POLL)
                copy = target.get_blob_properties().copy
                status = copy.status
            if status not in (None, "success"):
                raise StoreroomError(
                    f"server-side copy ended as {status!r}", path=dst, backend=BACKEND
                )
        except AzureError as exc:
            raise self._err(exc, dst, "copy") from exc
        meta = dict(props.metadata) if props.metadata else {}
        return self._result(dst, props.size, r, meta)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Atomic rename on HNS accounts; copy + delete (NOT atomic) on flat ones."""
        if self.hns:
            self._hns().move(src, dst, overwrite)
            return
        self.copy(src, dst, overwrite=overwrite)
        try:
            self.delete(src)
        except NotFound:
            pass

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        if self.hns:
            self._hns().remove_folder(key, recursive)
            return
        super().remove_folder(key, recursive=recursive)

    def begin_transaction(self) -> BackendTransaction:
        """Staged uploads, a commit record, server-side copies (``_txn_objects``, TXN-040)."""
        from storeroom._txn_objects import ObjectTransaction

        return ObjectTransaction(self)

    def _hns(self) -> HnsOps:
        ops = self._hns_ops
        if ops is None:
            with self._lock:
                if self._hns_ops is None:
                    self._hns_ops = HnsOps(self)
                ops = self._hns_ops
        return ops

    def _native_handles(self) -> Iterator[object]:
        """For ``unwrap``: container, service, then Data Lake file system client."""
        yield self._container()
        yield self._service()
        yield self._hns()._fs

    # -- housekeeping ----------------------------------------------------------------

    def ping(self) -> None:
        try:
            self._container().get_container_properties()
        except AzureError as exc:
            raise self._err(exc, "", "ping") from exc

    def _endpoint(self) -> str:
        o = self.options
        url = o.blob_url() or self._service().url
        # User information masked, any SAS query dropped: both are credentials.
        return mask_url(url, sql=False).partition("?")[0].partition("#")[0].rstrip("/")

    def native_path(self, key: str) -> str:
        return f"{self._endpoint()}/{self.options.container}/{quote(key)}"

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A blob SAS URL: account-key signed, or user delegation with a token credential."""
        return self._signer.url(self._service, self.options.container, key, expires, method)

    def describe(self) -> Mapping[str, object]:
        return {"container": self.options.container, "endpoint": self._endpoint(), "hns": self.hns}

    def close(self) -> None:
        with self._lock:
            svc, self._svc, self._cc = self._svc, None, None
            ops, self._hns_ops = self._hns_ops, None
        if ops is not None:
            ops.close()
        if svc is not None:
            svc.close()
