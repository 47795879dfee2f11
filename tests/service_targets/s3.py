"""Conformance target ``s3``: the moto server started by ``scripts/services up s3``.

The target creates one bucket per test session (``storeroom-<random>``) on
first use, so the server needs no setup of its own and a restarted, empty
moto works again. Each test gets a random ``root_path`` inside that bucket.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from services_support import service_env
from storeroom.testing.conformance.targets import Target, register_target

ENV = service_env(
    "s3",
    "STOREROOM_TEST_S3_ENDPOINT",
    "STOREROOM_TEST_S3_KEY",
    "STOREROOM_TEST_S3_SECRET",
    "STOREROOM_TEST_S3_REGION",
)
BUCKET = f"storeroom-{uuid.uuid4().hex[:12]}"
_made: set[str] = set()
_lock = threading.Lock()


def boto3_client(env: dict[str, str]) -> Any:
    """A plain boto3 client for the test server (setup and inspection in tests)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["STOREROOM_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["STOREROOM_TEST_S3_KEY"],
        aws_secret_access_key=env["STOREROOM_TEST_S3_SECRET"],
        region_name=env["STOREROOM_TEST_S3_REGION"],
    )


def ensure_bucket(
    env: dict[str, str], bucket: str = BUCKET, *, again: bool = False, versioned: bool = False
) -> str:
    """Create ``bucket`` once per session (``again=True``: also after a server restart)."""
    with _lock:
        if bucket in _made and not again:
            return bucket
        client = boto3_client(env)
        try:
            client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        if versioned:
            client.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        _made.add(bucket)
    return bucket


def options(env: dict[str, str], bucket: str = BUCKET, **extra: Any) -> dict[str, Any]:
    """Backend options for the test server."""
    return {
        "bucket": bucket,
        "endpoint_url": env["STOREROOM_TEST_S3_ENDPOINT"],
        "key": env["STOREROOM_TEST_S3_KEY"],
        "secret": env["STOREROOM_TEST_S3_SECRET"],
        "region_name": env["STOREROOM_TEST_S3_REGION"],
        **extra,
    }


if ENV is not None:
    env = ENV

    def _config(tmp_path: Path) -> dict[str, Any]:
        ensure_bucket(env)
        return {"type": "s3", "options": options(env)}

    register_target(Target("s3", _config, secrets=(env["STOREROOM_TEST_S3_SECRET"],)))

    def _arrow_config(tmp_path: Path) -> dict[str, Any]:
        ensure_bucket(env)
        return {"type": "s3-pyarrow", "options": options(env)}

    # The same bucket and server through the pyarrow engine (spec S3-050..059).
    register_target(Target("s3-pyarrow", _arrow_config, secrets=(env["STOREROOM_TEST_S3_SECRET"],)))

    def _obstore_config(tmp_path: Path) -> dict[str, Any]:
        ensure_bucket(env)
        return {"type": "s3", "options": options(env, engine="obstore")}

    # The same bucket and server through the obstore engine (spec S3-080..089).
    register_target(
        Target("s3-obstore", _obstore_config, secrets=(env["STOREROOM_TEST_S3_SECRET"],))
    )
