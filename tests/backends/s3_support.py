"""What the S3 engine tests share: the moto server's settings, a store on it, sources.

``test_s3.py``, ``test_s3_pyarrow.py`` and ``test_s3_obstore.py`` build their
stores, count multipart uploads and stream MiB-sized sources the same way.
"""

from __future__ import annotations

import io
import sys
import uuid
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Store

#: The S3 test server's settings (``None`` without one), as the conformance target reads them.
ENV: dict[str, str] | None = sys.modules["storeroom_service_target_s3"].ENV
MiB = 1024 * 1024
needs_server = pytest.mark.skipif(
    ENV is None, reason="no S3 test server (tests/test_services.py fails for that)"
)
#: Options that make a 6 MiB write a multipart upload.
SMALL = {"part_size": 5 * MiB, "multipart_threshold": 5 * MiB}


def target() -> Any:
    """The S3 conformance target module (bucket, options and boto3 client for ``ENV``)."""
    return sys.modules["storeroom_service_target_s3"]


def s3_store(
    bucket: str | None = None, root: str | None = None, *, type_: str = "s3", **opts: Any
) -> Store:
    """Store ``s`` on the test server under a fresh (or the given) root; ``opts`` are options."""
    assert ENV is not None
    t = target()
    bucket = bucket or t.ensure_bucket(ENV)
    config = {
        "backends": {"b": {"type": type_, "options": t.options(ENV, bucket, **opts)}},
        "stores": {"s": {"backend": "b", "root_path": root or uuid.uuid4().hex}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("s")


def client() -> Any:
    """A boto3 client on the test server."""
    assert ENV is not None
    return target().boto3_client(ENV)


def object_key(store: Store, path: str) -> str:
    """The object key (no bucket) of ``path`` in ``store``."""
    return store.native_path(path).split("/", 3)[3]


def uploads(key: str) -> list[Any]:
    """Multipart uploads still open for ``key`` (a failed write must leave none)."""
    assert ENV is not None
    bucket = target().ensure_bucket(ENV)
    resp = client().list_multipart_uploads(Bucket=bucket, Prefix=key)
    return [u for u in resp.get("Uploads") or () if u["Key"] == key]


class Chunks(io.RawIOBase):
    """A non-seekable source of ``count`` chunks of ``size`` bytes (chunk i is letter i).

    ``hook(i)`` runs when chunk ``i`` starts being served; ``fail_at=i`` raises
    ``OSError`` there instead (an error of the caller's own source).
    """

    def __init__(self, count: int, size: int = MiB, fail_at: int | None = None, hook: Any = None):
        self.count, self.size, self.fail_at, self.hook = count, size, fail_at, hook
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        index, offset = divmod(self.pos, self.size)
        if index >= self.count:
            return 0
        if offset == 0:
            if index == self.fail_at:
                raise OSError("source broke")
            if self.hook is not None:
                self.hook(index)
        n = min(len(b), self.size - offset)
        b[:n] = bytes([65 + index % 26]) * n
        self.pos += n
        return n


def expected(count: int, size: int = MiB) -> bytes:
    """What ``Chunks(count, size)`` yields."""
    return b"".join(bytes([65 + i % 26]) * size for i in range(count))
