"""The small core every role of the ``s3`` backend shares: options, bucket, connection.

The backend, its s3fs reader and writer and the pyarrow engine all work
through one ``S3Core`` (never through ``S3Backend``'s members): one S3 call
with its error mapped, one HEAD, and the ``WriteResult`` built from a response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.exceptions as bx  # type: ignore[import-untyped]

from storeroom.backends.s3._conn import Connection
from storeroom.backends.s3.config import S3Options
from storeroom.backends.s3.errors import TABLE
from storeroom.errors import StoreroomError
from storeroom.models import WriteResult
from storeroom.path import RemotePath

__all__ = ["S3Core", "etag", "status"]


def status(exc: BaseException) -> int | None:
    """The HTTP status of a botocore ``ClientError``, else ``None``."""
    if isinstance(exc, bx.ClientError):
        code = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        return code if isinstance(code, int) else None
    return None


def etag(value: Any) -> str | None:
    """An ETag without its quotes."""
    return value.strip('"') if isinstance(value, str) else None


class S3Core:
    """Options, bucket and the lane pool of one backend."""

    __slots__ = ("bucket", "conn", "options")

    def __init__(self, options: S3Options) -> None:
        self.options = options
        self.bucket = options.bucket
        self.conn = Connection(options)

    def fail(self, exc: BaseException, key: str, op: str) -> StoreroomError:
        """``exc`` as the storeroom error for ``key`` (through the one error table)."""
        return TABLE.map(exc, key, operation=op, bucket=self.bucket)

    def call(self, op: str, key: str, method: str, **kwargs: Any) -> Any:
        """One S3 API call on this bucket; failures are storeroom errors about ``key``."""
        try:
            return self.conn.call(method, Bucket=self.bucket, **kwargs)
        except StoreroomError:
            raise  # already ours (e.g. a credential provider's): keep its own cause
        except Exception as exc:
            raise self.fail(exc, key, op) from exc

    def head(self, key: str, op: str) -> dict[str, Any] | None:
        """HEAD ``key``: its response, or ``None`` when there is no such object."""
        if not key:
            return None
        try:
            resp: dict[str, Any] = self.conn.call("head_object", Bucket=self.bucket, Key=key)
            return resp
        except bx.ClientError as exc:
            if status(exc) == 404:
                return None
            raise self.fail(exc, key, op) from exc
        except Exception as exc:
            raise self.fail(exc, key, op) from exc

    @staticmethod
    def result(
        key: str, size: int, resp: Mapping[str, Any], metadata: Mapping[str, str] | None
    ) -> WriteResult:
        """The ``WriteResult`` of a write of ``size`` bytes from S3's response."""
        return WriteResult(
            RemotePath._trusted(key),
            size,
            etag=etag(resp.get("ETag")),
            version_id=resp.get("VersionId"),
            last_modified=resp.get("LastModified"),
            metadata=dict(metadata or {}),
        )
