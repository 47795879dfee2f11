"""Presigned URLs of the ``s3`` backend (spec SIGN-050..053).

Signed by the backend's own aiobotocore client (a lane's), so the URL carries
the same credentials chain, endpoint, region and addressing style as every
other request; SigV4 (``X-Amz-Signature``), valid for at most seven days.
Signing is local: no request is sent.
"""

from __future__ import annotations

from typing import Any

from storeroom.backends.s3._core import S3Core

__all__ = ["presign"]

_OPERATIONS = {"GET": "get_object", "PUT": "put_object"}


def presign(core: S3Core, key: str, expires: int, method: str) -> str:
    """A URL allowing ``method`` on ``key`` for ``expires`` seconds; failures mapped."""
    params = {"Bucket": core.bucket, "Key": key}
    operation = _OPERATIONS[method]

    async def sign(client: Any) -> str:
        url: str = await client.generate_presigned_url(
            operation, Params=params, ExpiresIn=expires, HttpMethod=method
        )
        return url

    try:
        return core.conn.run(sign)
    except Exception as exc:
        raise core.fail(exc, key, "signed_url") from exc
