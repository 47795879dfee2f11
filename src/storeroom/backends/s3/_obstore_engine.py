"""The ``obstore`` engine of the ``s3`` backend (spec S3-080..089).

Works on an ``S3Core`` (options, bucket, error table, credential source) and
its own ``ObstoreClient``. Serves reads (one streamed GET), writes (one PUT, or
a multipart upload that obstore aborts on failure), HEAD-with-metadata,
delete, listings, server-side copy, ``If-Match`` writes and signed URLs.
obstore is imported on first use, never by ``import storeroom``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, BinaryIO, cast

from storeroom._cond import precondition_failed
from storeroom.backend import Source, read_all
from storeroom.backends._obstore_common import Counter, ObstoreStream
from storeroom.backends.s3._core import S3Core, etag
from storeroom.backends.s3._obstore_conn import ObstoreClient
from storeroom.backends.s3.errors import BACKEND
from storeroom.errors import InvalidArgument, NotFound
from storeroom.models import FileInfo, WriteResult
from storeroom.path import RemotePath

__all__ = ["ObstoreEngine", "ObstoreStream"]

#: Attribute names obstore keeps for itself; every other attribute is user metadata.
_STANDARD = frozenset(
    {"Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control"}
)
#: S3's largest single PUT (a conditional write is one PUT).
_MAX_PUT = 5 * 1024**3


def _modified(meta: Mapping[str, Any]) -> Any:
    return meta.get("last_modified")


class ObstoreEngine:
    """Every request of the ``obstore`` engine, around one core."""

    __slots__ = ("client", "core")

    def __init__(self, core: S3Core) -> None:
        self.core = core
        self.client = ObstoreClient(core.options, core.conn.credentials)

    def _do(self, op: str, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One obstore call on this process's store; failures through the error table."""
        try:
            return fn(self.client.store(), *args, **kwargs)
        except Exception as exc:
            raise self.core.fail(exc, key, op) from exc

    # -- reads -------------------------------------------------------------------

    def open_read(self, key: str, first: int, end: int | None) -> BinaryIO:
        """One streamed GET of ``[first, end)``; a range past the end is empty."""
        import obstore

        options: Any = {}
        if end is not None:
            options["range"] = (first, end)
        elif first:
            options["range"] = {"offset": first}
        try:
            result = obstore.get(self.client.store(), key, options=options or None)
        except Exception as exc:
            if options and self._past_end(key, first, exc):
                return io.BytesIO(b"")
            raise self.core.fail(exc, key, "open_read") from exc
        stream = ObstoreStream(result, self.core, key)
        return cast(BinaryIO, stream)

    def _past_end(self, key: str, first: int, exc: BaseException) -> bool:
        """After a failed ranged GET: True when the file exists and ``first`` is past its end.

        obstore reports S3's 416 as a ``GenericError`` with no status; a HEAD tells it.
        """
        if isinstance(exc, FileNotFoundError):
            return False
        head = self.head(key, "open_read")
        return head is not None and first >= int(head["size"])

    def head(self, key: str, op: str) -> dict[str, Any] | None:
        """One HEAD: ``{size, last_modified, e_tag, attributes}``, or ``None`` if missing."""
        import obstore

        if not key:
            return None
        try:
            result = obstore.get(self.client.store(), key, options={"head": True})
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self.core.fail(exc, key, op) from exc
        return {**result.meta, "attributes": dict(result.attributes)}

    def stat(self, key: str) -> FileInfo:
        """The file at ``key`` with its content type and user metadata (one HEAD)."""
        head = self.head(key, "stat")
        if head is None:
            raise NotFound("file not found", path=key, backend=BACKEND, operation="stat")
        attrs = head["attributes"]
        return FileInfo._fast(
            key,
            key.rpartition("/")[2],
            int(head["size"]),
            _modified(head),
            etag=etag(head.get("e_tag")),
            content_type=attrs.get("Content-Type"),
            metadata={k.lower(): str(v) for k, v in attrs.items() if k not in _STANDARD},
        )

    # -- writes ------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: Any,
        size: int | None,
        mode: Any,
        metadata: Mapping[str, str] | None,
        *,
        part_size: int | None = None,
    ) -> WriteResult:
        """One ``obstore.put``: bytes as one PUT, an iterator as a multipart upload.

        obstore aborts its multipart upload when the source or a request fails;
        the source's own exception propagates unchanged.
        """
        import obstore

        kwargs: dict[str, Any] = {"mode": mode}
        if metadata:
            kwargs["attributes"] = dict(metadata)
        if part_size is None:
            kwargs["use_multipart"] = False
        else:
            kwargs["chunk_size"] = part_size
        counted = Counter(data) if size is None else None
        try:
            resp = obstore.put(self.client.store(), key, counted or data, **kwargs)
        except Exception as exc:
            if counted is not None and counted.failed is not None:
                raise counted.failed from None  # the caller's source failed: unchanged
            raise self.core.fail(exc, key, "write") from exc
        total = counted.size if counted is not None else size
        return self.result(key, total or 0, resp, metadata)

    @staticmethod
    def result(
        key: str, size: int, resp: Mapping[str, Any], metadata: Mapping[str, str] | None
    ) -> WriteResult:
        """The ``WriteResult`` from obstore's ``PutResult`` (ETag and version; no date)."""
        return WriteResult(
            RemotePath._trusted(key),
            size,
            etag=etag(resp.get("e_tag")),
            version_id=resp.get("version"),
            metadata=dict(metadata or {}),
        )

    def write_if_match(
        self, key: str, src: Source, tag: str, metadata: Mapping[str, str] | None
    ) -> WriteResult:
        """One PUT with obstore's update mode (``If-Match``): replaced only at ``tag``."""
        data = read_all(src)
        if len(data) > _MAX_PUT:
            raise InvalidArgument(
                f"a conditional write on S3 is one PUT of at most 5 GiB, got {len(data)} bytes",
                path=key,
                backend=BACKEND,
                hint="write large files without if_match, or keep a small versioned pointer file",
            )
        import obstore

        args: dict[str, Any] = {"mode": {"e_tag": f'"{tag}"'}, "use_multipart": False}
        if metadata:
            args["attributes"] = dict(metadata)
        try:
            resp = obstore.put(self.client.store(), key, data, **args)
        except Exception as exc:
            # 412: the ETag differs; 404: no such object (spec COND-043).
            name = type(exc).__name__
            if isinstance(exc, FileNotFoundError) or name == "PreconditionError":
                found = None if isinstance(exc, FileNotFoundError) else ""
                raise precondition_failed(key, BACKEND, tag, found, "write") from exc
            raise self.core.fail(exc, key, "write") from exc
        return self.result(key, len(data), resp, metadata)

    # -- delete, list, copy, sign -----------------------------------------------

    def delete(self, key: str) -> None:
        """One DELETE (S3 deletes a missing key silently)."""
        import obstore

        self._do("delete", key, obstore.delete, key)

    def list_all(self, prefix: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of every object under ``prefix/`` (the root for ``""``), in name order."""
        import obstore

        stream = self._do("list", prefix, obstore.list, prefix or None, chunk_size=1000)
        while True:
            try:
                page = next(stream)
            except StopIteration:
                return
            except Exception as exc:
                raise self.core.fail(exc, prefix, "list") from exc
            yield page

    def has_children(self, key: str, op: str) -> bool:
        """True when some object is named ``key/...`` (a one-key listing)."""
        import obstore

        stream = self._do(op, key, obstore.list, key, chunk_size=1)
        try:
            return any(page for page in stream)
        except Exception as exc:
            if type(exc).__name__ == "InvalidPathError":
                return True  # an object obstore cannot name is still under key/
            raise self.core.fail(exc, key, op) from exc

    def exists(self, key: str) -> bool:
        """A file (one HEAD), else a folder (a one-key listing after the miss)."""
        return self.head(key, "exists") is not None or self.has_children(key, "exists")

    def list_one(self, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
        """The folders and objects right under ``prefix/`` (every page, delimited by ``/``)."""
        import obstore

        found = self._do("list", prefix, obstore.list_with_delimiter, prefix or None)
        return list(found["common_prefixes"]), list(found["objects"])

    def copy(self, src: str, dst: str) -> None:
        """One server-side ``CopyObject`` (content, metadata and content type)."""
        import obstore

        self._do("copy", dst, obstore.copy, src, dst, overwrite=True)

    def sign(self, key: str, expires: int, method: str) -> str:
        """A SigV4 presigned URL, signed locally by obstore (no request)."""
        import obstore

        url: str = self._do(
            "signed_url", key, obstore.sign, method, key, timedelta(seconds=expires)
        )
        return url

    def close(self) -> None:
        self.client.close()
