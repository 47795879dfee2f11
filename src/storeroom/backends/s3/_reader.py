"""The s3fs engine's reads: one streaming GET, ranged when asked (spec S3-014)."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

import botocore.exceptions as bx  # type: ignore[import-untyped]

from storeroom.backends.s3._core import S3Core, status
from storeroom.backends.s3._transfer import open_body

__all__ = ["open_read"]


def open_read(core: S3Core, key: str, first: int, end: int | None) -> BinaryIO:
    """A forward-only stream of bytes ``[first, end)`` of ``key`` (one GET)."""
    extra: dict[str, Any] = {}
    if first or end is not None:
        extra["Range"] = f"bytes={first}-{'' if end is None else end - 1}"
    try:
        resp, lane, epoch = core.conn.hold("get_object", Bucket=core.bucket, Key=key, **extra)
    except bx.ClientError as exc:
        if status(exc) == 416:  # the range starts at or past the end: nothing to read
            return io.BytesIO(b"")
        raise core.fail(exc, key, "open_read") from exc
    except Exception as exc:
        raise core.fail(exc, key, "open_read") from exc
    return open_body(core.conn, lane, epoch, resp["Body"], key, core.bucket)
