"""A recording HTTP relay in front of the moto server: which credentials signed each request.

moto accepts any access key in its default mode, so tests of refreshing
credentials cannot rely on the server refusing expired ones. The relay
forwards every request unchanged to moto and records, at the moment it
arrives, the access key id from the SigV4 ``Authorization`` header and the
``X-Amz-Security-Token`` header: the server-side view of what was used.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_CRED = re.compile(r"Credential=([^/]+)/")
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "host"}


@dataclass(frozen=True)
class Seen:
    """One request as it reached the relay."""

    at: float  # time.time()
    method: str
    path: str
    access_key_id: str | None
    token: str | None


class Relay:
    """``with Relay(upstream) as relay:`` → ``relay.url`` to use as ``endpoint_url``."""

    def __init__(self, upstream: str) -> None:
        self.seen: list[Seen] = []
        up = urlsplit(upstream)
        host, port = up.hostname or "127.0.0.1", up.port or 80
        relay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _relay(self) -> None:
                auth = self.headers.get("Authorization") or ""
                m = _CRED.search(auth)
                relay.seen.append(
                    Seen(
                        time.time(),
                        self.command,
                        self.path,
                        m.group(1) if m else None,
                        self.headers.get("X-Amz-Security-Token"),
                    )
                )
                if "chunked" in (self.headers.get("Transfer-Encoding") or ""):
                    raise AssertionError("the relay takes Content-Length bodies only")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                headers["Host"] = f"{host}:{port}"
                conn = http.client.HTTPConnection(host, port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in _HOP and k.lower() != "content-length":
                            self.send_header(k, v)
                    length = resp.getheader("Content-Length")
                    if self.command == "HEAD" and length is not None:
                        self.send_header("Content-Length", length)
                    else:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
