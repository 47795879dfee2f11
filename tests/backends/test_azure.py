"""Tests specific to the ``azure`` backend (shared behaviour: the conformance suite).

Server tests run against Azurite started by ``scripts/services up azure``;
the HNS tests drive the Data Lake SDK through a scripted HTTP transport,
because Azurite does not implement the DFS API (spec AZURE-030..035).
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.transport import HttpResponse, HttpTransport
from azure.storage.blob import BlobServiceClient

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.azure import AzureBackend, AzureOptions
from storeroom.backends.azure.errors import TABLE
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    UnexpectedError,
)
from storeroom.models import FileInfo, FolderEntry

CS_VAR = "STOREROOM_TEST_AZURE_CONNECTION_STRING"
CS = os.environ.get(CS_VAR, "")
REPO = Path(__file__).resolve().parents[2]
FAKE_KEY = base64.b64encode(b"k" * 64).decode()

needs_server = pytest.mark.skipif(not CS, reason=f"{CS_VAR} not set (scripts/services up azure)")


def _fields(cs: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in cs.split(";") if "=" in p)


# -- error table (no server) ---------------------------------------------------------


def _http_error(status: int, code: str | None, cls: type[HttpResponseError] = HttpResponseError):
    exc = cls(message="the service said something")
    exc.status_code = status
    exc.error_code = code
    return exc


@pytest.mark.parametrize(
    ("status", "code", "expected", "retryable"),
    [
        (404, "BlobNotFound", NotFound, False),
        (404, "ContainerNotFound", NotFound, False),
        (409, "BlobAlreadyExists", AlreadyExists, False),
        (412, "ConditionNotMet", AlreadyExists, False),
        (403, "AuthenticationFailed", PermissionDenied, False),
        (403, "AuthorizationFailure", PermissionDenied, False),
        (409, "PathAlreadyExists", AlreadyExists, False),
        (409, "DirectoryNotEmpty", DirectoryNotEmpty, False),
        (503, "ServerBusy", BackendUnavailable, True),
        (500, "InternalError", BackendUnavailable, True),
        (429, None, BackendUnavailable, True),
        (502, None, BackendUnavailable, True),
        (401, None, PermissionDenied, False),
        (418, "Teapot", UnexpectedError, False),
    ],
)
def test_error_table(status: int, code: str | None, expected: type, retryable: bool) -> None:
    """spec: AZURE-020 — by error code, then status; never by message text."""
    err = TABLE.map(_http_error(status, code), "a/b.txt", operation="write")
    assert type(err) is expected
    assert err.retryable is retryable
    assert (err.path, err.backend, err.operation) == ("a/b.txt", "azure", "write")
    assert "the service said" not in str(err)


def test_error_table_exception_types_and_reads() -> None:
    """spec: AZURE-020, AZURE-021."""
    for exc in (ServiceRequestError("refused"), ServiceResponseError("reset"), TimeoutError()):
        err = TABLE.map(exc, "k")
        assert isinstance(err, BackendUnavailable) and err.retryable
    changed = TABLE.map(_http_error(412, "ConditionNotMet"), "k", reading=True)
    assert isinstance(changed, BackendUnavailable) and changed.retryable
    # The code decides, not the exception class the SDK picked.
    assert type(TABLE.map(_http_error(409, "BlobNotFound", ResourceExistsError), "k")) is NotFound
    assert type(TABLE.map(_http_error(404, None, ResourceNotFoundError), "k")) is NotFound


# -- options (no server) ----------------------------------------------------------------


def test_options_validate_and_mask() -> None:
    """spec: AZURE-001, AZURE-002."""
    opts = AzureOptions.parse(
        {"container": "c", "account_name": "acct", "account_key": "topsecretkey", "hns": False}
    )
    assert "topsecretkey" not in repr(opts)
    for bad, key in [
        ({"container": "c"}, "account_url"),
        ({"container": "a/b", "connection_string": "x"}, "container"),
        ({"container": "c", "connection_string": "x", "account_key": "y"}, "connection_string"),
        ({"container": "c", "account_name": "a", "account_key": "y", "sas_token": "z"}, "sas"),
        ({"container": "c", "connection_string": "x", "retry": {"max_attempts": 0}}, "retry"),
        ({"container": "c", "connection_string": "x", "read_timeout": 0}, "read_timeout"),
        ({"container": "c", "connection_string": "x", "bogus": 1}, "bogus"),
    ]:
        with pytest.raises(ConfigError) as info:
            AzureOptions.parse(bad)
        assert key in str(info.value)
    ok = AzureOptions.parse({"container": "c", "connection_string": "x", "retry": {}})
    assert ok.retry == {}


def test_metadata_azure_cannot_store_is_refused() -> None:
    """spec: AZURE-015."""
    b = AzureBackend("c", account_url="https://acct.blob.core.windows.net", hns=False)
    for meta in ({"bad-name": "v"}, {"ok": "caf\u00e9"}, {"ok": " padded"}, {"hdi_isfolder": "x"}):
        with pytest.raises(InvalidArgument):
            b.write("k", b"x", metadata=meta)


def test_native_path_and_describe_hold_no_secret() -> None:
    """spec: AZURE-003."""
    b = AzureBackend(
        "c",
        account_url="https://acct.blob.core.windows.net?sv=x",
        sas_token="sig=verysecret",
        hns=False,
    )
    assert b.native_path("a b/c.txt") == "https://acct.blob.core.windows.net/c/a%20b/c.txt"
    assert "verysecret" not in repr(b) and "sv=x" not in repr(b)
    assert pickle.loads(pickle.dumps(b)).options == b.options


# -- against Azurite --------------------------------------------------------------------


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:16]}"
    yield name
    try:
        svc = BlobServiceClient.from_connection_string(CS, retry_total=0)
        svc.delete_container(name)
    except Exception:
        pass


def _registry(container: str, **options: Any) -> Registry:
    opts = {"container": container, "connection_string": CS, "create_container": True}
    opts.update(options)
    return Registry(
        RegistryConfig.from_dict(
            {
                "backends": {"az": {"type": "azure", "options": opts}},
                "stores": {"data": {"backend": "az", "root_path": uuid.uuid4().hex}},
            }
        )
    )


@pytest.fixture
def store(container: str) -> Iterator[Store]:
    with _registry(container, block_size=64 * 1024) as registry:
        yield registry.get_store("data")


class _Boom(Exception):
    pass


class _Source(io.RawIOBase):
    """``size`` bytes; calls ``hook`` once after ``after`` bytes were read."""

    def __init__(self, size: int, after: int, hook: Callable[[], None]) -> None:
        self.left, self.after, self.hook, self.done = size, after, hook, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self.done >= self.after and self.hook is not None:
            hook, self.hook = self.hook, None  # type: ignore[assignment]
            hook()
        n = min(len(buf), self.left, 16384)
        buf[:n] = b"x" * n
        self.left -= n
        self.done += n
        return n


def _raise() -> None:
    raise _Boom("source failed")


@needs_server
def test_detects_flat_namespace(store: Store) -> None:
    """spec: AZURE-004 — Azurite answers get_account_information with is_hns_enabled false."""
    assert store.unwrap(AzureBackend).hns is False  # type: ignore[attr-defined]
    assert Capability.ATOMIC_MOVE not in store.capabilities
    assert Capability.USER_METADATA in store.capabilities


@needs_server
def test_create_only_is_conditional(store: Store) -> None:
    """spec: AZURE-011."""
    first = store.write("a.txt", b"one")
    assert first.etag and first.last_modified
    with pytest.raises(AlreadyExists):
        store.write("a.txt", _Source(300_000, 10**9, _raise))  # staged path
    assert store.read_bytes("a.txt") == b"one"


@needs_server
def test_streamed_write_stages_blocks_and_reads_in_ranges(store: Store) -> None:
    """spec: AZURE-012, AZURE-013."""
    data = os.urandom(300_000)  # > 4 blocks of 64 KiB
    result = store.write("big.bin", io.BytesIO(data))
    assert result.size == len(data)
    assert store.read_bytes("big.bin") == data
    assert store.read_range("big.bin", 70_000, 200_000) == data[70_000:200_000]
    assert store.read_range("big.bin", 400_000, 500_000) == b""
    with store.read("big.bin") as f:
        assert f.read(10) == data[:10]
        assert f.read() == data[10:]


@needs_server
def test_failing_source_leaves_no_blob(store: Store) -> None:
    """spec: AZURE-012 — staged, never committed blocks are invisible."""
    with pytest.raises(_Boom):
        store.write("f.bin", _Source(1_000_000, 200_000, _raise))
    assert not store.exists("f.bin")
    assert list(store.list_files(recursive=True)) == []
    store.write("f.bin", b"old")
    with pytest.raises(_Boom):
        store.write("f.bin", _Source(1_000_000, 200_000, _raise), overwrite=True)
    assert store.read_bytes("f.bin") == b"old"


@needs_server
def test_copy_is_server_side_and_create_only(store: Store) -> None:
    """spec: AZURE-014."""
    store.write("s.txt", b"src", metadata={"owner": "alice"})
    store.copy("s.txt", "d/t.txt")
    assert store.read_bytes("d/t.txt") == b"src"
    assert dict(store.get_file_info("d/t.txt").metadata or {}) == {"owner": "alice"}


@needs_server
def test_listing_orders_folders_between_files(store: Store) -> None:
    """spec: AZURE-016 — the SDK puts a page's prefixes first; the backend re-sorts."""
    for name in ("k", "k-1", "k.bak", "k/x", "k0", "k-d/y"):
        store.write(name, b"1")
    names = [(type(e).__name__, e.path) for e in store.iter_children("")]
    assert names == [
        ("FileInfo", "k"),
        ("FileInfo", "k-1"),
        ("FolderEntry", "k-d"),
        ("FileInfo", "k.bak"),
        ("FolderEntry", "k"),
        ("FileInfo", "k0"),
    ]


@needs_server
def test_exists_is_a_head_then_a_folder_probe(container: str) -> None:
    """spec: AZURE-017 — a hit is one HEAD; a 404 adds one listing of ``key/``, page size 1."""
    root = uuid.uuid4().hex
    backend = AzureBackend(container, connection_string=CS, create_container=True, hns=False)
    sent: list[tuple[str, dict[str, list[str]]]] = []

    def record(pipeline_request: Any) -> None:
        url = urlsplit(pipeline_request.http_request.url)
        sent.append((pipeline_request.http_request.method, parse_qs(url.query)))

    backend._sdk_extra = {"raw_request_hook": record}
    cc = BlobServiceClient.from_connection_string(CS).get_container_client(container)
    backend.exists(f"{root}/warm")  # builds the clients, creates the container
    for name in ("f.txt", "d/inner.txt", "k-1", "m/"):  # m/: another tool's folder marker
        cc.upload_blob(f"{root}/{name}", b"1", overwrite=True)

    def requests_of(key: str) -> tuple[bool, list[tuple[str, dict[str, list[str]]]]]:
        sent.clear()
        return backend.exists(f"{root}/{key}"), list(sent)

    found, reqs = requests_of("f.txt")
    assert found and [m for m, _ in reqs] == ["HEAD"]
    found, reqs = requests_of("d")
    assert found and [m for m, _ in reqs] == ["HEAD", "GET"]
    assert reqs[1][1]["prefix"] == [f"{root}/d/"] and reqs[1][1]["maxresults"] == ["1"]
    assert "delimiter" not in reqs[1][1]
    found, reqs = requests_of("k")  # only a sibling k-1
    assert not found and [m for m, _ in reqs] == ["HEAD", "GET"]
    assert backend.exists(f"{root}/m") and backend.is_folder(f"{root}/m")
    assert not backend.exists(f"{root}/f.txt/x") and not backend.exists(f"{root}/nope")
    missing = AzureBackend(
        f"gone{uuid.uuid4().hex[:12]}", connection_string=CS, create_container=False, hns=False
    )
    with pytest.raises(NotFound):
        missing.exists("a")


@needs_server
def test_wrong_key_is_permission_denied(container: str) -> None:
    """spec: AZURE-022."""
    fields = _fields(CS)
    wrong = base64.b64encode(b"w" * 64).decode()
    bad_cs = CS.replace(fields["AccountKey"], wrong)
    config = {
        "backends": {
            "az": {
                "type": "azure",
                "options": {"container": container, "connection_string": bad_cs, "hns": False},
            }
        },
        "stores": {"photos": {"backend": "az"}},
    }
    with Registry(RegistryConfig.from_dict(config)) as registry:
        store = registry.get_store("photos")
        with pytest.raises(PermissionDenied) as info:
            store.read_bytes("x.txt")
    text = str(info.value) + repr(info.value)
    assert "azure" in text and "photos" in text
    assert wrong not in text and fields["AccountKey"] not in text
    # With hns detection the first request is made while building the backend.
    config["backends"]["az"]["options"].pop("hns")  # type: ignore[index]
    with Registry(RegistryConfig.from_dict(config)) as registry, pytest.raises(PermissionDenied):
        registry.get_store("photos")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_endpoint_is_unavailable_within_timeout() -> None:
    """spec: AZURE-023."""
    url = f"http://127.0.0.1:{_free_port()}/devstoreaccount1"
    backend = AzureBackend(
        "c", account_url=url, account_key=FAKE_KEY, account_name="devstoreaccount1",
        connect_timeout=2, read_timeout=2, hns=False,
    )  # fmt: skip
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        Store(backend, "").read_bytes("x")
    assert info.value.retryable
    assert time.monotonic() - t0 < 5
    # A server that accepts the connection and never answers: the read timeout bounds it.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        slow = AzureBackend(
            "c", account_url=f"http://127.0.0.1:{port}/acct", account_key=FAKE_KEY,
            account_name="acct", connect_timeout=1, read_timeout=1, hns=False,
        )  # fmt: skip
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable) as info:
            Store(slow, "").exists("x")
        assert info.value.retryable
        assert time.monotonic() - t0 < 4


def _services(*args: str) -> None:
    subprocess.run(
        [str(REPO / "scripts" / "services"), *args, "azure"],
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=180,
    )


@needs_server
def test_server_stopped_mid_write_then_restarted(container: str) -> None:
    """spec: AZURE-024 — BackendUnavailable (retryable), no blob, same Store works after."""
    with _registry(container, block_size=64 * 1024) as registry:
        store = registry.get_store("data")
        store.write("before.txt", b"ok")
        try:
            with pytest.raises(BackendUnavailable) as info:
                store.write("t.bin", _Source(1_000_000, 200_000, lambda: _services("down")))
            assert info.value.retryable
        finally:
            _services("up")
        # Azurite keeps data in memory: the restart lost the container, recreate it.
        BlobServiceClient.from_connection_string(CS).create_container(container)
        assert not store.exists("t.bin")
        store.write("t.bin", b"after restart")
        assert store.read_bytes("t.bin") == b"after restart"


# -- HNS through a scripted transport (Azurite has no DFS API) ------------------------


class _Response(HttpResponse):
    def __init__(self, request: Any, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(request, None)
        self.status_code = status
        self.headers = dict(headers)
        self.reason = "scripted"
        self.content_type = headers.get("Content-Type")
        self._body = body

    def body(self) -> bytes:
        return self._body


class _Transport(HttpTransport):  # type: ignore[type-arg]
    """Answers from ``handler(method, host, path, query, headers)``; records every request."""

    def __init__(self, handler: Callable[..., tuple[int, dict[str, str], bytes]]) -> None:
        self.handler = handler
        self.requests: list[tuple[str, str, str, dict[str, list[str]], dict[str, str]]] = []

    def send(self, request: Any, **kwargs: Any) -> HttpResponse:
        url = urlsplit(request.url)
        query = parse_qs(url.query, keep_blank_values=True)
        headers = dict(request.headers)
        self.requests.append((request.method, url.netloc, url.path, query, headers))
        status, out, body = self.handler(request.method, url.netloc, url.path, query, headers)
        base = {"x-ms-request-id": "r", "Date": formatdate(usegmt=True)}
        if status >= 400:
            code = out.pop("code", "Error")
            base["x-ms-error-code"] = code
            body = json.dumps({"error": {"code": code, "message": "scripted"}}).encode()
            base["Content-Type"] = "application/json"
        return _Response(request, status, base | out, body)

    def open(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> _Transport:
        return self

    def __exit__(self, *args: Any) -> None: ...


_ETAG = '"0x8DCAFE"'
_LM = formatdate(usegmt=True)


def _hns_backend(handler: Callable[..., tuple[int, dict[str, str], bytes]]) -> tuple[Any, Any]:
    backend = AzureBackend(
        "fs",
        account_url="https://acct.blob.core.windows.net",
        account_name="acct",
        account_key=FAKE_KEY,
        hns=True,
    )
    transport = _Transport(handler)
    backend._sdk_extra = {"transport": transport}
    return backend, transport


def _header(headers: dict[str, str], name: str) -> str | None:
    return {k.lower(): v for k, v in headers.items()}.get(name.lower())


def _dfs_writer(rename_status: int = 201, rename_code: str = "") -> Callable[..., Any]:
    def handle(method: str, host: str, path: str, q: dict[str, list[str]], h: dict[str, str]):
        assert host == "acct.dfs.core.windows.net", (method, host, path)
        if method == "PUT" and q.get("resource") == ["file"]:
            return 201, {"ETag": _ETAG, "Last-Modified": _LM}, b""
        if method == "PATCH" and q.get("action") == ["append"]:
            return 202, {}, b""
        if method == "PATCH" and q.get("action") == ["flush"]:
            return 200, {"ETag": _ETAG, "Last-Modified": _LM, "Content-Length": "0"}, b""
        if method == "PUT" and _header(h, "x-ms-rename-source"):
            if rename_status >= 400:
                return rename_status, {"code": rename_code}, b""
            return 201, {"ETag": _ETAG, "Last-Modified": _LM}, b""
        if method == "DELETE":
            return 200, {}, b""
        raise AssertionError(f"unexpected request {method} {path} {q}")

    return handle


def test_hns_write_is_create_append_flush_then_conditional_rename() -> None:
    """spec: AZURE-030, AZURE-031."""
    backend, t = _hns_backend(_dfs_writer())
    assert backend.real_folders and Capability.ATOMIC_MOVE in backend.capabilities
    result = backend.write("d/f.txt", b"hello")
    assert (result.size, result.etag) == (5, "0x8DCAFE")
    (m1, _, p1, q1, _), (m2, _, p2, q2, _), (m3, _, p3, q3, _), (m4, _, p4, _, h4) = t.requests
    tmp = p1
    assert (m1, q1["resource"]) == ("PUT", ["file"]) and tmp.startswith("/fs/d/.~storeroom-")
    assert (m2, p2, q2["action"], q2["position"]) == ("PATCH", tmp, ["append"], ["0"])
    assert (m3, p3, q3["action"], q3["position"]) == ("PATCH", tmp, ["flush"], ["5"])
    assert q3.get("close") == ["true"]
    assert (m4, p4) == ("PUT", "/fs/d/f.txt")
    assert _header(h4, "x-ms-rename-source").split("?")[0] == tmp  # type: ignore[union-attr]
    assert _header(h4, "If-None-Match") == "*"


def test_hns_overwrite_rename_is_unconditional_and_conflict_cleans_up() -> None:
    """spec: AZURE-031."""
    backend, t = _hns_backend(_dfs_writer())
    backend.write("f.txt", io.BytesIO(b"abc"), overwrite=True)
    assert _header(t.requests[-1][4], "If-None-Match") is None
    backend, t = _hns_backend(_dfs_writer(409, "PathAlreadyExists"))
    with pytest.raises(AlreadyExists):
        backend.write("f.txt", b"abc")
    tmp = t.requests[0][2]
    assert (t.requests[-1][0], t.requests[-1][2]) == ("DELETE", tmp)


def _props(folder: bool, size: int = 3) -> dict[str, str]:
    out = {"ETag": _ETAG, "Last-Modified": _LM, "Content-Length": str(size)}
    out["x-ms-blob-type"] = "BlockBlob"
    if folder:
        out["x-ms-meta-hdi_isfolder"] = "true"
    return out


def _tree_handler(method: str, host: str, path: str, q: dict[str, list[str]], h: dict[str, str]):
    """A file system with d/ (a.txt, e/ (empty)) and top.txt."""
    kinds = {"/fs/d": True, "/fs/d/e": True, "/fs/d/a.txt": False, "/fs/top.txt": False}
    if method == "HEAD" and host == "acct.blob.core.windows.net":
        if path in kinds:
            return 200, _props(kinds[path]), b""
        return 404, {"code": "BlobNotFound"}, b""
    if method == "GET" and q.get("resource") == ["filesystem"]:
        assert q["recursive"] == ["false"]
        directory = q.get("directory", [""])[0]
        listing = {
            "": [("top.txt", False), ("d", True)],
            "d": [("d/e", True), ("d/a.txt", False)],
            "d/e": [],
        }[directory]
        paths = [
            {"name": n, "isDirectory": "true" if is_dir else "false", "contentLength": "3",
             "lastModified": _LM, "etag": "0x1"}
            for n, is_dir in listing
        ]  # fmt: skip
        if "maxResults" in q:
            paths = paths[: int(q["maxResults"][0])]
        return 200, {"Content-Type": "application/json"}, json.dumps({"paths": paths}).encode()
    if method == "PUT" and q.get("resource") == ["directory"]:
        assert _header(h, "If-None-Match") == "*"
        return 409, {"code": "PathAlreadyExists"}, b""
    if method == "PUT" and _header(h, "x-ms-rename-source"):
        return 201, {"ETag": _ETAG, "Last-Modified": _LM}, b""
    if method == "DELETE":
        return 200, {}, b""
    raise AssertionError(f"unexpected request {method} {host} {path} {q}")


def test_hns_listing_uses_get_paths_per_directory() -> None:
    """spec: AZURE-032 — real directories, empty ones included, in entry order."""
    backend, t = _hns_backend(_tree_handler)
    entries = list(backend.list("", recursive=True))
    assert [(type(e).__name__, e.path) for e in entries] == [
        ("FolderEntry", "d"),
        ("FileInfo", "d/a.txt"),
        ("FolderEntry", "d/e"),
        ("FileInfo", "top.txt"),
    ]
    assert isinstance(backend.stat("d/e"), FolderEntry)
    assert isinstance(backend.stat("d/a.txt"), FileInfo)
    assert backend.is_folder("d/e") and not backend.exists("nope")
    gets = [r for r in t.requests if r[0] == "GET"]
    assert all(r[1] == "acct.dfs.core.windows.net" for r in gets)


def test_hns_listing_skips_foreign_names(caplog: pytest.LogCaptureFixture) -> None:
    """spec: BACKEND-006 — a path another client created that is no store path is skipped."""

    def handler(method: str, host: str, path: str, q: dict[str, list[str]], h: dict[str, str]):
        code, headers, body = _tree_handler(method, host, path, q, h)
        if method == "GET" and q.get("resource") == ["filesystem"] and not q.get("directory"):
            listing = json.loads(body)
            row = dict(listing["paths"][0], name="back\\slash")
            listing["paths"].append(row)
            body = json.dumps(listing).encode()
        return code, headers, body

    backend, _ = _hns_backend(handler)
    caplog.set_level("WARNING", logger="storeroom.listing")
    assert [e.path for e in backend.list("", recursive=True)] == ["d", "d/a.txt", "d/e", "top.txt"]
    assert len([r for r in caplog.records if r.name == "storeroom.listing"]) == 1


def test_hns_move_is_one_rename_and_folders_are_real() -> None:
    """spec: AZURE-033, AZURE-034."""
    backend, t = _hns_backend(_tree_handler)
    backend.move("top.txt", "d/e/moved.txt")
    method, host, path, _, headers = t.requests[-1]
    assert (method, host, path) == ("PUT", "acct.dfs.core.windows.net", "/fs/d/e/moved.txt")
    assert _header(headers, "x-ms-rename-source").split("?")[0] == "/fs/top.txt"  # type: ignore[union-attr]
    assert _header(headers, "If-None-Match") == "*"
    with pytest.raises(DirectoryNotEmpty):
        backend.remove_folder("d")
    with pytest.raises(InvalidPath):
        backend.delete("d/e")
    backend.remove_folder("d/e")
    method, host, path, q, _ = t.requests[-1]
    assert (method, host, path, q.get("recursive")) == (
        "DELETE",
        "acct.dfs.core.windows.net",
        "/fs/d/e",
        ["true"],
    )
