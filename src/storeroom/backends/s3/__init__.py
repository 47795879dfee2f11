"""The ``s3`` backend (extra ``s3``): objects in an S3 or S3-compatible bucket, via s3fs.

``S3Backend`` is imported on first access, so loading the options class (what the
Registry does to validate a config) needs neither s3fs nor botocore.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storeroom.backends.s3.config import S3Options

if TYPE_CHECKING:
    from storeroom.backends.s3.backend import S3Backend

__all__ = ["S3Backend", "S3Options"]


def __getattr__(name: str) -> Any:
    if name == "S3Backend":
        from storeroom.backends.s3.backend import S3Backend

        return S3Backend
    raise AttributeError(f"module 'storeroom.backends.s3' has no attribute {name!r}")
