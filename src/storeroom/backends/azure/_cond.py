"""Conditional writes of the ``azure`` backend: ETag conditions on Put Blob and Delete Blob.

``upload_blob`` / ``delete_blob`` with ``etag=...`` and
``match_condition=IfNotModified`` send ``If-Match``: Azure compares the
blob's ETag and applies the request in one step (412 ``ConditionNotMet``
when it differs, 404 when the blob is gone). Content above the SDK's single
put size is staged in blocks and the condition guards the commit. Flat
namespace only: the HNS write path does not declare it (spec COND-044).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError
from azure.storage.blob import BlobClient

from storeroom._cond import precondition_failed
from storeroom.backend import Source, read_all
from storeroom.backends.azure.errors import BACKEND, error_code
from storeroom.errors import InvalidPath, StoreroomError

__all__ = ["delete_if_match", "upload_if_match"]

T = TypeVar("T")


#: The backend's mapping of an SDK error about a key (``AzureBackend._err``).
Fail = Callable[[AzureError, str, str], StoreroomError]


def _conditional(
    fail: Fail, key: str, etag: str, op: str, call: Callable[..., T], **kwargs: Any
) -> T:
    try:
        return call(etag=f'"{etag}"', match_condition=MatchConditions.IfNotModified, **kwargs)
    except AzureError as exc:
        code = error_code(exc)
        if code == "ConditionNotMet":
            raise precondition_failed(key, BACKEND, etag, "", op) from exc
        if code == "BlobNotFound":
            raise precondition_failed(key, BACKEND, etag, None, op) from exc
        raise fail(exc, key, op) from exc


def upload_if_match(
    fail: Fail,
    blob: BlobClient,
    key: str,
    src: Source,
    etag: str,
    meta: Mapping[str, str] | None,
    max_concurrency: int,
) -> dict[str, Any]:
    """Replace blob ``key`` only while its ETag is ``etag``; the SDK's answer."""
    if not key:
        raise InvalidPath("a file path is required, got the root", path=key, backend=BACKEND)
    data = read_all(src)
    answer: dict[str, Any] = _conditional(
        fail,
        key,
        etag,
        "write",
        blob.upload_blob,
        data=data,
        overwrite=True,
        metadata=meta,
        max_concurrency=max_concurrency,
    )
    return answer


def delete_if_match(fail: Fail, blob: BlobClient, key: str, etag: str) -> None:
    """Delete blob ``key`` only while its ETag is ``etag``."""
    _conditional(fail, key, etag, "delete", blob.delete_blob)
