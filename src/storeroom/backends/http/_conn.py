"""Keep-alive connections of the ``http`` backend: a small thread-safe pool per origin.

``Pool.get`` hands out an idle ``http.client`` connection to an origin
(scheme, host, port) or a new one; ``Pool.put`` takes it back once its
response has been read to the end. An idle connection the server has
closed meanwhile is noticed before reuse (its socket reads as ready) and
dropped. ``send`` makes one request on a pooled connection; a request that
fails on a *reused* connection because the server dropped it (the classic
keep-alive race) is sent once more on a fresh connection. That is
connection management, not a retry policy: nothing else is ever repeated.
"""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from collections.abc import Mapping

__all__ = ["Origin", "Pool", "make_ssl_context"]

#: (scheme, host, port) of a server.
Origin = tuple[str, str, int]

#: Failures that mean "the server closed this kept-alive connection".
_STALE = (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine)


def make_ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext:
    """The TLS context: system trust store (or ``ca_bundle``), host names checked."""
    ctx = ssl.create_default_context(cafile=ca_bundle)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _dead(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection's socket is closed or has unexpected data."""
    sock = conn.sock
    if sock is None:
        return False  # not connected yet (or closed cleanly): reconnects on use
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


class Pool:
    """Idle keep-alive connections, at most ``size`` per origin; thread-safe."""

    def __init__(
        self, timeout: float, size: int, *, verify: bool = True, ca_bundle: str | None = None
    ) -> None:
        self.timeout = timeout
        self.size = size
        self.verify = verify
        self.ca_bundle = ca_bundle
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _new(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self.ssl_context()
            )
        return http.client.HTTPConnection(host, port, timeout=self.timeout)

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context, built on first use (loading the trust store takes a while)."""
        ctx = self._ssl
        if ctx is None:
            ctx = self._ssl = make_ssl_context(self.verify, self.ca_bundle)
        return ctx

    def get(self, origin: Origin) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to ``origin`` and whether it was reused from the pool."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._new(origin), False
            if not _dead(conn):
                return conn, True
            conn.close()

    def put(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        """Give back a connection whose last response was read completely."""
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.size:
                idle.append(conn)
                return
        conn.close()

    def send(
        self,
        origin: Origin,
        method: str,
        target: str,
        headers: Mapping[str, str],  # not changed by http.client
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request; the caller owns the connection until it ``put``s or closes it."""
        conn, reused = self.get(origin)
        try:
            conn.request(method, target, headers=headers)
            return conn, conn.getresponse()
        except _STALE:
            conn.close()
            if not reused:
                raise
        except BaseException:
            conn.close()
            raise
        conn = self._new(origin)
        try:
            conn.request(method, target, headers=headers)
            return conn, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close every idle connection; the pool stays usable."""
        self.forget()

    def forget(self, *, close: bool = True) -> None:
        """Drop idle connections; in a forked child, without closing the parent's sockets."""
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        if close:
            for conn in conns:
                conn.close()
