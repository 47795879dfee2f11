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

from storeroom._mask import has_credentials
from storeroom.backend import Backend, Entry, Source, unsupported
from storeroom.backends.http._body import DRAIN_LIMIT, NET_ERRORS, Body, Opened
from storeroom.backends.http._conn import Origin, Pool, make_ssl_context
from storeroom.backends.http.config import HTTPOptions
from storeroom.backends.http.errors import BACKEND, TABLE, HTTPStatusError
from storeroom.capabilities import Capability
from storeroom.errors import ConfigError, StoreroomError, UnexpectedError
from storeroom.models import FileInfo, WriteResult

__all__ = ["HTTPBackend"]

C = Capability
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORT = {"http": 80, "https": 443}

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

    def __init__(self, base_url: str, **options: Any) -> None:
        if options.get("headers") is None:
            options.pop("headers", None)
        self._setup(HTTPOptions.parse({"base_url": base_url, **options}))

    def _setup(self, opts: HTTPOptions) -> None:
        #: The options as given; pickling rebuilds the backend from them.
        self.options = opts
        base = opts.base_url.rstrip("/")
        self._base = base
        self._origin = _origin(base)
        self._path = urlsplit(base).path.rstrip("/")
        # http.client itself sends Host and "Accept-Encoding: identity" (no compression,
        # so Content-Length is the file size); nothing else is needed.
        self._plain: dict[str, str] = {}
        # Sent only to the base URL's origin; values are revealed here and nowhere else.
        self._own = {name: value.reveal() for name, value in opts.headers.items()}
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
        # The plain URL is a "signed" GET URL only when it needs no credential (SIGN-070).
        self._public = not self._own and not has_credentials(base)
        if self._public:
            self.capabilities = type(self).capabilities | {C.SIGNED_URL}

    # -- requests -------------------------------------------------------------------

    def _target(self, key: str) -> str:
        return f"{self._path}/{quote(key, safe='/')}"

    def _headers(self, origin: Origin, extra: Mapping[str, str] | None) -> Mapping[str, str]:
        if extra is None and origin == self._origin:
            return self._own
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
            if not resp.isclosed() and resp.length is not None and resp.length <= DRAIN_LIMIT:
                resp.read()
        except NET_ERRORS:
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
        target = self._target(key)
        url = ""  # built only when a redirect needs it
        hops = self.options.max_redirects
        for hop in range(hops + 1):
            try:
                conn, resp = self._pool.send(origin, method, target, self._headers(origin, extra))
            except NET_ERRORS as exc:
                raise TABLE.map(exc, key, operation=op) from exc
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
            url = urljoin(url or self.native_path(key), location)
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
        answer = HTTPStatusError(resp.status, resp.getheader("Retry-After"))
        return TABLE.map(answer, key, operation=op)

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
        return Body(self, key, opened, begin, end)  # type: ignore[return-value]

    def _open(self, key: str, start: int, end: int | None, op: str) -> Opened:
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
            return Opened(origin, conn, None, 0, None)
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
            return Opened(origin, conn, resp, 0, size)
        if status // 100 != 2:
            raise self._fail(origin, conn, resp, key, op)
        # 200: the whole file, even if a range was asked for.
        size = resp.length
        return Opened(origin, conn, resp, start, size)

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

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """The plain URL of ``key`` for GET; it never expires (HTTP has nothing to sign with)."""
        if method != "GET":
            raise unsupported(C.WRITE, BACKEND, "signed_url").with_context(path=key)
        if not self._public:
            return super().signed_url(key, expires, method)
        return self.native_path(key)

    def describe(self) -> Mapping[str, object]:
        return {"base_url": self._base}

    def close(self) -> None:
        """Close idle connections; the backend reconnects when used again."""
        self._pool.close()
