"""Conditional writes of the ``s3`` backend: ``If-Match`` on one PutObject or DeleteObject.

S3 compares the object's ETag and applies the request in one step (HTTP 412
when it differs, 404 when the object is gone). A conditional write is one
PutObject whatever the engine or size, so its content is held in memory
and limited to S3's 5 GiB for a single PUT (spec COND-043).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storeroom._cond import precondition_failed
from storeroom.backend import Source, read_all
from storeroom.backends.s3._core import S3Core, status
from storeroom.backends.s3.errors import BACKEND
from storeroom.errors import InvalidArgument, InvalidPath
from storeroom.models import WriteResult

__all__ = ["MAX_PUT", "delete_if_match", "write_if_match"]

#: S3's largest single PUT.
MAX_PUT = 5 * 1024**3
#: 412: the ETag differs; 404: no such object; 409: a concurrent conditional request won.
_FAILED = frozenset({404, 409, 412})


def _call(core: S3Core, op: str, key: str, etag: str, method: str, **kwargs: Any) -> Any:
    try:
        return core.conn.call(method, Bucket=core.bucket, Key=key, IfMatch=f'"{etag}"', **kwargs)
    except Exception as exc:
        code = status(exc)
        if code in _FAILED:
            found = None if code == 404 else ""
            raise precondition_failed(key, BACKEND, etag, found, op) from exc
        raise core.fail(exc, key, op) from exc


def write_if_match(
    core: S3Core, key: str, src: Source, etag: str, metadata: Mapping[str, str] | None
) -> WriteResult:
    """One ``PutObject`` with ``If-Match``: replaced only while the ETag is ``etag``."""
    if not key:
        raise InvalidPath("a file path is required, got the root", path=key, backend=BACKEND)
    data = read_all(src)
    if len(data) > MAX_PUT:
        raise InvalidArgument(
            f"a conditional write on S3 is one PUT of at most 5 GiB, got {len(data)} bytes",
            path=key,
            backend=BACKEND,
            hint="write large files without if_match, or keep a small versioned pointer file",
        )
    args: dict[str, Any] = {"Metadata": dict(metadata)} if metadata else {}
    resp = _call(core, "write", key, etag, "put_object", Body=data, **args)
    return core.result(key, len(data), resp, metadata)


def delete_if_match(core: S3Core, key: str, etag: str) -> None:
    """One ``DeleteObject`` with ``If-Match``."""
    _call(core, "delete", key, etag, "delete_object")
