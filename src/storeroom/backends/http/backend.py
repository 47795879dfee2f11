"""The ``http`` backend: read-only files served under a base URL.

A key maps to ``<base_url>/<key>`` (each segment percent-encoded). ``stat``
is one ``HEAD``; ``open_read`` is one ``GET``, with a ``Range`` header for
part of a file. Connections are kept alive in a small per-origin pool
(``_conn.Pool``). HTTP has no folders and no listing: the backend declares
READ, METADATA and SEEKABLE_READ only, and every writing primitive raises
``CapabilityNotSupported`` without touching the network. Errors come from the
tables in ``errors.py``; the backend never retries (the retry layer does,
honouring ``retry_after``). Uses the standard library only.
"""

from __future__ import annotations

import http.client
import io
import os
import weakref
from collections.abc import Iterator, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urljoin, urlsplit

from storeroom.backend import Backend, Entry, Source, unsupported
from storeroom.backends.http._conn import Origin, Pool, make_ssl_context
from storeroom.backends.http.config import HTTPOptions
from storeroom.backends.http.errors import BACKEND, map_exception, map_status
from storeroom.capabilities import Capability
from storeroom.errors import ConfigError, StoreroomError, UnexpectedError
from storeroom.models import FileInfo, WriteResult

__all__ = ["HTTPBackend"]

C = Capability
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Unread bytes up to this size are read and dropped to keep a connection alive.
_DRAIN_LIMIT = 64 * 1024
#: Forward seeks up to this many bytes read through the open response.
_SKIP_LIMIT = 256 * 1024
_CHUNK = 1024 * 1024
_DEFAULT_PORT = {"http": 80, "https": 443}
_NET_ERRORS = (OSError, http.client.HTTPException)

_LIVE: weakref.WeakSet[HTTPBackend] = weakref.WeakSet()


def _after_fork() -> None:
    # A child must not share the parent's sockets: start with empty pools.
    for backend in list(_LIVE):
        backend._pool.forget(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _origin(url: str) -> Origin:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, parts.hostname or "", parts.port or _DEFAULT_PORT.get(scheme, 80)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when is not None and when.tzinfo is not None else None


def _etag(value: str | None) -> str | None:
    """Strong ETags without their quotes; weak ones (``W/"..."``) as sent."""
    if not value:
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


class HTTPBackend(Backend):
    """Read-only files under ``base_url``, fetched with ``GET``/``HEAD`` over keep-alive.

    Capabilities: READ, METADATA, SEEKABLE_READ. A whole-file stream from
    ``open_read`` is seekable when the server sent a ``Content-Length``: a
    seek reopens the file with a ``Range`` request. Thread-safe.
    """

    type_name = "http"
    real_folders = False
    capabilities = frozenset({C.READ, C.METADATA, C.SEEKABLE_READ})

    options: HTTPOptions

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        retry: Mapping[str, Any] | None = None,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        max_redirects: int = 5,
        pool_size: int = 10,
    ) -> None:
        self.options = HTTPOptions.parse(
            {
                "base_url": base_url,
                "headers": dict(headers or {}),
                "timeout": timeout,
                "retry": retry,
                "verify_tls": verify_tls,
                "ca_bundle": ca_bundle,
                "max_redirects": max_redirects,
                "pool_size": pool_size,
            }
        )
        self._setup()

    @classmethod
    def from_options(cls, opts: HTTPOptions) -> HTTPBackend:
        """Build the backend from parsed options."""
        obj = cls.__new__(cls)
        obj.options = opts
        obj._setup()
        return obj

    def _setup(self) -> None:
        opts = self.options
        base = opts.base_url.rstrip("/")
        self._base = base
        self._origin = _origin(base)
        self._path = urlsplit(base).path.rstrip("/")
        # Sent only to the base URL's origin; values are revealed here and nowhere else.
        self._own = {name: value.reveal() for name, value in opts.headers.items()}
        # http.client itself sends Host and "Accept-Encoding: identity" (no compression,
        # so Content-Length is the file size); nothing else is needed.
        self._plain: dict[str, str] = {}
        self._pool = Pool(
            opts.timeout, opts.pool_size, verify=opts.verify_tls, ca_bundle=opts.ca_bundle
        )
        if self._origin[0] == "https" or opts.ca_bundle is not None:
            try:
                self._pool._ssl = make_ssl_context(opts.verify_tls, opts.ca_bundle)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                raise ConfigError(
                    "ca_bundle: cannot load the CA certificates from this file", key="ca_bundle"
                ) from exc
        _LIVE.add(self)

    # -- requests -------------------------------------------------------------------

    def _target(self, key: str) -> str:
        return f"{self._path}/{quote(key, safe='/')}"

    def _headers(self, origin: Origin, extra: Mapping[str, str] | None) -> dict[str, str]:
        headers = dict(self._plain)
        if origin == self._origin:
            headers.update(self._own)
        if extra:
            headers.update(extra)
        return headers

    def _release(
        self,
        origin: Origin,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
    ) -> None:
        """Give the connection back if its response is done (or nearly: drain it)."""
        try:
            if not resp.isclosed() and resp.length is not None and resp.length <= _DRAIN_LIMIT:
                resp.read()
        except _NET_ERRORS:
            conn.close()
            return
        if resp.isclosed() and not resp.will_close:
            self._pool.put(origin, conn)
        else:
            resp.close()
            conn.close()

    def _request(
        self,
        method: str,
        key: str,
        op: str,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[Origin, http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send ``method`` for ``key``, following redirects up to ``max_redirects``."""
        origin = self._origin
        url = f"{self._base}/{quote(key, safe='/')}"
        target = self._target(key)
        hops = self.options.max_redirects
        for hop in range(hops + 1):
            try:
                conn, resp = self._pool.send(origin, method, target, self._headers(origin, extra))
            except _NET_ERRORS as exc:
                raise map_exception(exc, key, operation=op) from exc
            location = resp.getheader("Location")
            if resp.status not in _REDIRECTS or not location:
                return origin, conn, resp
            self._release(origin, conn, resp)
            if hop == hops:
                raise StoreroomError(
                    f"more than {hops} redirects" if hops else "the server redirected the request",
                    path=key,
                    backend=BACKEND,
                    operation=op,
                    hint="raise max_redirects, or point base_url at the final location",
                )
            url = urljoin(url, location)
            new = urlsplit(url)
            if new.scheme not in ("http", "https") or not new.hostname:
                raise StoreroomError(
                    "the server redirected to an unsupported URL",
                    path=key,
                    backend=BACKEND,
                    operation=op,
                )
            if origin[0] == "https" and new.scheme == "http":
                raise StoreroomError(
                    "refused a redirect from https to plain http",
                    path=key,
                    backend=BACKEND,
                    operation=op,
                    hint="use an http:// base_url if the server really is plain http",
                )
            origin = _origin(url)
            target = (new.path or "/") + (f"?{new.query}" if new.query else "")
        raise AssertionError("unreachable")  # pragma: no cover

    def _fail(
        self,
        origin: Origin,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        key: str,
        op: str,
    ) -> StoreroomError:
        self._release(origin, conn, resp)
        return map_status(resp.status, key, operation=op, retry_after=resp.getheader("Retry-After"))

    # -- primitives -------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """One ``HEAD``: size, ``Last-Modified``, ``ETag`` and ``Content-Type`` of a file."""
        origin, conn, resp = self._request("HEAD", key, "stat")
        if resp.status // 100 != 2:
            raise self._fail(origin, conn, resp, key, "stat")
        length = resp.getheader("Content-Length")
        size = int(length) if length is not None and length.isdigit() else None
        info_headers = (resp.getheader("Last-Modified"), resp.getheader("ETag"))
        content_type = resp.getheader("Content-Type")
        self._release(origin, conn, resp)
        if size is None:
            size = self._probe_size(key)
        return FileInfo._fast(
            key,
            key.rpartition("/")[2],
            size,
            _http_date(info_headers[0]),
            _etag(info_headers[1]),
            content_type,
        )

    def _probe_size(self, key: str) -> int:
        """Size of a file whose ``HEAD`` gave no length: from a one-byte range's total."""
        origin, conn, resp = self._request("GET", key, "stat", {"Range": "bytes=0-0"})
        if resp.status == 416:
            self._release(origin, conn, resp)
            return 0
        if resp.status != 206:
            if resp.status // 100 != 2:
                raise self._fail(origin, conn, resp, key, "stat")
            resp.close()
            conn.close()
            raise UnexpectedError(
                "the server gives no size for this file", path=key, backend=BACKEND
            )
        total = (resp.getheader("Content-Range") or "").rpartition("/")[2]
        self._release(origin, conn, resp)
        if not total.isdigit():
            raise UnexpectedError(
                "the server gives no size for this file", path=key, backend=BACKEND
            )
        return int(total)

    def exists(self, key: str) -> bool:
        """One ``HEAD``: a file answers 2xx; 404/410 mean it does not exist."""
        if not key:
            return True
        origin, conn, resp = self._request("HEAD", key, "exists")
        status = resp.status
        if status // 100 == 2:
            self._release(origin, conn, resp)
            return True
        if status in (404, 410):
            self._release(origin, conn, resp)
            return False
        raise self._fail(origin, conn, resp, key, "exists")

    def is_folder(self, key: str) -> bool:
        """HTTP has no folders: only the root is one."""
        return not key

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A stream over ``[start, end)`` of ``key``: one ``GET``, ranged when needed."""
        begin = start or 0
        if end is not None and end <= begin:
            self._check_file(key)
            return io.BytesIO(b"")
        opened = self._open(key, begin, end, "open_read")
        return _Body(self, key, opened, begin, end)  # type: ignore[return-value]

    def _open(self, key: str, start: int, end: int | None, op: str) -> _Opened:
        """``GET`` bytes ``[start, end)``; returns the response positioned at ``start``.

        ``None`` for the response means the range lies past the end (416).
        A server that ignores ``Range`` (200) is read through up to ``start``.
        """
        extra = None
        if start or end is not None:
            last = "" if end is None else str(end - 1)
            extra = {"Range": f"bytes={start}-{last}"}
        origin, conn, resp = self._request("GET", key, op, extra)
        status = resp.status
        if status == 416:
            self._release(origin, conn, resp)
            return _Opened(origin, conn, None, 0, None)
        if status == 206 and extra is not None:
            first = (resp.getheader("Content-Range") or "").removeprefix("bytes ")
            if first.partition("-")[0].strip() != str(start):
                resp.close()
                conn.close()
                raise UnexpectedError(
                    "the server answered a different byte range than asked",
                    path=key,
                    backend=BACKEND,
                    operation=op,
                )
            total = first.rpartition("/")[2]
            size = int(total) if total.isdigit() else None
            return _Opened(origin, conn, resp, 0, size)
        if status // 100 != 2:
            raise self._fail(origin, conn, resp, key, op)
        # 200: the whole file, even if a range was asked for.
        size = resp.length
        return _Opened(origin, conn, resp, start, size)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        raise unsupported(C.WRITE, BACKEND, "write")

    def delete(self, key: str) -> None:
        raise unsupported(C.DELETE, BACKEND, "delete")

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        raise unsupported(C.LIST, BACKEND, "list")

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        raise unsupported(C.COPY, BACKEND, "copy")

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        raise unsupported(C.MOVE, BACKEND, "move")

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        raise unsupported(C.DELETE, BACKEND, "remove_folder")

    def ping(self) -> None:
        """One ``HEAD`` of the base URL: any answer but 401/403, 429 and 5xx is fine."""
        origin, conn, resp = self._request("HEAD", "", "ping")
        if resp.status in (401, 403, 429) or resp.status >= 500:
            raise self._fail(origin, conn, resp, "", "ping")
        self._release(origin, conn, resp)

    def native_path(self, key: str) -> str:
        """The URL of ``key``."""
        return f"{self._base}/{quote(key, safe='/')}"

    def describe(self) -> Mapping[str, object]:
        return {"base_url": self._base}

    def close(self) -> None:
        """Close idle connections; the backend reconnects when used again."""
        self._pool.close()


class _Opened:
    """A ``GET`` in flight: connection, response (``None``: empty), bytes to skip, file size."""

    __slots__ = ("conn", "origin", "resp", "size", "skip")

    def __init__(
        self,
        origin: Origin,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse | None,
        skip: int,
        size: int | None,
    ) -> None:
        self.origin = origin
        self.conn = conn
        self.resp = resp
        self.skip = skip
        self.size = size


class _Body(io.RawIOBase):
    """Response body of ``open_read``; storeroom errors only; returns its connection when done.

    A whole-file stream with a known size is seekable: a seek forward by a
    little reads through, any other seek reopens at the new offset with a
    ``Range`` request. A ranged stream is forward-only.
    """

    def __init__(
        self, backend: HTTPBackend, key: str, opened: _Opened, start: int, end: int | None
    ) -> None:
        super().__init__()
        self._backend = backend
        self._key = key
        self._cur: _Opened | None = opened
        self._end = end
        self._seekable = start == 0 and end is None and opened.size is not None
        self._size = opened.size if self._seekable else None
        self._pos = start  # logical position
        self._at = start  # position of the open response
        self._left = self._limit(opened, start)
        if opened.skip:
            self._discard(opened.skip)

    def _limit(self, opened: _Opened, start: int) -> int | None:
        """Bytes to deliver from this response (``None``: until it ends)."""
        if opened.resp is None:
            return 0
        have = opened.resp.length
        if have is not None:
            have -= opened.skip
        if self._end is None:
            return have
        want = self._end - start
        return want if have is None else min(want, have)

    def _error(self, exc: BaseException) -> StoreroomError:
        return map_exception(exc, self._key, operation="read")

    def _discard(self, count: int) -> None:
        resp = self._cur.resp if self._cur is not None else None
        while count > 0 and resp is not None:
            try:
                chunk = resp.read(min(count, _CHUNK))
            except _NET_ERRORS as exc:
                self._drop()
                raise self._error(exc) from exc
            if not chunk:
                break
            count -= len(chunk)

    def _done(self) -> None:
        """Release the response: back to the pool if it was read to its end."""
        cur = self._cur
        self._cur = None
        if cur is None or cur.resp is None:
            return
        self._backend._release(cur.origin, cur.conn, cur.resp)

    def _drop(self) -> None:
        """Abandon the response and its connection (bytes were left unread)."""
        cur = self._cur
        self._cur = None
        if cur is not None and cur.resp is not None:
            cur.resp.close()
            cur.conn.close()

    def _reopen(self) -> None:
        opened = self._backend._open(self._key, self._pos, self._end, "read")
        self._cur = opened
        self._at = self._pos
        self._left = self._limit(opened, self._pos)
        if opened.skip:
            self._discard(opened.skip)

    def _ready(self) -> http.client.HTTPResponse | None:
        """The response to read from at the logical position (reopening if needed)."""
        if self._seekable and self._at != self._pos:
            gap = self._pos - self._at
            if self._cur is not None and 0 < gap <= _SKIP_LIMIT and (self._left or 0) > gap:
                self._discard(gap)
                self._at = self._pos
                if self._left is not None:
                    self._left -= gap
            else:
                self._drop()
                assert self._size is not None
                if self._pos >= self._size:
                    return None
                self._reopen()
        if self._cur is None:
            return None
        return self._cur.resp

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if not self._seekable:
            raise io.UnsupportedOperation("this stream is not seekable")
        assert self._size is not None
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise ValueError(f"invalid whence {whence!r}")
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def _advance(self, n: int, want: int) -> None:
        self._pos += n
        self._at += n
        if self._left is not None:
            self._left -= n
            if n == 0 and want > 0 and self._left > 0:
                self._drop()
                raise self._error(http.client.IncompleteRead(b"", self._left))
            if self._left <= 0:
                self._done()
        elif n == 0:
            self._done()

    def readinto(self, buffer: Any) -> int:
        resp = self._ready()
        if resp is None:
            return 0
        view = memoryview(buffer).cast("B")
        if self._left is not None and len(view) > self._left:
            view = view[: self._left]
        if not view:
            self._done()
            return 0
        try:
            n = resp.readinto(view)
        except _NET_ERRORS as exc:
            self._drop()
            raise self._error(exc) from exc
        self._advance(n, len(view))
        return n

    def readall(self) -> bytes:
        resp = self._ready()
        if resp is None:
            return b""
        left = self._left
        try:
            if left is not None and left == resp.length:
                data = resp.read()  # whole rest in one call; raises IncompleteRead
            elif left is not None:
                data = resp.read(left)
            else:
                data = resp.read()
        except _NET_ERRORS as exc:
            self._drop()
            raise self._error(exc) from exc
        if left is not None and len(data) < left:
            self._drop()
            raise self._error(http.client.IncompleteRead(data, left - len(data)))
        self._advance(len(data), 0)
        if self._cur is not None:
            self._done()
        return data

    def close(self) -> None:
        if not self.closed:
            cur = self._cur
            if cur is not None and cur.resp is not None:
                length = cur.resp.length
                if length is not None and length <= _DRAIN_LIMIT:
                    try:
                        self._done()  # drains the small rest, keeps the connection
                    except StoreroomError:
                        self._drop()
                else:
                    self._drop()
            self._cur = None
        super().close()
