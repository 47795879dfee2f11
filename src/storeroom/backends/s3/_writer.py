"""The s3fs engine's writes: one conditional-capable PUT, or a multipart upload.

Works on an ``S3Core``. Also serves, whatever the engine, the writes only
botocore can express: create-only writes (``If-None-Match: *``) and user
metadata (spec S3-011, S3-053).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

from storeroom.backend import Source
from storeroom.backends.s3._core import S3Core, status
from storeroom.backends.s3._transfer import Upload, cut_parts, part_sizes
from storeroom.backends.s3.errors import BACKEND
from storeroom.errors import AlreadyExists, InvalidPath
from storeroom.models import WriteResult

__all__ = ["S3fsWriter"]


class S3fsWriter:
    """Writes through the backend's botocore lanes."""

    __slots__ = ("core",)

    def __init__(self, core: S3Core) -> None:
        self.core = core

    def check_ancestors(self, key: str) -> None:
        """With ``reject_write_under_file_ancestor``: no parent of ``key`` may be a file."""
        parts = key.split("/")[:-1]
        if not parts:
            return
        parents = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        bucket = self.core.bucket

        async def probe(client: Any) -> list[Any]:
            calls = [client.head_object(Bucket=bucket, Key=p) for p in parents]
            return await asyncio.gather(*calls, return_exceptions=True)

        for parent, res in zip(parents, self.core.conn.run(probe), strict=True):
            if isinstance(res, BaseException):
                if status(res) == 404:
                    continue
                raise self.core.fail(res, key, "write") from res
            raise InvalidPath(
                f"a parent of this path is a file: {parent!r}", path=key, backend=BACKEND
            )

    def put(
        self,
        key: str,
        data: bytes | bytearray,
        overwrite: bool,
        args: dict[str, Any],
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        """One ``PutObject`` (``If-None-Match: *`` without ``overwrite``)."""
        if not overwrite:
            args = {**args, "IfNoneMatch": "*"}
        resp = self.core.call("write", key, "put_object", Key=key, Body=data, **args)
        return self.core.result(key, len(data), resp, metadata)

    def multipart(
        self,
        key: str,
        src: Source,
        first: bytearray,
        lead: bytes,
        total: int | None,
        overwrite: bool,
        args: dict[str, Any],
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        """A multipart upload of ``first + lead + src``, aborted on any failure."""
        if not overwrite and self.core.head(key, "write") is not None:
            # Fail before uploading; the conditional completion still guards the race.
            raise AlreadyExists(
                "file already exists",
                path=key,
                backend=BACKEND,
                operation="write",
                hint="pass overwrite=True to replace it",
            )
        read = src.read  # type: ignore[union-attr]
        parts = cut_parts(read, first, lead, part_sizes(self.core.options.part_size, total))
        del first
        return self._upload(key, parts, overwrite, args, metadata)

    def _upload(
        self,
        key: str,
        parts: Iterator[memoryview],
        overwrite: bool,
        args: dict[str, Any],
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        core = self.core
        try:
            upload = Upload(core.conn, core.bucket, key, args)
        except Exception as exc:
            raise core.fail(exc, key, "write") from exc
        try:
            for part in parts:  # an error of the caller's source propagates unchanged
                try:
                    upload.add(part)  # read in place: no copy of the part
                except Exception as exc:
                    raise core.fail(exc, key, "write") from exc
                del part
            try:
                resp = upload.complete(overwrite)
            except Exception as exc:
                raise core.fail(exc, key, "write") from exc
        except BaseException:
            upload.abort()
            raise
        return core.result(key, upload.size, resp, metadata)
