"""The ``pyarrow`` engine of the ``s3`` backend: Arrow's C++ S3 client moves the bytes.

Reads are ``open_input_file`` (one HEAD, then ranged GETs in growing blocks);
large overwriting writes are ``open_output_stream`` (Arrow's multipart upload).
Everything else stays on the s3fs side (see ``_engine.py``). Works on an
``S3Core``: its options build the ``S3FileSystem``, its botocore lanes abort a
failed upload, its error table names every failure.

Fork safety: the AWS SDK under pyarrow is not fork-safe, so the filesystem
is built per process: a child of ``os.fork()`` builds a fresh one and never
uses the parent's.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from storeroom.backends.s3._core import S3Core, etag
from storeroom.backends.s3._creds import profile_keys
from storeroom.backends.s3.config import S3Options
from storeroom.config.secret import reveal
from storeroom.credentials import Credentials
from storeroom.errors import BackendUnavailable, ConfigError

__all__ = ["FIRST_BLOCK", "GROWTH", "MAX_BLOCK", "ArrowEngine", "arrow_options"]

MiB = 1024 * 1024
#: A stream's first ranged GET; each next one is ``GROWTH`` times larger, up to ``MAX_BLOCK``.
#: Arrow has no streamed GET, so every block is a request: few large ones, one held at a
#: time (a stream's memory stays near ``MAX_BLOCK``, under the 32 MiB target of S3-059).
FIRST_BLOCK = 1 * MiB
GROWTH = 4
MAX_BLOCK = 24 * MiB
#: Bytes handed to Arrow per ``write`` call of a streamed upload.
WRITE_CHUNK = 8 * MiB


def _text(value: Any) -> str | None:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else value


def _changed(key: str) -> BackendUnavailable:
    return BackendUnavailable(
        "the file changed while it was being read",
        path=key,
        backend="s3",
        operation="read",
        hint="read it again",
    )


def arrow_options(opts: S3Options) -> dict[str, Any]:
    """Keyword arguments for ``pyarrow.fs.S3FileSystem`` (secrets revealed: never log them).

    ``retry_strategy`` is left to the caller (it is a pyarrow object).
    """
    kwargs: dict[str, Any] = {
        "connect_timeout": opts.connect_timeout,
        # Arrow applies this on Windows and macOS only; see spec S3-052.
        "request_timeout": opts.read_timeout,
        "background_writes": False,
        "allow_bucket_creation": False,
        "allow_bucket_deletion": False,
    }
    if opts.anon:
        kwargs["anonymous"] = True
    elif opts.key is not None:
        kwargs["access_key"] = reveal(opts.key)
        kwargs["secret_key"] = reveal(opts.secret)
        if opts.token is not None:
            kwargs["session_token"] = reveal(opts.token)
    if opts.region_name:
        kwargs["region"] = opts.region_name
    verify = dict((opts.client_options or {}).get("client_kwargs") or {}).get("verify")
    if verify is False:
        raise ConfigError(
            "client_options.client_kwargs.verify: the pyarrow engine always verifies TLS "
            "certificates; give the endpoint's CA as tls_ca_bundle instead",
            key="client_options.client_kwargs.verify",
            backend="s3",
        )
    ca = opts.tls_ca_bundle or (verify if isinstance(verify, str) else None)
    if ca:
        kwargs["tls_ca_file_path"] = ca
    if opts.endpoint_url:
        url = urlsplit(opts.endpoint_url)
        if url.path not in ("", "/") or url.query or url.fragment:
            raise ConfigError(
                "endpoint_url: the pyarrow engine takes a scheme, host and port only (no path)",
                key="endpoint_url",
                backend="s3",
            )
        kwargs["scheme"] = url.scheme
        kwargs["endpoint_override"] = url.netloc.rpartition("@")[2]
    return kwargs


class ArrowEngine:
    """A per-process ``pyarrow.fs.S3FileSystem`` over one core's options."""

    def __init__(self, core: S3Core) -> None:
        self.core = core
        self._lock = threading.Lock()
        self._fs: Any = None
        self._pid = os.getpid()
        self._creds: Credentials | None = None

    def fs(self) -> Any:
        """The filesystem of this process (built on first use, again after a fork)."""
        source = self.core.conn.credentials
        creds = source.current() if source is not None else None
        with self._lock:
            if self._fs is None or self._pid != os.getpid() or creds is not self._creds:
                # Arrow takes static keys: new credentials from the source mean a new fs.
                self._fs = self._build(creds)
                self._pid = os.getpid()
                self._creds = creds
            return self._fs

    def _build(self, creds: Credentials | None) -> Any:
        import pyarrow.fs as pafs  # type: ignore[import-untyped]

        opts = self.core.options
        kwargs = arrow_options(opts)
        if creds is not None:
            kwargs["access_key"] = creds.access_key_id
            kwargs["secret_key"] = reveal(creds.secret_access_key)
            if creds.session_token is not None:
                kwargs["session_token"] = reveal(creds.session_token)
            else:
                kwargs.pop("session_token", None)
        elif opts.profile and opts.key is None and not opts.anon:
            kwargs.update(profile_keys(opts.profile, "access_key", "secret_key"))
        # The retry layer owns retrying: one attempt per request.
        strategy = pafs.AwsStandardS3RetryStrategy(max_attempts=1)
        return pafs.S3FileSystem(retry_strategy=strategy, **kwargs)

    def close(self) -> None:
        """Drop the filesystem; the next call builds a new one."""
        with self._lock:
            self._fs = None

    def _path(self, key: str) -> str:
        return f"{self.core.bucket}/{key}"

    # -- reads ------------------------------------------------------------------

    def open_read(self, key: str, first: int, end: int | None) -> BinaryIO:
        """A lazy stream of ``[first, end)``: one HEAD now, ranged GETs as it is read."""
        try:
            native = self.fs().open_input_file(self._path(key))
            size = native.size()
            tag = etag(_text(native.metadata().get("ETag")))
        except Exception as exc:
            raise self.core.fail(exc, key, "open_read") from exc
        stop = size if end is None else min(end, size)

        def fail(exc: BaseException) -> Exception:
            return self.core.fail(exc, key, "read")

        def unchanged() -> bool:
            head = self.core.head(key, "read")
            return head is not None and etag(head.get("ETag")) == tag

        raw = ArrowRangeStream(native, key, first, stop, fail, unchanged)
        return io.BufferedReader(raw, buffer_size=64 * 1024)

    # -- writes -----------------------------------------------------------------

    def write(self, key: str, head: bytes | bytearray, read: Callable[[int], bytes]) -> int:
        """Upload ``head`` then ``read(...)`` to ``key`` (overwriting); bytes written.

        Arrow creates the multipart upload when the stream opens and completes it
        on close. Arrow cannot abort from Python, so on any failure the upload
        is aborted through the core (the uploads of ``key`` that were not there
        before this one opened), then the stream is closed, which then fails.
        """
        core = self.core
        try:
            before = self._uploads(key)
            stream = self.fs().open_output_stream(self._path(key))
        except Exception as exc:
            raise core.fail(exc, key, "write") from exc
        size = 0
        try:
            try:
                stream.write(head)
            except Exception as exc:
                raise core.fail(exc, key, "write") from exc
            size = len(head)
            del head
            while True:
                block = read(WRITE_CHUNK)  # an error of the caller's source propagates as is
                if not block:
                    break
                try:
                    stream.write(block)
                except Exception as exc:
                    raise core.fail(exc, key, "write") from exc
                size += len(block)
            try:
                stream.close()
            except Exception as exc:
                raise core.fail(exc, key, "write") from exc
        except BaseException:
            self._abort(key, before, stream)
            raise
        return size

    def _uploads(self, key: str) -> set[str]:
        """Upload ids of the multipart uploads in progress for exactly ``key``."""
        resp = self.core.conn.call("list_multipart_uploads", Bucket=self.core.bucket, Prefix=key)
        return {u["UploadId"] for u in resp.get("Uploads") or () if u.get("Key") == key}

    def _abort(self, key: str, before: set[str], stream: Any) -> None:
        """Abort this write's upload before Arrow's close could complete it (best effort)."""
        try:
            for upload_id in self._uploads(key) - before:
                self.core.conn.call(
                    "abort_multipart_upload",
                    Bucket=self.core.bucket,
                    Key=key,
                    UploadId=upload_id,
                )
        except Exception:
            pass
        try:
            stream.close()  # fails now: the upload is gone, so nothing appears
        except Exception:
            pass


class ArrowRangeStream(io.RawIOBase):
    """Forward-only raw stream of ``[start, stop)`` of an Arrow input file.

    Reads come from blocks fetched with one ranged GET each, starting at
    ``FIRST_BLOCK`` and growing ``GROWTH``-fold up to ``MAX_BLOCK``: a short
    read costs a small request, a long sequential read few large ones. One
    block is held. ``readall`` (``read_bytes``, ``read_range``) fetches the
    rest in one GET, since its caller holds all of it anyway.
    Every GET is its own snapshot, so a stream of several GETs asks
    ``unchanged()`` (one HEAD comparing the ETag seen at open) when it reaches
    its end; a changed or shortened file is a retryable ``BackendUnavailable``
    instead of a silent mix of two versions (spec S3-055).
    """

    def __init__(
        self,
        native: Any,
        key: str,
        start: int,
        stop: int,
        fail: Callable[[BaseException], Exception],
        unchanged: Callable[[], bool],
    ) -> None:
        super().__init__()
        self._native = native
        self._key = key
        self._pos = start
        self._stop = stop
        self._fail = fail
        self._unchanged = unchanged
        self._fetches = 0
        self._block = FIRST_BLOCK
        self._buf: memoryview = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _fetch(self, size: int) -> memoryview:
        try:
            self._native.seek(self._pos)
            data = self._native.read_buffer(size)
        except Exception as exc:
            raise self._fail(exc) from exc
        if len(data) != size:  # the object shrank since it was opened
            raise _changed(self._key)
        self._pos += size
        self._fetches += 1
        if self._pos >= self._stop and self._fetches > 1 and not self._unchanged():
            raise _changed(self._key)
        return memoryview(data).cast("B")

    def readinto(self, buffer: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        out = memoryview(buffer).cast("B")
        if not len(self._buf):
            self._buf = memoryview(b"")  # let the spent block go before fetching the next
            left = self._stop - self._pos
            if left <= 0 or not len(out):
                return 0
            if len(out) >= MAX_BLOCK:  # a read this wide goes straight through
                data = self._fetch(min(len(out), left))
                out[: len(data)] = data
                return len(data)
            self._buf = self._fetch(min(max(self._block, len(out)), left))
            self._block = min(self._block * GROWTH, MAX_BLOCK)
        n = min(len(out), len(self._buf))
        out[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def readall(self) -> bytes:
        """The rest of the range: what is held, then one GET for the remainder."""
        if self.closed:
            raise ValueError("I/O operation on closed file")
        held, self._buf = self._buf, memoryview(b"")
        if self._pos >= self._stop:
            return held.tobytes()
        rest = self._fetch(self._stop - self._pos)
        return b"".join((held, rest)) if len(held) else rest.tobytes()

    def close(self) -> None:
        if not self.closed:
            self._buf = memoryview(b"")
            try:
                self._native.close()
            except Exception:
                pass
        super().close()
