"""The ``obstore`` engine of the ``azure`` backend (spec AZURE-080..089).

Works on an ``AzureCore`` (options, error table, SDK clients for what obstore
cannot do) and its own ``ObstoreClient``. Serves reads (one streamed GET),
writes (one Put Blob, or obstore's block upload, which it leaves uncommitted
on failure), HEAD with metadata, delete, listings, server-side copy, If-Match
writes and account-key signed URLs. obstore is imported on first use, never
by ``import storeroom``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, BinaryIO, cast

from storeroom._cond import precondition_failed
from storeroom.backends._obstore_common import Counter, ObstoreStream
from storeroom.backends.azure._core import AzureCore, strip_etag
from storeroom.backends.azure._obstore_conn import ObstoreClient
from storeroom.backends.azure.errors import BACKEND
from storeroom.errors import NotFound
from storeroom.models import FileInfo, WriteResult
from storeroom.path import RemotePath

__all__ = ["AzureObstoreEngine"]

#: Attribute names obstore keeps for itself; every other attribute is user metadata.
_STANDARD = frozenset(
    {"Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control"}
)


class AzureObstoreEngine:
    """Every request of the ``obstore`` engine, around one core."""

    __slots__ = ("client", "core")

    def __init__(self, core: AzureCore) -> None:
        self.core = core
        self.client = ObstoreClient(core.options, self._prepare)

    def _prepare(self) -> None:
        """Before a process's first store: create the container (``create_container``)."""
        if self.core.options.create_container:
            self.core.container()

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
            if options and not isinstance(exc, FileNotFoundError):
                # Azure's 416 arrives as a GenericError without status: a HEAD tells it.
                head = self.head(key, "open_read")
                if head is not None and first >= int(head["size"]):
                    return io.BytesIO(b"")
            raise self.core.fail(exc, key, "open_read") from exc
        return cast(BinaryIO, ObstoreStream(result, self.core, key))

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
            head.get("last_modified"),
            etag=strip_etag(head.get("e_tag")),
            content_type=attrs.get("Content-Type"),
            metadata={k: str(v) for k, v in attrs.items() if k not in _STANDARD} or None,
        )

    def has_children(self, key: str, op: str) -> bool:
        """True when some blob is named ``key/...`` (a one-name listing)."""
        import obstore

        stream = self._do(op, key, obstore.list, key, chunk_size=1)
        try:
            return any(page for page in stream)
        except Exception as exc:
            if type(exc).__name__ == "InvalidPathError":
                return True  # a blob obstore cannot name is still under key/
            raise self.core.fail(exc, key, op) from exc

    def exists(self, key: str) -> bool:
        """A file (one HEAD), else a folder (a one-name listing after the miss)."""
        return self.head(key, "exists") is not None or self.has_children(key, "exists")

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
        """One ``obstore.put``: bytes as one Put Blob, an iterator as staged blocks.

        A failed block upload leaves only uncommitted blocks (invisible, discarded
        by Azure); the source's own exception propagates unchanged.
        """
        import obstore

        kwargs: dict[str, Any] = {"mode": mode}
        if metadata:
            kwargs["attributes"] = dict(metadata)
        if part_size is None:
            kwargs["use_multipart"] = False
        else:
            kwargs["chunk_size"] = part_size
            kwargs["max_concurrency"] = self.core.options.max_concurrency
        counted = Counter(data) if size is None else None
        try:
            resp = obstore.put(self.client.store(), key, counted or data, **kwargs)
        except Exception as exc:
            if counted is not None and counted.failed is not None:
                raise counted.failed from None  # the caller's source failed: unchanged
            raise self.core.fail(exc, key, "write") from exc
        total = counted.size if counted is not None else size
        return _result(key, total or 0, resp, metadata)

    def write_if_match(
        self, key: str, data: bytes, tag: str, metadata: Mapping[str, str] | None
    ) -> WriteResult:
        """One Put Blob with obstore's update mode (``If-Match``): replaced only at ``tag``."""
        import obstore

        args: dict[str, Any] = {"mode": {"e_tag": f'"{tag}"'}, "use_multipart": False}
        if metadata:
            args["attributes"] = dict(metadata)
        try:
            resp = obstore.put(self.client.store(), key, data, **args)
        except Exception as exc:
            # obstore answers 412 (changed) and 404 (gone) alike (spec AZURE-087).
            name = type(exc).__name__
            if isinstance(exc, FileNotFoundError) or name == "PreconditionError":
                found = None if isinstance(exc, FileNotFoundError) else ""
                raise precondition_failed(key, BACKEND, tag, found, "write") from exc
            raise self.core.fail(exc, key, "write") from exc
        return _result(key, len(data), resp, metadata)

    # -- delete, list, copy, sign -----------------------------------------------

    def delete(self, key: str) -> None:
        """One Delete Blob; Azure reports a missing blob itself (``NotFound``)."""
        import obstore

        self._do("delete", key, obstore.delete, key)

    def discard(self, key: str) -> None:
        """One Delete Blob; a missing blob is skipped."""
        import obstore

        try:
            obstore.delete(self.client.store(), key)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self.core.fail(exc, key, "delete") from exc

    def list_all(self, prefix: str) -> Iterator[list[dict[str, Any]]]:
        """Pages of every blob under ``prefix/`` (the root for ``""``), in name order."""
        import obstore

        stream = self._do("list", prefix, obstore.list, prefix or None, chunk_size=5000)
        while True:
            try:
                page = next(stream)
            except StopIteration:
                return
            except Exception as exc:
                raise self.core.fail(exc, prefix, "list") from exc
            yield page

    def list_one(self, prefix: str) -> tuple[list[str], list[dict[str, Any]]]:
        """The folders and blobs right under ``prefix/`` (every page, delimited by ``/``)."""
        import obstore

        found = self._do("list", prefix, obstore.list_with_delimiter, prefix or None)
        return list(found["common_prefixes"]), list(found["objects"])

    def copy(self, src: str, dst: str, overwrite: bool) -> None:
        """One server-side Copy Blob (content, metadata, content type); ``If-None-Match: *``
        unless ``overwrite``."""
        import obstore

        self._do("copy", dst, obstore.copy, src, dst, overwrite=overwrite)

    def sign(self, key: str, expires: int, method: str) -> str:
        """A service SAS URL signed locally with the account key (no request)."""
        import obstore

        url: str = self._do(
            "signed_url", key, obstore.sign, method, key, timedelta(seconds=expires)
        )
        return url

    def close(self) -> None:
        self.client.close()


def _result(
    key: str, size: int, resp: Mapping[str, Any], metadata: Mapping[str, str] | None
) -> WriteResult:
    """The ``WriteResult`` from obstore's ``PutResult`` (ETag and version; no date)."""
    return WriteResult(
        RemotePath._trusted(key),
        size,
        etag=strip_etag(resp.get("e_tag")),
        version_id=resp.get("version"),
        metadata=dict(metadata or {}),
    )
