"""The ``azure`` backend: Azure Blob Storage, flat or hierarchical namespace.

Roles, each working on one ``AzureCore`` (``_core``: options and SDK clients):
``_flat_read`` / ``_flat_write`` (flat namespace through azure-storage-blob),
``_engine`` (which engine moves the bytes: the SDK, or obstore with
``engine = "obstore"``, ``_obstore_engine``), ``_hns`` (hierarchical
namespace), ``_sas`` (signed URLs), ``_cond`` (If-Match).

Flat-namespace accounts (the default, and Azurite): keys are blob names,
folders are derived from name prefixes. Small writes are one ``Put Blob``;
streamed writes stage blocks and commit them in one ``Put Block List``, so a
failed write never shows a partial blob (uncommitted blocks are invisible and
Azure discards them). Create-only writes and copies send ``If-None-Match: *``.

Hierarchical-namespace accounts (ADLS Gen2) add real directories and an
atomic rename, used through ``azure-storage-file-datalake`` (``_hns.py``);
reads still use the Blob API. The HNS path is checked by a unit test on
scripted HTTP answers only, NOT by the conformance suite: Azurite does not
implement the Data Lake API.

The SDK's own retries are off (``retry_total=0``), obstore's too: retrying is
the retry layer's job, driven by the ``retryable`` flag of ``errors.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, cast
from urllib.parse import quote

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobServiceClient, ContainerClient

from storeroom._mask import mask_url
from storeroom._txn_objects import hidden, visible
from storeroom.backend import Backend, Entry, Source, derive_folders, read_all, rel_key
from storeroom.backends import _obstore_common
from storeroom.backends.azure import _cond, _flat_read, _flat_write
from storeroom.backends.azure._blob import BlobReader, check_metadata
from storeroom.backends.azure._core import AzureCore
from storeroom.backends.azure._engine import DataPath
from storeroom.backends.azure._hns import HnsOps, is_folder_props
from storeroom.backends.azure._sas import Signer, can_sign
from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import BACKEND, TABLE
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import CapabilityNotSupported, InvalidPath, NotFound
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from storeroom._txn_core import BackendTransaction
    from storeroom.backends.azure._obstore_engine import AzureObstoreEngine

__all__ = ["AzureBackend"]

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
#: Transactions are not offered on HNS: untestable here (no Data Lake API in Azurite) and
#: without conditional deletes the commit lock could not be broken safely (TXN-046).
_HNS_CAPS = (_FLAT_CAPS - {Capability.CONDITIONAL_WRITE, Capability.TRANSACTION}) | {
    Capability.ATOMIC_MOVE
}


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

    def _setup(self, opts: AzureOptions) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        self._core = AzureCore(opts)
        self._hns_ops: HnsOps | None = None
        hns = opts.hns
        if hns is None:
            try:
                info = self._core.container().get_account_information()
            except AzureError as exc:
                err = TABLE.map(exc, "", operation="detect_hns")
                err.hint = "set the 'hns' option to skip this check"
                raise err from exc
            hns = bool(info.get("is_hns_enabled"))
        self.hns = hns
        if hns:
            self.real_folders = True
            self.capabilities = _HNS_CAPS
        self._data = DataPath(self._core, hns)  # decides the engine of every call
        self._signer = Signer()
        if can_sign(opts):
            self.capabilities = self.capabilities | {Capability.SIGNED_URL}

    # -- plumbing (kept for tests and tools that reach the SDK clients) ------------

    @property
    def _sdk_extra(self) -> dict[str, Any]:
        return self._core.sdk_extra

    @_sdk_extra.setter
    def _sdk_extra(self, value: dict[str, Any]) -> None:
        self._core.sdk_extra = value

    @property
    def _obs(self) -> AzureObstoreEngine | None:
        """The obstore engine (``engine = "obstore"``, flat account, not a forked child)."""
        return self._data.obs

    def _service(self) -> BlobServiceClient:
        return self._core.service()

    def _container(self) -> ContainerClient:
        return self._core.container()

    # -- reads ---------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """File entry from one HEAD; folders too on HNS accounts."""
        if self.hns:
            return self._hns().stat(key)
        if self._obs is not None:
            return self._obs.stat(key)
        return _flat_read.stat(self._core, key)

    def exists(self, key: str) -> bool:
        """A file (one HEAD) or, when that misses, a folder (one one-item listing of ``key/``)."""
        if not key:
            return True
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self.hns:
            return self._hns().exists(key)
        if self._obs is not None:
            return self._obs.exists(key)
        return _flat_read.exists(self._core, key)

    def is_folder(self, key: str) -> bool:
        if not key:
            return True
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self.hns:
            return self._hns().is_folder(key)
        if self._obs is not None:
            return self._obs.has_children(key, "is_folder")
        try:
            return _flat_read.has_children(self._core, key)
        except AzureError as exc:
            raise self._core.fail(exc, key, "is_folder") from exc

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A stream over bytes ``[start, end)``, downloaded in ``block_size`` ranges."""
        offset = start or 0
        length = None if end is None else end - offset
        if length is not None and length <= 0:
            self._check_file(key)
            return cast(BinaryIO, BlobReader(None, key))
        if self._obs is not None:
            return self._obs.open_read(key, offset, end)
        stream, props = _flat_read.open_read(self._core, key, offset, length)
        if self.hns and props is not None and is_folder_props(props):
            raise InvalidPath("expected a file, found a folder", path=key, backend=BACKEND)
        return stream

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
        _flat_write.check_ancestors(self._core, key)
        return self._data.write(key, src, overwrite, meta)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Put Blob with ``If-Match`` (obstore's update mode, or ``_cond``); flat only."""
        if self.hns:
            return super().write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
        meta = check_metadata(metadata, key)
        if not key:
            raise InvalidPath("a file path is required, got the root", path=key, backend=BACKEND)
        data = read_all(src)
        done = self._data.write_if_match(key, data, etag, meta)
        if done is not None:
            return done
        blob, workers = self._core.blob(key), self.options.max_concurrency
        r = _cond.upload_if_match(self._core.fail, blob, key, data, etag, meta, workers)
        return self._core.result(key, len(data), r, meta)

    def delete_if_match(self, key: str, etag: str) -> None:
        """Delete Blob with ``If-Match`` through the SDK (obstore has none); flat only."""
        if self.hns:
            super().delete_if_match(key, etag)
            return
        _cond.delete_if_match(self._core.fail, self._core.blob(key), key, etag)

    # -- delete, list ----------------------------------------------------------------

    def delete(self, key: str) -> None:
        """One Delete Blob: the service reports a missing blob itself (AZURE-018)."""
        if self.hns:
            self._hns().delete(key)
        elif self._obs is not None:
            self._obs.delete(key)
        else:
            _flat_write.delete(self._core, key)

    def discard(self, key: str) -> None:
        """One Delete Blob; a missing blob is skipped without building a storeroom error."""
        if self.hns:
            super().discard(key)
        elif self._obs is not None:
            self._obs.discard(key)
        else:
            _flat_write.discard(self._core, key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix``, one listing page at a time (a page is sorted here)."""
        if not prefix:  # transaction staging is never listed (TXN-040)
            return visible(self._list(prefix, recursive, base))
        return self._list(prefix, recursive, base)

    def _list(self, prefix: str, recursive: bool, base: str) -> Iterator[Entry]:
        if self.hns:
            return self._hns().list(prefix, recursive, base)
        entries: Iterator[Any]
        if self._obs is not None:
            entries = _obstore_common.pages(
                self._obs, prefix, recursive, base, self._sdk_list, _flat_read.listable_blob
            )
        else:
            entries = self._sdk_list(prefix, recursive, base)
        if recursive:
            return derive_folders(entries, rel_key(prefix, base) if prefix else "")
        return entries

    def _sdk_list(self, prefix: str, recursive: bool, base: str) -> Iterator[Any]:
        if recursive:
            return _flat_read.files(self._core, prefix, base)
        return _flat_read.children(self._core, prefix, base)

    # -- copy, move, folders -----------------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Server-side copy (``Copy Blob``), create-only unless ``overwrite``; waits for it."""
        if self._obs is not None:
            info = self._obs.stat(src) if src else None
            if info is None:
                raise NotFound("file not found", path=src, backend=BACKEND, operation="copy")
            _flat_write.check_ancestors(self._core, dst)
            if src != dst:  # onto itself: nothing to send (Store checks this first)
                self._obs.copy(src, dst, overwrite)
            return self._core.result(dst, info.size, {}, dict(info.metadata or {}))
        source = self._core.blob(src)
        try:
            props = source.get_blob_properties()
        except AzureError as exc:
            raise self._core.fail(exc, src, "copy") from exc
        if self.hns and is_folder_props(props):
            raise InvalidPath("expected a file, found a folder", path=src, backend=BACKEND)
        if not self.hns:
            _flat_write.check_ancestors(self._core, dst)
        r = _flat_write.copy(self._core, source, dst, overwrite)
        meta = dict(props.metadata) if props.metadata else {}
        return self._core.result(dst, props.size, r, meta)

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
            with self._core.lock:
                if self._hns_ops is None:
                    self._hns_ops = HnsOps(self._core)
                ops = self._hns_ops
        return ops

    def _native_handles(self) -> Iterator[object]:
        """For ``unwrap``: container, service, Data Lake file system, obstore store."""
        yield self._container()
        yield self._service()
        if self._obs is not None:
            yield self._obs.client.store()
        yield self._hns()._fs

    def unwrap_obstore(self) -> Any:
        """The ``obstore.store.AzureStore`` of the ``obstore`` engine (this process's)."""
        if self._obs is None:
            raise CapabilityNotSupported(
                "unwrap_obstore needs engine = 'obstore' on a flat-namespace account, in a "
                "process not forked after obstore was imported (there the SDK is used)",
                backend=BACKEND,
                operation="unwrap",
            )
        return self._obs.client.store()

    # -- housekeeping ----------------------------------------------------------------

    def ping(self) -> None:
        try:
            self._container().get_container_properties()
        except AzureError as exc:
            raise self._core.fail(exc, "", "ping") from exc

    def _endpoint(self) -> str:
        url = self.options.blob_url() or self._service().url
        # User information masked, any SAS query dropped: both are credentials.
        return mask_url(url, sql=False).partition("?")[0].partition("#")[0].rstrip("/")

    def native_path(self, key: str) -> str:
        return f"{self._endpoint()}/{self.options.container}/{quote(key)}"

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A blob SAS URL: account-key signed (by obstore under its engine), or user delegation."""
        # obstore's SAS for a name that needs percent-encoding (a space, ...) is
        # refused by Azurite (403); the SDK signs those (spec AZURE-087).
        plain = quote(key, safe="/") == key
        if self._obs is not None and plain and self._obs.client.has_account_key():
            return self._obs.sign(key, expires, method)
        return self._signer.url(self._service, self.options.container, key, expires, method)

    def describe(self) -> Mapping[str, object]:
        return {
            "container": self.options.container,
            "endpoint": self._endpoint(),
            "hns": self.hns,
            "engine": self.options.engine,
        }

    def close(self) -> None:
        with self._core.lock:
            ops, self._hns_ops = self._hns_ops, None
        if ops is not None:
            ops.close()
        self._core.close()
        self._data.close()
