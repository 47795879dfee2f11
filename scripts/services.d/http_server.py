#!/usr/bin/env python3
# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH110, PTH112, PTH113, PTH118, PTH120
# A standalone test-server script: plain os.path calls keep it short.
"""Test-only static file server for storeroom's ``http`` backend (standard library only).

Serves the files below ``--root`` over HTTP/1.1 with keep-alive, on 127.0.0.1:

  /files/<key>     GET/HEAD with single Range (a-b, a-, -n), 416, ETag,
                   If-None-Match/304, If-Range, Last-Modified, Content-Type
  /norange/<key>   the same files, but Range is ignored (always 200, full body)
  /chunked/<key>   the same files without Content-Length (chunked GET, HEAD with no length)
  /auth/<key>      the same files, 401 unless "Authorization: Bearer <--token>"

Test hooks (outside every store's namespace):

  /_test/status/<code>[/<retry-after>]    answers <code> (with that Retry-After)
  /_test/redirect/<n>/<path>              a chain of n 302s ending at /<path>
  /_test/goto/<scheme>/<host>/<port>/<path>  one 302 to <scheme>://<host>:<port>/<path>
  /_test/slow/<seconds>/...               waits, then answers 200 "slow"
  /_test/flaky/<n>/<code>/<retry-after>/<path>  the first n requests for this URL
                                          answer <code> with that Retry-After,
                                          later ones serve files/<path>
  PUT    /_seed/<key>                    writes a file (the seeding side door)
  DELETE /_seed/<key>                    deletes a file or a whole folder

Directories are 404: HTTP has no folders. Run with ``--tls-cert``/``--tls-key``
for HTTPS. Never expose this server: the seeding door has no authentication.
"""

from __future__ import annotations

import argparse
import email.utils
import mimetypes
import os
import shutil
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = "."
TOKEN = "storeroom-test-token"
CHUNK = 1024 * 1024
VIEWS = ("files", "norange", "chunked", "auth")
# Requests seen per URL by the /_test/flaky hook.
_FLAKY: dict[str, int] = {}
_FLAKY_LOCK = threading.Lock()


def _etag(st: os.stat_result) -> str:
    return f'"{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}"'


def _safe_path(key: str) -> str | None:
    """Filesystem path of a URL key below ROOT, or None if it would leave ROOT."""
    parts = [p for p in key.split("/") if p]
    if any(p in (".", "..") or "\x00" in p for p in parts):
        return None
    return os.path.join(ROOT, *parts) if parts else ROOT


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) of a single byte range; None to ignore it; "416" if unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None  # other units and multiple ranges: serve the whole file
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:  # suffix: the last N bytes
            n = int(last)
            if n <= 0:
                return "416"
            return max(0, size - n), size - 1
        a = int(first)
        b = int(last) if last else size - 1
    except ValueError:
        return None
    if a > b and last:
        return None
    if a >= size:
        return "416"
    return a, min(b, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "storeroom-test-http/1"
    timeout = 60

    def setup(self) -> None:
        super().setup()
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        if os.environ.get("STOREROOM_HTTP_SERVER_LOG"):
            super().log_message(format, *args)

    # -- small answers ------------------------------------------------------------

    def _answer(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    # -- routing ------------------------------------------------------------------

    def _route(self) -> tuple[str, str, dict[str, list[str]]]:
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        view, _, rest = path.lstrip("/").partition("/")
        return view, rest, urllib.parse.parse_qs(url.query)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        view, rest, query = self._route()
        if view == "_test":
            self._hook(rest, query)
        elif view in VIEWS:
            self._serve(view, rest)
        else:
            self._answer(404, b"not found\n")

    def do_PUT(self) -> None:
        view, rest, _ = self._route()
        left = int(self.headers.get("Content-Length") or 0)
        path = _safe_path(rest) if view == "_seed" else None
        if path is None or path == ROOT:
            self.rfile.read(left)
            self._answer(400, b"bad seed path\n")
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".seed-")
        with os.fdopen(fd, "wb") as fh:
            while left > 0:
                block = self.rfile.read(min(CHUNK, left))
                if not block:
                    break
                fh.write(block)
                left -= len(block)
        os.replace(tmp, path)
        self._answer(201)

    def do_DELETE(self) -> None:
        view, rest, _ = self._route()
        path = _safe_path(rest) if view == "_seed" else None
        if path is None or path == ROOT:
            self._answer(400, b"bad seed path\n")
        elif os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            self._answer(204)
        elif os.path.exists(path):
            os.unlink(path)
            self._answer(204)
        else:
            self._answer(404)

    # -- test hooks -----------------------------------------------------------------

    def _hook(self, rest: str, query: dict[str, list[str]]) -> None:
        name, _, arg = rest.partition("/")
        if name == "status":
            code, _, retry_after = arg.partition("/")
            headers = {"Retry-After": retry_after} if retry_after else {}
            self._answer(int(code), f"status {code}\n".encode(), headers)
        elif name == "redirect":
            n, _, path = arg.partition("/")
            left = int(n or 0)
            nxt = f"/{path}" if left <= 0 else f"/_test/redirect/{left - 1}/{path}"
            self._answer(302, b"", {"Location": urllib.parse.quote(nxt)})
        elif name == "goto":
            scheme, host, port, path = (arg.split("/", 3) + ["", "", "", ""])[:4]
            url = f"{scheme}://{host}:{port}/{urllib.parse.quote(path)}"
            self._answer(302, b"", {"Location": url})
        elif name == "flaky":
            n, code, retry_after, path = (arg.split("/", 3) + ["", "", "", ""])[:4]
            with _FLAKY_LOCK:
                seen = _FLAKY.get(self.path, 0)
                _FLAKY[self.path] = seen + 1
            if seen < int(n or 0):
                headers = {"Retry-After": retry_after} if retry_after else {}
                self._answer(int(code), f"status {code}\n".encode(), headers)
            else:
                self._serve("files", path)
        elif name == "slow":
            time.sleep(float(arg.partition("/")[0] or 1))
            self._answer(200, b"slow\n")
        else:
            self._answer(404, b"no such hook\n")

    # -- files ------------------------------------------------------------------------

    def _serve(self, view: str, key: str) -> None:
        if view == "auth" and self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._answer(401, b"unauthorized\n", {"WWW-Authenticate": 'Bearer realm="test"'})
            return
        path = _safe_path(key)
        if path is None:
            self._answer(400, b"bad path\n")
            return
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._answer(404, b"not found\n")
            return
        with fh:
            st = os.fstat(fh.fileno())
            if not os.path.isfile(path):
                self._answer(404, b"not found\n")
                return
            self._send_file(view, path, fh, st)

    def _send_file(self, view: str, path: str, fh: object, st: os.stat_result) -> None:
        size = st.st_size
        etag = _etag(st)
        common = {
            "ETag": etag,
            "Last-Modified": email.utils.formatdate(st.st_mtime, usegmt=True),
            "Content-Type": mimetypes.guess_type(path)[0] or "application/octet-stream",
        }
        if view != "norange":
            common["Accept-Ranges"] = "bytes"
        inm = self.headers.get("If-None-Match")
        if inm and (inm.strip() == "*" or etag in [t.strip() for t in inm.split(",")]):
            self.send_response(304)
            for name, value in common.items():
                self.send_header(name, value)
            self.end_headers()
            return
        first, last, code = 0, size - 1, 200
        header = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if header and view != "norange" and (not if_range or if_range == etag):
            parsed = _parse_range(header, size)
            if parsed == "416":
                self._answer(416, b"", {**common, "Content-Range": f"bytes */{size}"})
                return
            if isinstance(parsed, tuple):
                first, last = parsed
                code = 206
                common["Content-Range"] = f"bytes {first}-{last}/{size}"
        count = max(0, last - first + 1)
        self.send_response(code)
        for name, value in common.items():
            self.send_header(name, value)
        if view == "chunked":
            if self.command != "HEAD":
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command != "HEAD":
                self._send_chunked(fh, first, count)
            return
        self.send_header("Content-Length", str(count))
        self.end_headers()
        if self.command == "HEAD" or count == 0:
            return
        self.wfile.flush()
        if isinstance(self.connection, ssl.SSLSocket):
            fh.seek(first)  # type: ignore[attr-defined]
            left = count
            while left > 0:
                block = fh.read(min(CHUNK, left))  # type: ignore[attr-defined]
                if not block:
                    break
                self.wfile.write(block)
                left -= len(block)
        else:
            self.connection.sendfile(fh, first, count)  # type: ignore[arg-type]

    def _send_chunked(self, fh: object, first: int, count: int) -> None:
        fh.seek(first)  # type: ignore[attr-defined]
        while count > 0:
            block = fh.read(min(64 * 1024, count))  # type: ignore[attr-defined]
            if not block:
                break
            count -= len(block)
            self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main(argv: list[str] | None = None) -> None:
    global ROOT, TOKEN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=TOKEN)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--pid-file")
    args = parser.parse_args(argv)
    ROOT = os.path.abspath(args.root)
    TOKEN = args.token
    os.makedirs(ROOT, exist_ok=True)
    server = Server((args.host, args.port), Handler)
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    if args.pid_file:
        with open(args.pid_file, "w") as fh:
            fh.write(str(os.getpid()))
    print(f"serving {ROOT} on {args.host}:{args.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
