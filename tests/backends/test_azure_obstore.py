"""The ``obstore`` engine of the ``azure`` backend (spec AZURE-080..089), against Azurite.

The shared contract runs in the conformance suite (target ``azure-obstore``);
this file holds what is specific to the engine: options, routing and the SDK
fallbacks, aborting, the obstore rows of the error table, conditional writes,
signed URLs, pickling and fork safety.
"""

from __future__ import annotations

import base64
import io
import multiprocessing
import os
import pickle
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("obstore")

import obstore.exceptions as oe

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends._requirements import missing_requirements
from storeroom.backends.azure._obstore_conn import store_kwargs
from storeroom.backends.azure.backend import AzureBackend
from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import TABLE
from storeroom.config.secret import Secret
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)

CS_VAR = "STOREROOM_TEST_AZURE_CONNECTION_STRING"
CS = os.environ.get(CS_VAR, "")
MiB = 1024 * 1024
needs_server = pytest.mark.skipif(not CS, reason=f"{CS_VAR} not set (scripts/services up azure)")
#: Small blocks so streamed writes take the block path with little data.
SMALL = {"block_size": MiB}


def _target() -> Any:
    return sys.modules["storeroom_service_target_azure"]


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "container": _target().CONTAINER,
        "connection_string": CS,
        "create_container": True,
        "hns": False,
        "engine": "obstore",
        **extra,
    }


def _store(**extra: Any) -> Store:
    config = {
        "backends": {"b": {"type": "azure", "options": _options(**extra)}},
        "stores": {"s": {"backend": "b", "root_path": uuid.uuid4().hex}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("s")


def _blob_name(store: Store, path: str) -> str:
    return store.native_path(path).split(f"/{_target().CONTAINER}/", 1)[1]


def _recorder(store: Store) -> list[str]:
    """Every SDK request of the store's backend from now on, as ``METHOD ?query``."""
    sent: list[str] = []

    def record(pipeline_request: Any) -> None:
        req = pipeline_request.http_request
        sent.append(f"{req.method} {req.url.partition('?')[2]}")

    backend = store.unwrap(AzureBackend)
    backend._core.close()  # rebuilt with the hook on next use
    backend._sdk_extra = {"raw_request_hook": record}
    return sent


class Chunks(io.RawIOBase):
    """A non-seekable source of ``count`` MiB (chunk i is letter i); raises at ``fail_at``."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at, self.pos = count, fail_at, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        index, offset = divmod(self.pos, MiB)
        if index >= self.count:
            return 0
        if offset == 0 and index == self.fail_at:
            raise OSError("source broke")
        n = min(len(b), MiB - offset)
        b[:n] = bytes([65 + index % 26]) * n
        self.pos += n
        return n


def _expected(count: int) -> bytes:
    return b"".join(bytes([65 + i % 26]) * MiB for i in range(count))


# -- configuration (no I/O) --------------------------------------------------------


AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5LXZhbHVl;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


# spec: AZURE-080
def test_engine_option_and_describe() -> None:
    backend = AzureBackend("c1", connection_string=AZURITE, hns=False, engine="obstore")
    assert backend.describe()["engine"] == "obstore" and backend.type_name == "azure"
    sdk = AzureBackend("c1", connection_string=AZURITE, hns=False)
    assert sdk.describe()["engine"] == "sdk"
    with pytest.raises(ConfigError, match="'obstore'") as info:
        AzureOptions(container="c1", connection_string=Secret(AZURITE), engine="rust")
    assert info.value.key == "engine"
    with pytest.raises(CapabilityNotSupported, match="obstore"):
        sdk.unwrap_obstore()


# spec: AZURE-080
def test_import_storeroom_does_not_import_obstore() -> None:
    code = (
        "import sys, storeroom\n"
        "from storeroom.backends.azure import AzureBackend\n"
        f"AzureBackend('c', connection_string={AZURITE!r}, hns=False, engine='obstore')\n"
        "print('obstore' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# spec: AZURE-080
def test_missing_requirements_names_the_obstore_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import storeroom.backends._requirements as req

    monkeypatch.setattr(req, "_absent", lambda module: module == "obstore")
    missing = missing_requirements("azure", {"engine": "obstore"})
    assert [(m.module, m.pip_line) for m in missing] == [
        ("obstore", 'pip install "storeroom[azure,obstore]"')
    ]
    assert missing_requirements("azure", {"engine": "sdk"}) == []


# spec: AZURE-081
def test_store_kwargs_map_the_options() -> None:
    kw = store_kwargs(AzureOptions(container="c1", connection_string=Secret(AZURITE)))
    assert kw["account_name"] == "devstoreaccount1" and kw["account_key"] == "a2V5LXZhbHVl"
    assert kw["endpoint"] == "http://127.0.0.1:10000/devstoreaccount1"
    assert kw["client_options"]["allow_http"] is True
    assert kw["client_options"]["connect_timeout"].total_seconds() == 10.0
    assert kw["client_options"]["read_timeout"].total_seconds() == 60.0
    assert kw["retry_config"]["max_retries"] == 0
    cloud = store_kwargs(
        AzureOptions(container="c1", account_name="acct", account_key=Secret("k3y"))
    )
    assert cloud["endpoint"] == "https://acct.blob.core.windows.net"
    assert "allow_http" not in cloud["client_options"] and cloud["account_key"] == "k3y"
    sas_url = "https://acct.blob.core.windows.net?sv=2023&sig=abc"
    sas = store_kwargs(AzureOptions(container="c1", account_url=sas_url))
    assert sas["sas_key"] == "sv=2023&sig=abc" and sas["account_name"] == "acct"
    assert sas["endpoint"] == "https://acct.blob.core.windows.net"
    suffix = "DefaultEndpointsProtocol=https;AccountName=a2;SharedAccessSignature=?sig=x;"
    by_parts = store_kwargs(AzureOptions(container="c1", connection_string=Secret(suffix)))
    assert by_parts["endpoint"] == "https://a2.blob.core.windows.net"
    assert by_parts["sas_key"] == "sig=x"
    dev = store_kwargs(
        AzureOptions(container="c1", connection_string=Secret("UseDevelopmentStorage=true"))
    )
    assert dev["use_emulator"] is True and dev["client_options"]["allow_http"] is True
    with pytest.raises(ConfigError, match="account name"):
        AzureBackend("c1", account_url="https://proxy.example", hns=False, engine="obstore")
    backend = AzureBackend("c1", connection_string=AZURITE, hns=False, engine="obstore")
    assert "a2V5LXZhbHVl" not in repr(backend) and "a2V5LXZhbHVl" not in repr(backend.options)


# spec: AZURE-081
def test_token_and_sas_providers_become_obstore_credential_callbacks() -> None:
    import datetime as dt

    from storeroom.backends.azure._obstore_conn import credential_provider
    from storeroom.credentials import Token

    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    calls: list[str] = []

    def bearer() -> Token:
        calls.append("bearer")
        return Token(Secret("bearer-1"), expires_at=soon)

    url = "https://acct.blob.core.windows.net"
    opts = AzureOptions(container="c1", account_url=url, credential=bearer)
    provide = credential_provider(opts)
    assert provide is not None
    got = provide()
    assert got["token"] == "bearer-1" and calls == ["bearer"]
    assert abs((got["expires_at"] - soon).total_seconds()) < 600  # renewed before expiry

    def sas() -> Token:
        return Token(Secret("?sv=1&sig=s1"), expires_at=soon)

    sas_opts = AzureOptions(container="c1", account_url=url, sas_token_provider=sas)
    sas_provide = credential_provider(sas_opts)
    assert sas_provide is not None
    answer = sas_provide()
    assert answer["sas_token"] == "sv=1&sig=s1"
    assert answer["expires_at"] <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    keyed = AzureOptions(container="c1", account_url=url, account_key=Secret("k"))
    assert credential_provider(keyed) is None  # a static key goes in as account_key


# spec: AZURE-084
def test_obstore_errors_map_through_the_one_table() -> None:
    cases = [
        (FileNotFoundError("at http://secret-host/x"), NotFound, False),
        (oe.AlreadyExistsError("at http://secret-host/x"), AlreadyExists, False),
        (oe.PreconditionError("at http://secret-host/x"), AlreadyExists, False),
        (oe.PermissionDeniedError("at http://secret-host/x"), PermissionDenied, False),
        (oe.UnauthenticatedError("at http://secret-host/x"), PermissionDenied, False),
        (oe.InvalidPathError("at http://secret-host/x"), InvalidPath, False),
        (oe.NotSupportedError("at http://secret-host/x"), InvalidArgument, False),
        (oe.GenericError("at http://secret-host/x"), BackendUnavailable, True),
    ]
    for exc, cls, retryable in cases:
        err = TABLE.map(exc, "a/b.txt", operation="read")
        assert type(err) is cls, exc
        assert err.retryable is retryable and err.path == "a/b.txt"
        assert err.backend == "azure" and err.operation == "read"
        assert "secret-host" not in str(err)
        assert type(TABLE.map(exc, "a/b.txt")) is cls  # operation is optional
    mine = NotFound("already ours", path="k")
    assert TABLE.map(mine, "other") is mine


# -- against Azurite -------------------------------------------------------------------


# spec: AZURE-082, AZURE-085
@needs_server
def test_reads_writes_listings_go_through_obstore_without_sdk_requests() -> None:
    store = _store(**SMALL)
    store.write("warm.txt", b"w")
    sent = _recorder(store)
    small = store.write("m/small.txt", b"hello", metadata={"owner": "ann"})
    info = store.get_file_info("m/small.txt")
    assert small.etag and small.etag == info.etag
    assert info.metadata == {"owner": "ann"} and info.size == 5
    big = store.write("m/big.bin", Chunks(3), overwrite=True, metadata={"kind": "big"})
    assert big.size == 3 * MiB and big.etag == store.get_file_info("m/big.bin").etag
    assert store.read_bytes("m/big.bin") == _expected(3)
    assert store.get_file_info("m/big.bin").metadata == {"kind": "big"}
    assert store.read_range("m/big.bin", MiB - 2, MiB + 2) == b"AABB"
    with store.read("m/big.bin") as f:
        assert f.read(3) == b"AAA"
    assert store.read_range("m/small.txt", 10, 20) == b""  # past the end: empty
    assert store.exists("m") and store.is_folder("m") and not store.exists("m/none")
    assert [e.name for e in store.iter_children("m")] == ["big.bin", "small.txt"]
    store.copy("m/small.txt", "m/copy.txt")
    assert store.get_file_info("m/copy.txt").metadata == {"owner": "ann"}
    store.delete("m/copy.txt")
    store.delete("m/copy.txt", missing_ok=True)
    with pytest.raises(NotFound):
        store.read_bytes("m/none.txt")
    with pytest.raises(NotFound):
        store.delete("m/none.txt")
    assert sent == []  # the SDK sent nothing: obstore served every call


# spec: AZURE-083
@needs_server
def test_metadata_names_come_back_lower_cased_and_results_have_no_date() -> None:
    store = _store()
    result = store.write("meta/f.txt", b"x", metadata={"Owner": "Ann"})
    assert result.etag and result.last_modified is None
    assert store.get_file_info("meta/f.txt").metadata == {"owner": "Ann"}


# spec: AZURE-083
@needs_server
def test_failing_source_leaves_no_blob_and_propagates_unchanged() -> None:
    store = _store(**SMALL)
    store.write("ab/keep.bin", b"old")
    with pytest.raises(OSError, match="source broke") as info:
        store.write("ab/f.bin", Chunks(6, fail_at=4), overwrite=True)
    assert type(info.value) is OSError
    assert not store.exists("ab/f.bin")
    with pytest.raises(OSError, match="source broke"):
        store.write("ab/keep.bin", Chunks(6, fail_at=4), overwrite=True)
    assert store.read_bytes("ab/keep.bin") == b"old"


# spec: AZURE-083
@needs_server
def test_create_only_writes_small_by_obstore_streamed_by_the_sdk() -> None:
    store = _store(**SMALL)
    store.write("c/warm.txt", b"w")
    sent = _recorder(store)
    store.write("c/f.txt", b"one")
    with pytest.raises(AlreadyExists):
        store.write("c/f.txt", b"two")
    assert store.read_bytes("c/f.txt") == b"one" and sent == []
    store.write("c/big.bin", Chunks(3))  # staged blocks and a conditional commit (SDK)
    assert any(r.startswith("PUT comp=blocklist") for r in sent)
    with pytest.raises(AlreadyExists):
        store.write("c/big.bin", Chunks(3))
    assert store.read_bytes("c/big.bin") == _expected(3)


# spec: AZURE-083
@needs_server
def test_create_only_write_over_an_abandoned_write_succeeds() -> None:
    """Azurite refuses a create-only Put Blob over uncommitted blocks: the SDK commits it."""
    from azure.storage.blob import BlobServiceClient

    store = _store()
    store.write("warm.txt", b"w")
    name = _blob_name(store, "ab.txt")
    cc = BlobServiceClient.from_connection_string(CS).get_container_client(_target().CONTAINER)
    # an abandoned write: one uncommitted block, its id as long as storeroom's (42 bytes)
    cc.get_blob_client(name).stage_block(base64.b64encode(b"b" * 42).decode(), b"left over")
    store.write("ab.txt", b"fresh")
    assert store.read_bytes("ab.txt") == b"fresh"
    with pytest.raises(AlreadyExists):
        store.write("ab.txt", b"again")


# spec: AZURE-087
@needs_server
def test_if_match_by_obstore_and_conditional_delete_by_the_sdk() -> None:
    store = _store()
    first = store.write("cond/f.txt", b"v1")
    sent = _recorder(store)
    assert first.etag
    second = store.write("cond/f.txt", b"v2", if_match=first.etag)
    assert store.read_bytes("cond/f.txt") == b"v2"
    with pytest.raises(PreconditionFailed):
        store.write("cond/f.txt", b"v3", if_match=first.etag)
    with pytest.raises(PreconditionFailed):
        store.write("cond/none.txt", b"x", if_match=first.etag)
    assert second.etag == store.get_file_info("cond/f.txt").etag
    assert sent == []
    with pytest.raises(PreconditionFailed):
        store.delete("cond/f.txt", if_match=first.etag)
    assert second.etag is not None
    store.delete("cond/f.txt", if_match=second.etag)
    assert not store.exists("cond/f.txt")
    # the SDK did the two If-Match deletes (after creating the container on first use)
    assert [r.split(" ")[0] for r in sent if "restype=container" not in r] == ["DELETE", "DELETE"]


# spec: AZURE-087
@needs_server
def test_signed_urls_from_obstore() -> None:
    store = _store()
    store.write("sig/f.txt", b"signed body")
    url = store.url("sig/f.txt", expires=120)
    assert "sig=" in url and "sp=r" in url
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b"signed body"
    put = store.url("sig/up.txt", method="PUT")
    req = urllib.request.Request(
        put, data=b"uploaded", method="PUT", headers={"x-ms-blob-type": "BlockBlob"}
    )
    with urllib.request.urlopen(req, timeout=30):
        pass
    assert store.read_bytes("sig/up.txt") == b"uploaded"


# spec: AZURE-084
@needs_server
def test_unreachable_endpoint_is_retryable_and_shows_no_key() -> None:
    key = _target().account_key(CS)
    dead = CS.replace(
        CS.split("BlobEndpoint=")[1].split("/devstoreaccount1")[0], "http://127.0.0.1:9"
    )
    store = _store(connection_string=dead, create_container=False, connect_timeout=2.0)
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("x.txt")
    assert info.value.retryable and key not in str(info.value)


# spec: AZURE-085
@needs_server
def test_listing_falls_back_on_names_obstore_cannot_hold() -> None:
    from azure.storage.blob import BlobServiceClient

    store = _store()
    store.write("l/a.txt", b"a")
    store.write("l/sub/b.txt", b"b")
    cc = BlobServiceClient.from_connection_string(CS).get_container_client(_target().CONTAINER)
    cc.upload_blob(_blob_name(store, "l/x") + "//y", b"")  # an empty segment
    assert store.is_folder("l/x") and store.exists("l/x")
    names = sorted(i.path for i in store.list_files("l", recursive=True))
    assert names == ["l/a.txt", "l/sub/b.txt"]
    assert [e.name for e in store.iter_children("l")] == ["a.txt", "sub", "x"]


# spec: AZURE-086
@needs_server
def test_pickles_as_options_and_rebuilds_after_close() -> None:
    store = _store()
    store.write("p/f.txt", b"pickled")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.read_bytes("p/f.txt") == b"pickled"
    assert clone.unwrap(AzureBackend).options.engine == "obstore"
    backend = store.unwrap(AzureBackend)
    before = backend.unwrap_obstore()
    backend.close()
    assert store.read_bytes("p/f.txt") == b"pickled"
    assert backend.unwrap_obstore() is not before


def _child(store: Store, queue: Any) -> None:
    backend = store.unwrap(AzureBackend)
    data = store.read_bytes("fork/parent.bin")
    store.write("fork/child.bin", Chunks(3), overwrite=True)
    queue.put((data, backend._obs is None))


# spec: AZURE-086
@needs_server
def test_forked_child_uses_the_sdk_and_does_not_hang() -> None:
    store = _store(**SMALL)
    store.write("fork/parent.bin", b"parent")
    parent = store.unwrap(AzureBackend).unwrap_obstore()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(store, queue))
    proc.start()
    proc.join(60)
    if proc.is_alive():
        proc.kill()
        pytest.fail("the forked child hung")
    assert proc.exitcode == 0
    assert queue.get(timeout=5) == (b"parent", True)
    assert store.read_bytes("fork/child.bin") == _expected(3)
    assert store.unwrap(AzureBackend).unwrap_obstore() is parent  # the parent keeps its store


_FRESH_CHILD = """
import os, sys
from storeroom.backends.azure import AzureBackend
b = AzureBackend(**{opts!r})
assert "obstore" not in sys.modules
pid = os.fork()
if pid == 0:
    b.write("fresh/child.txt", b"from the child", overwrite=True)
    ok = b._obs is not None and b.unwrap_obstore() is not None
    os._exit(0 if ok else 3)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
print(b.open_read("fresh/child.txt").read().decode())
"""


# spec: AZURE-086
@needs_server
def test_child_forked_before_obstore_was_imported_uses_obstore() -> None:
    code = _FRESH_CHILD.format(opts=_options())
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "from the child"


# spec: AZURE-088
@needs_server
def test_benchmark_has_an_obstore_engine_column_in_every_obstore_row() -> None:
    bench_dir = str(Path(__file__).resolve().parents[2] / "benchmarks")
    sys.path.insert(0, bench_dir)
    try:
        import bench_azure
    finally:
        sys.path.remove(bench_dir)
    fixture = bench_azure.Fixture(CS, 1024, 3)
    try:
        fixture.verify()  # every column sees the same blobs before timing
        assert fixture.so.unwrap(AzureBackend)._obs is not None
        for _, label, make in bench_azure.CASES:
            names = [v.name for v in make(fixture)]
            assert ("obstore" in names) == (bench_azure.SO in names), label
        assert all(bench_azure.SO in [v.name for v in m(fixture)] for _, _, m in bench_azure.CASES)
    finally:
        fixture.close()
