"""Tests specific to the ``http`` backend (spec 46-backend-http.md), against the test server.

The server is ``scripts/services.d/http_server.py`` started by
``scripts/services up http``; a few tests start their own HTTPS instance of
it with a certificate made at test time.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from server_support import free_port, self_signed_cert, wait_for_port
from services_support import service_env
from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.http import HTTPBackend, HTTPOptions
from storeroom.backends.http.errors import TABLE, HTTPStatusError, parse_retry_after
from storeroom.config.secret import Secret
from storeroom.errors import (
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / "scripts" / "services.d" / "http_server.py"
TOKEN = "storeroom-test-token"

_env = service_env("http", "STOREROOM_TEST_HTTP_URL")
needs_server = pytest.mark.skipif(_env is None, reason="STOREROOM_TEST_HTTP_URL is not set")
URL = (_env or {}).get("STOREROOM_TEST_HTTP_URL", "http://127.0.0.1:9").rstrip("/")


def _seed(key: str, data: bytes) -> None:
    import http.client
    from urllib.parse import quote, urlsplit

    parts = urlsplit(URL)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("PUT", "/_seed/" + quote(key), body=data)
        assert conn.getresponse().status == 201
    finally:
        conn.close()


def _store(base_url: str, root: str = "", **options: Any) -> Store:
    config = RegistryConfig.from_dict(
        {
            "backends": {"web": {"type": "http", "options": {"base_url": base_url, **options}}},
            "stores": {"site": {"backend": "web", "root_path": root}},
        }
    )
    return Registry(config).get_store("site")


@pytest.fixture
def root() -> str:
    """A fresh folder name on the test server."""
    return f"t-{uuid.uuid4().hex}"


# -- options (no server) -------------------------------------------------------------


# spec: HTTP-001
def test_options_defaults_and_unknown_key() -> None:
    opts = HTTPOptions.parse({"base_url": "https://example.org/data"})
    assert opts.verify_tls is True and opts.max_redirects == 5 and opts.timeout == 30.0
    with pytest.raises(ConfigError, match="unknown option"):
        HTTPOptions.parse({"base_url": "https://example.org", "verify": False})
    with pytest.raises(ConfigError, match="missing required"):
        HTTPOptions.parse({})


# spec: HTTP-001
@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org",
        "example.org/x",
        "https://",
        "http://h/x?q=1",
        "http://h/#f",
        "http://h:x",
    ],
)
def test_bad_base_url_is_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        HTTPOptions.parse({"base_url": url})
    assert info.value.key == "base_url"


# spec: HTTP-001, HTTP-030
def test_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as info:
        HTTPOptions.parse({"base_url": "https://alice:hunter2secret@example.org/"})
    assert "hunter2secret" not in str(info.value) and "alice" not in str(info.value)


# spec: HTTP-001
@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"timeout": 0}, "timeout"),
        ({"max_redirects": -1}, "max_redirects"),
        ({"max_redirects": 99}, "max_redirects"),
        ({"pool_size": 0}, "pool_size"),
        ({"headers": {"Range": "bytes=0-1"}}, "headers.Range"),
        ({"headers": {"X-A": "a\r\nb"}}, "headers.X-A"),
        ({"retry": {"max_attempts": 0}}, "retry.attempts"),
        ({"retry": {"bogus": 1}}, "retry.bogus"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        HTTPOptions.parse({"base_url": "http://example.org", **options})
    assert info.value.key == key


# spec: HTTP-002
def test_retry_is_validated_and_exposed_for_the_retry_layer() -> None:
    opts = HTTPOptions.parse({"base_url": "http://h", "retry": {"max_attempts": 4}})
    assert opts.retry_policy is not None and opts.retry_policy.max_attempts == 4
    assert HTTPOptions.parse({"base_url": "http://h"}).retry_policy is None


# spec: HTTP-030
def test_header_values_are_masked_everywhere() -> None:
    secret = "Bearer sk-live-0123456789abcdef"
    backend = HTTPBackend(
        "http://127.0.0.1:9/x", headers={"Authorization": secret, "X-Key": "k3y-"}
    )
    assert all(isinstance(v, Secret) for v in backend.options.headers.values())
    store = Store(backend, "r")
    texts = [
        repr(backend),
        repr(backend.options),
        repr(store),
        repr(store.resolve("a.txt")),
        repr(backend.options.to_dict()),
        str(backend.describe()),
    ]
    for text in texts:
        assert "sk-live" not in text and "k3y-" not in text
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.options == backend.options


# spec: HTTP-020
def test_ca_bundle_that_cannot_load_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        HTTPBackend("https://127.0.0.1:9", ca_bundle=str(tmp_path / "missing.pem"))
    assert info.value.key == "ca_bundle"


# -- error table (no server) ----------------------------------------------------------


# spec: HTTP-010
@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, StoreroomError, False),
        (401, PermissionDenied, False),
        (403, PermissionDenied, False),
        (404, NotFound, False),
        (410, NotFound, False),
        (408, BackendUnavailable, True),
        (418, UnexpectedError, False),
        (429, BackendUnavailable, True),
        (500, BackendUnavailable, True),
        (501, UnexpectedError, False),
        (502, BackendUnavailable, True),
        (503, BackendUnavailable, True),
        (504, BackendUnavailable, True),
        (599, BackendUnavailable, True),
    ],
)
def test_status_table(status: int, cls: type[StoreroomError], retryable: bool) -> None:
    err = TABLE.map(HTTPStatusError(status, "12"), "a/b.txt", operation="stat")
    assert isinstance(err, cls)
    assert err.retryable is retryable
    assert err.path == "a/b.txt" and err.backend == "http"
    assert err.retry_after == (12.0 if retryable else None)


# spec: HTTP-011
def test_retry_after_parsing() -> None:
    now = time.time()
    later = dt.datetime.fromtimestamp(now + 90, dt.UTC)
    earlier = dt.datetime.fromtimestamp(now - 90, dt.UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 0 ") == 0.0
    got = parse_retry_after(format_datetime(later, usegmt=True), now=now)
    assert got is not None and 88 <= got <= 90
    assert parse_retry_after(format_datetime(earlier, usegmt=True), now=now) == 0.0
    for bad in (None, "", "-5", "1.5", "soon", "Mon, 99 Foo 2020"):
        assert parse_retry_after(bad) is None


# spec: HTTP-012
@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (ConnectionResetError(104, "reset"), True),
        (TimeoutError("timed out"), True),
        (socket.gaierror(-2, "Name or service not known"), True),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), False),
        (ssl.SSLEOFError(8, "EOF"), True),
        (OSError(113, "No route to host"), True),
    ],
)
def test_exception_table(exc: BaseException, retryable: bool) -> None:
    err = TABLE.map(exc, "k", operation="open_read")
    assert isinstance(err, BackendUnavailable)
    assert err.retryable is retryable


def test_unknown_exception_is_unexpected() -> None:
    assert isinstance(TABLE.map(RuntimeError("x"), "k"), UnexpectedError)


# -- against the test server ------------------------------------------------------------


# spec: HTTP-003
@needs_server
def test_writes_are_refused_before_any_request() -> None:
    store = _store("http://127.0.0.1:9")  # nothing listens there: any request would fail
    for call in (
        lambda: store.write("a", b"x"),
        lambda: store.delete("a"),
        lambda: store.move("a", "b"),
        lambda: store.copy("a", "b"),
        lambda: list(store.list_files()),
    ):
        with pytest.raises(CapabilityNotSupported):
            call()
    backend = store.backend
    for primitive in (
        lambda: backend.write("a", b"x"),
        lambda: backend.delete("a"),
        lambda: backend.list(""),
        lambda: backend.copy("a", "b"),
        lambda: backend.move("a", "b"),
        lambda: backend.remove_folder("a"),
    ):
        with pytest.raises(CapabilityNotSupported):
            primitive()


# spec: HTTP-004
@needs_server
def test_metadata_from_head(root: str) -> None:
    _seed(f"{root}/page.html", b"<p>hi</p>")
    store = _store(f"{URL}/files", root)
    info = store.get_file_info("page.html")
    assert info.size == 9
    assert info.content_type == "text/html"
    assert info.etag and '"' not in info.etag
    assert info.modified_at is not None and info.modified_at.tzinfo is not None


# spec: HTTP-005
@needs_server
@pytest.mark.parametrize("view", ["norange", "chunked"])
def test_servers_without_range_or_length(view: str, root: str) -> None:
    data = bytes(range(256)) * 1000
    _seed(f"{root}/d.bin", data)
    store = _store(f"{URL}/{view}", root)
    assert store.read_bytes("d.bin") == data
    assert store.read_range("d.bin", 1000, 1010) == data[1000:1010]
    assert store.read_range("d.bin", 255_990) == data[255_990:]
    assert store.read_range("d.bin", 300_000, 300_010) == b""
    assert store.get_file_info("d.bin").size == len(data)
    with store.read_seekable("d.bin") as fh:
        fh.seek(200_000)
        assert fh.read(5) == data[200_000:200_005]
        fh.seek(3)
        assert fh.read(5) == data[3:8]


# spec: HTTP-010, HTTP-011
@needs_server
def test_429_and_503_carry_retry_after() -> None:
    store = _store(f"{URL}/_test/status")
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("429/7")
    assert info.value.retryable and info.value.retry_after == 7.0
    assert info.value.path == "429/7" and info.value.backend == "http"
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    with pytest.raises(BackendUnavailable) as info:
        store.get_file_info("503/" + format_datetime(when, usegmt=True))
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31
    with pytest.raises(BackendUnavailable) as info:
        store.exists("500")
    assert info.value.retryable and info.value.retry_after is None
    with pytest.raises(NotFound):
        store.read_bytes("410")


# spec: HTTP-010, HTTP-030
@needs_server
def test_wrong_credentials_are_permission_denied_without_the_secret(root: str) -> None:
    _seed(f"{root}/f.txt", b"secret data")
    wrong = "Bearer wrong-token-42x"
    store = _store(f"{URL}/auth", root, headers={"Authorization": wrong})
    with pytest.raises(PermissionDenied) as info:
        store.read_bytes("f.txt")
    text = str(info.value) + repr(info.value)
    assert "wrong-token-42x" not in text
    assert "backend='http'" in text and "store='site'" in text
    good = _store(f"{URL}/auth", root, headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.read_bytes("f.txt") == b"secret data"


# spec: HTTP-013
@needs_server
def test_redirects_are_followed_up_to_the_bound(root: str) -> None:
    _seed(f"{root}/r.txt", b"moved")
    assert _store(f"{URL}/_test/redirect/3/files", root).read_bytes("r.txt") == b"moved"
    info = _store(f"{URL}/_test/redirect/3/files", root).get_file_info("r.txt")
    assert info.size == 5
    with pytest.raises(StoreroomError, match="more than 2 redirects") as err:
        _store(f"{URL}/_test/redirect/3/files", root, max_redirects=2).read_bytes("r.txt")
    assert not err.value.retryable
    with pytest.raises(StoreroomError, match="redirected"):
        _store(f"{URL}/_test/redirect/1/files", root, max_redirects=0).read_bytes("r.txt")


# spec: HTTP-014
@needs_server
def test_headers_go_only_to_the_base_origin(root: str) -> None:
    _seed(f"{root}/f.txt", b"auth")
    port = URL.rsplit(":", 1)[1]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    same = _store(f"{URL}/_test/goto/http/127.0.0.1/{port}/auth", root, headers=headers)
    assert same.read_bytes("f.txt") == b"auth"
    other = _store(f"{URL}/_test/goto/http/localhost/{port}/auth", root, headers=headers)
    with pytest.raises(PermissionDenied):
        other.read_bytes("f.txt")


# spec: HTTP-021
@needs_server
def test_timeout_is_backend_unavailable_in_time() -> None:
    store = _store(f"{URL}/_test/slow/3", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("x")
    assert time.monotonic() - started < 2.5
    assert info.value.retryable
    assert isinstance(info.value.__cause__, TimeoutError)


# spec: HTTP-021
def test_unreachable_host_is_backend_unavailable_within_the_timeout() -> None:
    refused = _store(f"http://127.0.0.1:{free_port()}/x", timeout=2)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        refused.read_bytes("a.txt")
    assert info.value.retryable and time.monotonic() - started < 2
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    # A host that accepts the connection but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        mute = _store(f"http://127.0.0.1:{silent.getsockname()[1]}/x", timeout=1)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as info:
            mute.exists("a.txt")
        assert info.value.retryable and time.monotonic() - started < 2.5


# spec: HTTP-040
@needs_server
def test_connections_are_kept_alive_and_reused(root: str) -> None:
    _seed(f"{root}/k.txt", b"keep")
    store = _store(f"{URL}/files", root)
    backend = store.unwrap(HTTPBackend)
    for _ in range(20):
        assert store.read_bytes("k.txt") == b"keep"
        assert store.exists("k.txt")
    idle = backend._pool._idle
    assert sum(len(v) for v in idle.values()) == 1
    store.backend.close()
    assert store.read_bytes("k.txt") == b"keep"  # reconnects after close


# spec: HTTP-041
@needs_server
def test_server_stopped_mid_read_then_restarted(root: str) -> None:
    big = os.urandom(1024 * 1024) * 48
    _seed(f"{root}/big.bin", big)
    _seed(f"{root}/small.txt", b"small")
    store = _store(f"{URL}/files", root, timeout=10)
    assert store.read_bytes("small.txt") == b"small"  # leaves a pooled connection
    services = [str(REPO / "scripts" / "services")]
    stream = store.read("big.bin")
    try:
        assert stream.read(1024) == big[:1024]
        subprocess.run([*services, "down", "http"], check=True, capture_output=True)
        with pytest.raises(BackendUnavailable) as info:
            while stream.read(1024 * 1024):
                pass
        assert info.value.retryable
        with pytest.raises(BackendUnavailable):
            store.read_bytes("small.txt")
    finally:
        stream.close()
        subprocess.run([*services, "up", "http"], check=True, capture_output=True)
    # Same Store, no rebuild: the dead pooled connections are replaced.
    assert store.read_bytes("small.txt") == b"small"
    assert store.read_range("big.bin", 5, 10) == big[5:10]


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """An HTTPS instance of the test server with a self-signed certificate: (url, cert, www)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed_cert(folder)
    www = folder / "www"
    (www / "d").mkdir(parents=True)
    (www / "d" / "f.txt").write_bytes(b"over tls")
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            str(SERVER),
            "--root",
            str(www),
            "--port",
            str(port),
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 20)
        yield f"https://127.0.0.1:{port}", cert, www
    finally:
        proc.terminate()
        proc.wait(10)


# spec: HTTP-020
def test_tls_is_verified_by_default(tls_server: tuple[str, Path, Path]) -> None:
    url, _cert, _ = tls_server
    with pytest.raises(BackendUnavailable) as info:
        _store(f"{url}/files").read_bytes("d/f.txt")
    assert not info.value.retryable
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert "ca_bundle" in str(info.value)


# spec: HTTP-020
def test_tls_with_ca_bundle_or_verification_off(tls_server: tuple[str, Path, Path]) -> None:
    url, cert, _ = tls_server
    trusted = _store(f"{url}/files", ca_bundle=str(cert))
    assert trusted.read_bytes("d/f.txt") == b"over tls"
    assert trusted.read_range("d/f.txt", 5, 8) == b"tls"
    assert trusted.get_file_info("d/f.txt").size == 8
    assert _store(f"{url}/files", verify_tls=False).read_bytes("d/f.txt") == b"over tls"


# spec: HTTP-015
@needs_server
def test_https_to_http_redirect_is_refused(tls_server: tuple[str, Path, Path]) -> None:
    url, cert, _ = tls_server
    port = URL.rsplit(":", 1)[1]
    store = _store(f"{url}/_test/goto/http/127.0.0.1/{port}/files", ca_bundle=str(cert))
    with pytest.raises(StoreroomError, match="https to plain http") as info:
        store.read_bytes("fixtures/hello.txt")
    assert not info.value.retryable


# -- with the retry layer ------------------------------------------------------------


# spec: HTTP-011 (the backend reports Retry-After; the retry layer waits and retries)
@needs_server
@pytest.mark.parametrize("code", [429, 503])
def test_retry_layer_honours_retry_after_from_the_server(root: str, code: int) -> None:
    from storeroom.layers import RetryLayer

    _seed(f"{root}/flaky.txt", b"finally")
    waits: list[float] = []
    backend = HTTPBackend(base_url=f"{URL}/_test/flaky/2/{code}/1/{root}")
    store = Store(backend=RetryLayer(backend, attempts=4, sleep=waits.append))
    assert store.read_bytes("flaky.txt") == b"finally"
    # Two refusals, each asking for one second: the layer waited at least that long.
    assert len(waits) == 2 and all(w >= 1.0 for w in waits)


@needs_server
def test_retry_layer_gives_up_with_the_attempt_count(root: str) -> None:
    from storeroom.layers import RetryLayer

    _seed(f"{root}/never.txt", b"x")
    backend = HTTPBackend(base_url=f"{URL}/_test/flaky/9/503/0/{root}")
    store = Store(backend=RetryLayer(backend, attempts=3, sleep=lambda s: None))
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("never.txt")
    assert info.value.attempts == 3 and info.value.retryable
