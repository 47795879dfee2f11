"""The ``s3`` backend: objects in one S3 (or S3-compatible) bucket, built on s3fs.

Roles: ``_core`` (options, bucket, lane pool), ``_engine`` (which engine moves
the bytes of a read or write: s3fs, or pyarrow with ``engine = "pyarrow"``),
``_reader`` / ``_writer`` (the s3fs engine), ``_arrow_engine``, ``_bulk``.

Keys are object names; folders are not stored but derived from ``/`` in the
names (a flat namespace: an emptied folder disappears). Every call is one
request to S3 with no cache in front, so reads, listings and existence checks
see every completed write at once. Create-only writes are conditional
(``If-None-Match: *`` on the PUT or on the multipart completion), so two
writers racing for a new name cannot both win. Writes are atomic: an object
appears only complete. ``move`` is copy + delete, not atomic.

The backend never retries: botocore is set to a single attempt and every
failure maps to a storeroom error through ``errors.py``, retryable where a
new attempt can succeed, for the retry layer to act on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from heapq import merge
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import botocore.exceptions as bx  # type: ignore[import-untyped]

from storeroom._mask import mask_url
from storeroom._txn_objects import hidden, visible
from storeroom.backend import Backend, Entry, Source, derive_folders, rel_key
from storeroom.backends.s3 import _bulk, _cond, _obstore_list, _paired
from storeroom.backends.s3._core import S3Core, etag, status
from storeroom.backends.s3._engine import DataPath
from storeroom.backends.s3._obstore_engine import ObstoreEngine
from storeroom.backends.s3._presign import presign
from storeroom.backends.s3._transfer import RELAY_MAX, Upload, fetch_small
from storeroom.backends.s3.config import MAX_PART_SIZE, S3Options
from storeroom.backends.s3.errors import BACKEND, TABLE
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.config.secret import Secret
from storeroom.errors import (
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import is_store_key, listable

if TYPE_CHECKING:
    from storeroom._txn_core import BackendTransaction

__all__ = ["S3Backend"]

_NAME = BACKEND
_PAGE = 1000  # S3's page size for listings and batch deletes


_status = status
_etag = etag


def _canonical(key: str) -> bool:
    """True for object names that are store keys (spec BACKEND-006).

    A folder marker (``a/b/``, written by other tools) is skipped silently;
    any other name that is not a store path is skipped with a warning.
    """
    if key.endswith("/") and is_store_key(key[:-1]):
        return False
    return listable(key, _NAME)


class S3Backend(Backend):
    """Objects in an S3 bucket: ``S3Backend(bucket="data", endpoint_url=..., ...)``.

    See ``S3Options`` for every option. Flat namespace (folders derived from
    key prefixes); user metadata is stored as S3 object metadata (keys come
    back lower-cased, values must be ASCII). Safe to use from several threads
    and after ``os.fork()``. With ``engine="pyarrow"`` reads and large writes go
    through ``pyarrow.fs.S3FileSystem``; its writes report no ETag, so that
    engine does not declare WRITE_RESULT_NATIVE.
    """

    type_name = _NAME
    real_folders = False
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.LAZY_READ,
            Capability.USER_METADATA,
            Capability.WRITE_RESULT_NATIVE,
            Capability.SIGNED_URL,
            Capability.CONDITIONAL_WRITE,
            Capability.TRANSACTION,
        }
    )
    options_class: ClassVar[type[S3Options]] = S3Options
    native_delete_many = True

    def __init__(self, bucket: str, **options: Any) -> None:
        for name in ("key", "secret", "token"):
            value = options.get(name)
            if isinstance(value, str):
                options[name] = Secret(value)
        self._setup(S3Options(bucket=bucket, **options))

    def _setup(self, opts: S3Options) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        self.bucket = opts.bucket
        self._core = S3Core(opts)
        self._conn = self._core.conn
        self._data = DataPath(self._core)  # decides the engine of every read and write
        if opts.engine == "pyarrow":
            self.capabilities = type(self).capabilities - {Capability.WRITE_RESULT_NATIVE}
        if opts.anon:  # no credentials, nothing to sign with (spec SIGN-050)
            self.capabilities = self.capabilities - {Capability.SIGNED_URL}

    # -- plumbing ---------------------------------------------------------------

    @property
    def _obs(self) -> ObstoreEngine | None:
        """The obstore engine (``engine = "obstore"``), which also serves stat, delete,
        listing, copy, conditional writes and signed URLs; ``None`` otherwise (S3-080..)."""
        return self._data.obs

    def _call(self, op: str, key: str, method: str, **kwargs: Any) -> Any:
        return self._core.call(op, key, method, **kwargs)

    def _fail(self, exc: BaseException, key: str, op: str) -> StoreroomError:
        return TABLE.map(exc, key, operation=op, bucket=self.bucket)

    def _head(self, key: str, op: str) -> dict[str, Any] | None:
        return self._core.head(key, op)

    @staticmethod
    def _info(key: str, head: Mapping[str, Any]) -> FileInfo:
        meta = head.get("Metadata")
        return FileInfo._fast(
            key,
            key.rpartition("/")[2],
            int(head.get("ContentLength", 0)),
            head.get("LastModified"),
            etag=_etag(head.get("ETag")),
            content_type=head.get("ContentType"),
            metadata=dict(meta) if meta is not None else {},
        )

    # -- reads ------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """The file at ``key`` (one HEAD); folders are not objects, so ``NotFound``."""
        if self._obs is not None:
            return self._obs.stat(key)
        head = self._head(key, "stat")
        if head is None:
            raise NotFound("file not found", path=key, backend=_NAME, operation="stat")
        return self._info(key, head)

    def exists(self, key: str) -> bool:
        """A file (HEAD) or a non-empty prefix (one-key LIST), both sent at once (``_paired``)."""
        if not key:
            return True
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self._obs is not None:
            return self._obs.exists(key)
        return self._both("exists", key, _paired.exists)

    def is_folder(self, key: str) -> bool:
        """True for the root and for any prefix ``key/`` holding at least one object."""
        if hidden(key):  # transaction staging (TXN-040)
            return False
        if self._obs is not None:
            return not key or self._obs.has_children(key, "is_folder")
        return not key or self._has_children(key, "is_folder")

    def _has_children(self, key: str, op: str) -> bool:
        resp = self._call(op, key, "list_objects_v2", Prefix=key + "/", MaxKeys=1)
        return bool(resp.get("KeyCount") or resp.get("Contents"))

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A lazy, forward-only stream; ``start``/``end`` are one ranged read (see ``_engine``)."""
        return self._data.open_read(key, start, end)

    # -- writes -----------------------------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """One PUT up to ``multipart_threshold`` bytes, else a multipart upload.

        Both are atomic (the object appears complete or not at all), so
        ``atomic`` needs nothing extra. Without ``overwrite`` the PUT or the
        completion carries ``If-None-Match: *``: an existing object is a 412,
        reported as ``AlreadyExists``. The engine is chosen in ``_engine``.
        """
        return self._data.write(key, src, overwrite, metadata)

    def delete(self, key: str) -> None:
        """HEAD, then DELETE: S3 deletes a missing key silently, the HEAD tells a miss.

        Not sent together: S3 may serve the DELETE first, and the HEAD would then
        report an existing file as missing (spec S3-045). ``discard`` skips the HEAD.
        """
        if self._obs is not None:
            if self._obs.head(key, "delete") is None:
                raise NotFound("file not found", path=key, backend=_NAME, operation="delete")
            self._obs.delete(key)
            return
        if self._head(key, "delete") is None:
            raise NotFound("file not found", path=key, backend=_NAME, operation="delete")
        self._call("delete", key, "delete_object", Key=key)

    def discard(self, key: str) -> None:
        """One DELETE and no existence check: S3 deletes a missing key silently."""
        if self._obs is not None:
            self._obs.delete(key)
            return
        self._call("delete", key, "delete_object", Key=key)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """One PUT with ``If-Match`` (see ``_cond``): S3 compares and replaces in one step."""
        if self._obs is not None:
            if not key:
                raise InvalidPath("a file path is required, got the root", path=key, backend=_NAME)
            return self._obs.write_if_match(key, src, etag, metadata)
        return _cond.write_if_match(self._core, key, src, etag, metadata)

    def delete_if_match(self, key: str, etag: str) -> None:
        """One DELETE with ``If-Match``."""
        _cond.delete_if_match(self._core, key, etag)

    def _both(
        self, op: str, key: str, probe: Callable[[Any, str, str], Coroutine[Any, Any, bool]]
    ) -> bool:
        """Run the two-request ``probe`` on a lane; failures mapped as ``op`` on ``key``."""
        try:
            return self._conn.run(lambda client: probe(client, self.bucket, key))
        except Exception as exc:
            raise self._fail(exc, key, op) from exc

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """Quiet ``DeleteObjects`` of up to 1,000 keys per request (see ``_bulk``)."""
        return _bulk.delete_many(self, keys)

    # -- listing ----------------------------------------------------------------

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Pages of ``ListObjectsV2`` (1,000 keys each), streamed in entry order."""
        if self._obs is not None:
            files = _obstore_list.pages(
                self._obs, prefix, recursive, base, self._list_pages, _canonical
            )
        else:
            files = self._list_pages(prefix, recursive, base)
        if not prefix:
            files = visible(files)  # transaction staging is never listed (TXN-040)
        if recursive:
            return derive_folders(files, rel_key(prefix, base) if prefix else "")
        return files

    def _list_pages(self, prefix: str, recursive: bool, base: str) -> Iterator[Any]:
        cut = len(base) + 1 if base else 0
        query: dict[str, Any] = {"Prefix": prefix + "/" if prefix else "", "MaxKeys": _PAGE}
        if not recursive:
            query["Delimiter"] = "/"
        while True:
            resp = self._call("list", prefix, "list_objects_v2", **query)
            files = ((o["Key"], o) for o in resp.get("Contents") or () if _canonical(o["Key"]))
            if recursive:
                for name, obj in files:
                    yield self._listed(name[cut:], obj)
            else:
                folders = ((p["Prefix"], None) for p in resp.get("CommonPrefixes") or ())
                for name, obj in merge(files, folders, key=lambda item: item[0]):
                    if obj is not None:
                        yield self._listed(name[cut:], obj)
                    elif _canonical(name[:-1]):
                        path = name[cut:-1]
                        yield FolderEntry._fast(path, path.rpartition("/")[2])
            token = resp.get("NextContinuationToken")
            if not resp.get("IsTruncated") or not token:
                return
            query["ContinuationToken"] = token

    @staticmethod
    def _listed(path: str, obj: Mapping[str, Any]) -> FileInfo:
        return FileInfo._fast(
            path,
            path.rpartition("/")[2],
            obj["Size"],
            obj.get("LastModified"),
            etag=_etag(obj.get("ETag")),
        )

    # -- optional primitives ------------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Server-side copy of content, metadata and content type.

        With ``overwrite`` a HEAD and one ``CopyObject``. Create-only copies must
        not race a concurrent writer: up to ``RELAY_MAX`` bytes they GET the
        source and PUT it with ``If-None-Match: *`` (two requests); larger ones
        complete a one-part multipart copy with that condition (S3 and moto
        honour it there, not on ``CopyObject``).
        """
        relay = not overwrite and src != dst and bool(src)
        head = self._get_small(src) if relay else self._head(src, "copy")
        if head is None:
            raise NotFound("file not found", path=src, backend=_NAME, operation="copy")
        size = int(head.get("ContentLength", 0))
        meta = dict(head.get("Metadata") or {})
        if src == dst:
            return self._core.result(dst, size, head, meta)
        source = {"Bucket": self.bucket, "Key": src}
        if overwrite and self._obs is not None:
            self._obs.copy(src, dst)
            return self._core.result(dst, size, {}, meta)
        if overwrite and size <= MAX_PART_SIZE:
            resp = self._call("copy", dst, "copy_object", Key=dst, CopySource=source)
            return self._core.result(dst, size, resp.get("CopyObjectResult") or {}, meta)
        args: dict[str, Any] = {"Metadata": meta}
        if head.get("ContentType"):
            args["ContentType"] = head["ContentType"]
        if "Data" in head:  # small create-only copy: one conditional PUT of the bytes
            return self._data.writer.put(dst, head["Data"], overwrite, args, meta)
        if size == 0:
            return self._data.writer.put(dst, b"", overwrite, args, meta)
        return self._copy_parts(dst, source, size, overwrite, args)

    def _get_small(self, key: str) -> dict[str, Any] | None:
        """GET for a create-only copy: the response (with ``Data`` up to ``RELAY_MAX``)."""
        try:
            return fetch_small(self._conn, self.bucket, key, RELAY_MAX)
        except bx.ClientError as exc:
            if _status(exc) == 404:
                return None
            raise self._fail(exc, key, "copy") from exc
        except Exception as exc:
            raise self._fail(exc, key, "copy") from exc

    def _copy_parts(
        self, dst: str, source: dict[str, str], size: int, overwrite: bool, args: dict[str, Any]
    ) -> WriteResult:
        """A multipart upload of server-side part copies (5 GiB each, S3's maximum)."""
        try:
            upload = Upload(self._conn, self.bucket, dst, args)
        except Exception as exc:
            raise self._fail(exc, dst, "copy") from exc
        try:
            for first in range(0, size, MAX_PART_SIZE):
                upload.add_copy(source, first, min(size, first + MAX_PART_SIZE) - 1)
            resp = upload.complete(overwrite)
        except BaseException as exc:
            upload.abort()
            if isinstance(exc, Exception):
                raise self._fail(exc, dst, "copy") from exc
            raise
        return self._core.result(dst, size, resp, args["Metadata"])

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy, then delete the source: NOT atomic (S3 has no rename)."""
        if src == dst:
            self._check_file(src)
            return
        self.copy(src, dst, overwrite=overwrite)
        self._call("move", src, "delete_object", Key=src)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Delete every object under ``key/`` with batch deletes of 1,000 keys."""
        if not key:
            raise InvalidPath("refusing to remove the backend root", path=key, backend=_NAME)
        query: dict[str, Any] = {"Prefix": key + "/", "MaxKeys": _PAGE}
        seen = False
        while True:
            resp = self._call("remove_folder", key, "list_objects_v2", **query)
            names = [o["Key"] for o in resp.get("Contents") or ()]
            if not names:
                break
            if not seen and not recursive:
                raise DirectoryNotEmpty(
                    "folder is not empty",
                    path=key,
                    backend=_NAME,
                    hint="pass recursive=True to delete it with its content",
                )
            seen = True
            batch = {"Objects": [{"Key": n} for n in names], "Quiet": True}
            done = self._call("remove_folder", key, "delete_objects", Delete=batch)
            for err in done.get("Errors") or ():
                failure = bx.ClientError({"Error": err}, "DeleteObjects")
                raise self._fail(failure, err.get("Key", key), "remove_folder") from failure
            # Listing again after the last deleted name stays correct while deleting.
            query["StartAfter"] = names[-1]
            query.pop("ContinuationToken", None)
        if not seen:
            raise NotFound("folder not found", path=key, backend=_NAME, operation="remove_folder")

    def begin_transaction(self) -> BackendTransaction:
        """Staged uploads, a commit record, server-side copies (``_txn_objects``, TXN-040)."""
        from storeroom._txn_objects import ObjectTransaction

        return ObjectTransaction(self)

    def ping(self) -> None:
        """One HEAD of the bucket: reachability, credentials and the bucket's existence."""
        self._call("ping", "", "head_bucket")

    def native_path(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A SigV4 presigned ``get_object``/``put_object`` URL, signed locally (no request)."""
        if self._obs is not None:
            return self._obs.sign(key, expires, method)
        return presign(self._core, key, expires, method)

    def describe(self) -> Mapping[str, object]:
        facts: dict[str, object] = {"bucket": self.bucket, "engine": self.options.engine}
        if self.options.endpoint_url:
            facts["endpoint_url"] = mask_url(self.options.endpoint_url, sql=False)
        if self.options.region_name:
            facts["region_name"] = self.options.region_name
        return facts

    def close(self) -> None:
        """Close the HTTP sessions; the backend reconnects on next use."""
        self._conn.close()
        self._data.close()

    def _native_handles(self) -> Iterator[object]:
        """For ``unwrap``: the s3fs file system, then the pyarrow one (``pyarrow`` engine)."""
        yield self._conn.fs
        if self._data.arrow is not None:
            yield self._data.arrow.fs()
        if self._obs is not None:
            yield self._obs.client.store()

    def unwrap_s3fs(self) -> Any:
        """The underlying ``s3fs.S3FileSystem`` (for what storeroom does not cover)."""
        return self._conn.fs

    def unwrap_pyarrow(self) -> Any:
        """The ``pyarrow.fs.S3FileSystem`` of the ``pyarrow`` engine (for Arrow datasets)."""
        if self._data.arrow is None:
            raise CapabilityNotSupported(
                "unwrap_pyarrow needs engine = 'pyarrow'", backend=_NAME, operation="unwrap"
            )
        return self._data.arrow.fs()

    def unwrap_obstore(self) -> Any:
        """The ``obstore.store.S3Store`` of the ``obstore`` engine (this process's)."""
        if self._obs is None:
            raise CapabilityNotSupported(
                "unwrap_obstore needs engine = 'obstore', in a process not forked after "
                "obstore was imported (there the backend uses its botocore lanes)",
                backend=_NAME,
                operation="unwrap",
            )
        return self._obs.client.store()
