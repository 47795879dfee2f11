"""The small core every role of the ``azure`` backend shares: options and SDK clients.

The flat-namespace reads and writes (``_flat_read``, ``_flat_write``), the
HNS operations, the signer and the obstore engine all work through one
``AzureCore`` (never through ``AzureBackend``'s members): the clients built on
first use, one error mapping, one HEAD, and the ``WriteResult`` of an answer.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient

from storeroom.backends.azure._conn import make_client
from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import TABLE, error_code
from storeroom.errors import StoreroomError
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = ["AzureCore", "strip_etag"]


def strip_etag(etag: Any) -> str | None:
    """An ETag without its quotes."""
    return etag.strip('"') if isinstance(etag, str) and etag else None


class AzureCore:
    """Options and the SDK clients (service, container) of one backend."""

    __slots__ = ("_cc", "_svc", "lock", "options", "sdk_extra")

    def __init__(self, options: AzureOptions) -> None:
        self.options = options
        self.lock = threading.Lock()
        self._svc: BlobServiceClient | None = None
        self._cc: ContainerClient | None = None
        #: Extra SDK client keywords; tests put a scripted ``transport`` here.
        self.sdk_extra: dict[str, Any] = {}

    def service(self) -> BlobServiceClient:
        """The ``BlobServiceClient``, built on first use."""
        svc = self._svc
        if svc is None:
            with self.lock:
                if self._svc is None:
                    self._svc = make_client(BlobServiceClient, self.options, self.sdk_extra)
                svc = self._svc
        return svc

    def container(self) -> ContainerClient:
        """The container's client; with ``create_container`` the container is made once."""
        cc = self._cc
        if cc is None:
            cc = self.service().get_container_client(self.options.container)
            if self.options.create_container:
                try:
                    cc.create_container()
                except ResourceExistsError:
                    pass
                except AzureError as exc:
                    raise self.fail(exc, "", "create_container") from exc
            self._cc = cc
        return cc

    def blob(self, key: str) -> BlobClient:
        return self.container().get_blob_client(key)

    def fail(self, exc: BaseException, key: str, op: str) -> StoreroomError:
        """``exc`` as the storeroom error for ``key`` (through the one error table)."""
        return TABLE.map(exc, key, operation=op)

    def is_file(self, key: str, op: str = "write") -> bool:
        """One ``Get Blob Properties``: whether blob ``key`` exists."""
        try:
            self.blob(key).get_blob_properties()
            return True
        except AzureError as exc:
            if getattr(exc, "status_code", None) == 404 and error_code(exc) != "ContainerNotFound":
                return False
            raise self.fail(exc, key, op) from exc

    @staticmethod
    def result(key: str, size: int, r: Mapping[str, Any], meta: Any) -> WriteResult:
        """The ``WriteResult`` of a write of ``size`` bytes from the service's answer."""
        return WriteResult(
            RemotePath._trusted(key),
            size,
            etag=strip_etag(r.get("etag")),
            version_id=r.get("version_id"),
            last_modified=r.get("last_modified"),
            metadata=meta or {},
        )

    def close(self) -> None:
        """Close the service client; the next call builds a new one."""
        with self.lock:
            svc, self._svc, self._cc = self._svc, None, None
        if svc is not None:
            svc.close()
