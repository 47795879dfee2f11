"""A throw-away bucket on the S3 server named by ``STOREROOM_TEST_S3_*`` (for the ext benches)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

S3_VARS = ("STOREROOM_TEST_S3_ENDPOINT", "STOREROOM_TEST_S3_KEY", "STOREROOM_TEST_S3_SECRET")


def s3_missing() -> list[str]:
    """The variables still to set (empty when an S3 server is configured)."""
    return [v for v in S3_VARS if not os.environ.get(v)]


@contextmanager
def s3_bucket() -> Iterator[dict[str, Any]]:
    """Create a fresh bucket; yield the ``s3`` backend options for it; empty and drop it after."""
    import boto3

    env = os.environ
    region = env.get("STOREROOM_TEST_S3_REGION", "us-east-1")
    client = boto3.client(
        "s3",
        endpoint_url=env["STOREROOM_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["STOREROOM_TEST_S3_KEY"],
        aws_secret_access_key=env["STOREROOM_TEST_S3_SECRET"],
        region_name=region,
    )
    bucket = f"storeroom-bench-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    try:
        yield {
            "bucket": bucket,
            "endpoint_url": env["STOREROOM_TEST_S3_ENDPOINT"],
            "key": env["STOREROOM_TEST_S3_KEY"],
            "secret": env["STOREROOM_TEST_S3_SECRET"],
            "region_name": region,
        }
    finally:
        try:
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                objs = [{"Key": o["Key"]} for o in page.get("Contents") or ()]
                if objs:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": objs, "Quiet": True})
            client.delete_bucket(Bucket=bucket)
        except Exception:  # best effort: the server may be gone
            pass
