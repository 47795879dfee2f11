"""The ``obstore`` engine of the ``s3`` backend (spec S3-080..089), against the moto server.

The shared contract runs in the conformance suite (target ``s3-obstore``); this
file holds what is specific to the engine: options, routing, aborting, the
obstore rows of the error table, conditional writes, signed URLs, pickling
and fork safety.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import pickle
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("obstore")

import obstore.exceptions as oe
from s3_support import (
    ENV,
    SMALL,
    Chunks,
    MiB,
    expected,
    needs_server,
    object_key,
    s3_store,
    target,
    uploads,
)

from storeroom import Capability, Store
from storeroom.backends._requirements import missing_requirements
from storeroom.backends.s3._obstore_conn import store_kwargs
from storeroom.backends.s3.backend import S3Backend
from storeroom.backends.s3.config import S3Options
from storeroom.backends.s3.errors import TABLE
from storeroom.config.secret import Secret
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidPath,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)

_store = functools.partial(s3_store, engine="obstore")

# -- configuration (no I/O) --------------------------------------------------------


# spec: S3-080
def test_engine_option_and_describe() -> None:
    backend = S3Backend(bucket="b1", engine="obstore")
    assert backend.describe()["engine"] == "obstore"
    assert backend.type_name == "s3"
    assert Capability.WRITE_RESULT_NATIVE in backend.capabilities
    with pytest.raises(ConfigError, match="'obstore'"):
        S3Options(bucket="b1", engine="rust")
    with pytest.raises(CapabilityNotSupported, match="obstore"):
        S3Backend(bucket="b1").unwrap_obstore()


# spec: S3-080
def test_import_storeroom_does_not_import_obstore() -> None:
    code = (
        "import sys, storeroom\n"
        "from storeroom.backends.s3 import S3Backend\n"
        "S3Backend(bucket='b', engine='obstore')\n"
        "print('obstore' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# spec: S3-080
def test_missing_requirements_names_the_obstore_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import storeroom.backends._requirements as req

    monkeypatch.setattr(req, "_absent", lambda module: module == "obstore")
    missing = missing_requirements("s3", {"engine": "obstore"})
    assert [(m.module, m.pip_line) for m in missing] == [
        ("obstore", 'pip install "storeroom[s3,obstore]"')
    ]
    assert missing_requirements("s3", {"engine": "s3fs"}) == []


# spec: S3-081
def test_store_kwargs_map_the_options() -> None:
    opts = S3Options(
        bucket="b1",
        endpoint_url="http://127.0.0.1:9000",
        key=Secret("AKID"),
        secret=Secret("s3cr3t-value"),
        token=Secret("tok"),
        region_name="eu-west-1",
        connect_timeout=3.0,
        request_timeout=40.0,
    )
    kw = store_kwargs(opts)
    assert kw["endpoint"] == "http://127.0.0.1:9000"
    assert kw["client_options"]["allow_http"] is True
    assert kw["client_options"]["connect_timeout"].total_seconds() == 3.0
    assert kw["client_options"]["timeout"].total_seconds() == 40.0
    assert kw["region"] == "eu-west-1"
    assert (kw["access_key_id"], kw["secret_access_key"], kw["session_token"]) == (
        "AKID",
        "s3cr3t-value",
        "tok",
    )
    assert kw["retry_config"]["max_retries"] == 0
    https = store_kwargs(S3Options(bucket="b1", endpoint_url="https://s3.example", anon=True))
    assert "allow_http" not in https["client_options"]
    assert https["skip_signature"] is True and "access_key_id" not in https
    backend = S3Backend(bucket="b1", engine="obstore", key="AKID", secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(backend)


# spec: S3-081
def test_tls_ca_bundle_is_refused_at_construction() -> None:
    with pytest.raises(ConfigError, match="tls_ca_bundle") as info:
        S3Backend(bucket="b1", engine="obstore", tls_ca_bundle="/etc/ca.pem")
    assert "engine = 's3fs'" in str(info.value)


# spec: S3-084
def test_obstore_errors_map_through_the_table() -> None:
    cases = [
        (oe.AlreadyExistsError("at http://secret-host/x"), AlreadyExists, False),
        (oe.PermissionDeniedError("at http://secret-host/x"), PermissionDenied, False),
        (oe.UnauthenticatedError("at http://secret-host/x"), PermissionDenied, False),
        (oe.InvalidPathError("at http://secret-host/x"), InvalidPath, False),
        (oe.GenericError("at http://secret-host/x"), BackendUnavailable, True),
    ]
    for exc, cls, retryable in cases:
        err = TABLE.map(exc, "a/b.txt", operation="read", bucket="b1")
        assert type(err) is cls, exc
        assert err.retryable is retryable
        assert "secret-host" not in str(err)
        assert err.path == "a/b.txt"
    assert TABLE.lookup(FileNotFoundError("gone"))[0][0] is NotFound  # type: ignore[index]


# -- against the server --------------------------------------------------------------


# spec: S3-082
@needs_server
def test_roundtrip_small_and_streamed_with_metadata() -> None:
    store = _store(**SMALL)
    small = store.write("m/small.txt", b"hello", metadata={"owner": "ann"})
    assert small.etag and small.etag == store.get_file_info("m/small.txt").etag
    info = store.get_file_info("m/small.txt")
    assert info.metadata == {"owner": "ann"} and info.size == 5
    big = store.write("m/big.bin", Chunks(12), overwrite=True, metadata={"kind": "big"})
    assert big.size == 12 * MiB
    assert big.etag == store.get_file_info("m/big.bin").etag
    assert big.etag is not None and big.etag.endswith("-3")  # a 3-part multipart upload
    assert store.read_bytes("m/big.bin") == expected(12)
    assert store.get_file_info("m/big.bin").metadata == {"kind": "big"}
    assert store.read_range("m/big.bin", MiB - 2, MiB + 2) == b"AABB"
    with store.read("m/big.bin") as f:
        assert f.read(3) == b"AAA"
    assert store.read_range("m/small.txt", 10, 20) == b""  # past the end: empty
    with pytest.raises(NotFound):
        store.read_bytes("m/none.txt")


# spec: S3-083
@needs_server
def test_failing_source_aborts_the_upload_and_propagates_unchanged() -> None:
    store = _store(**SMALL)
    with pytest.raises(OSError, match="source broke") as info:
        store.write("ab/f.bin", Chunks(12, fail_at=8), overwrite=True)
    assert type(info.value) is OSError
    assert not store.exists("ab/f.bin")
    assert uploads(object_key(store, "ab/f.bin")) == []


# spec: S3-082
@needs_server
def test_create_only_writes_small_and_streamed() -> None:
    store = _store(**SMALL)
    store.write("c/f.txt", b"one")
    with pytest.raises(AlreadyExists):
        store.write("c/f.txt", b"two")
    store.write("c/big.bin", Chunks(7))
    with pytest.raises(AlreadyExists):
        store.write("c/big.bin", Chunks(7))
    assert store.read_bytes("c/f.txt") == b"one"
    assert uploads(object_key(store, "c/big.bin")) == []


# spec: S3-087
@needs_server
def test_if_match_writes_use_the_etag() -> None:
    store = _store()
    first = store.write("cond/f.txt", b"v1")
    assert first.etag
    second = store.write("cond/f.txt", b"v2", if_match=first.etag)
    assert store.read_bytes("cond/f.txt") == b"v2"
    with pytest.raises(PreconditionFailed):
        store.write("cond/f.txt", b"v3", if_match=first.etag)
    with pytest.raises(PreconditionFailed):  # obstore reports S3's 412 and 404 alike
        store.write("cond/none.txt", b"x", if_match=first.etag)
    assert second.etag == store.get_file_info("cond/f.txt").etag


# spec: S3-087
@needs_server
def test_signed_urls_from_obstore() -> None:
    store = _store()
    store.write("sig/f.txt", b"signed body")
    url = store.url("sig/f.txt", expires=120)
    assert "X-Amz-Signature=" in url
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b"signed body"
    put = store.url("sig/up.txt", method="PUT")
    # moto needs a binary content type (a form type makes it consume the body).
    headers = {"Content-Type": "application/octet-stream"}
    req = urllib.request.Request(put, data=b"uploaded", method="PUT", headers=headers)
    with urllib.request.urlopen(req, timeout=30):
        pass
    assert store.read_bytes("sig/up.txt") == b"uploaded"


# spec: S3-084
@needs_server
def test_unreachable_endpoint_is_retryable() -> None:
    store = _store(endpoint_url="http://127.0.0.1:9", connect_timeout=2.0)
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("x.txt")
    assert info.value.retryable


# spec: S3-085
@needs_server
def test_listing_falls_back_on_names_obstore_cannot_hold() -> None:
    assert ENV is not None
    store = _store()
    store.write("l/a.txt", b"a")
    store.write("l/sub/b.txt", b"b")
    bucket = target().ensure_bucket(ENV)
    odd = object_key(store, "l/x") + "//y"  # an empty segment, as other tools may write
    target().boto3_client(ENV).put_object(Bucket=bucket, Key=odd, Body=b"")
    assert store.is_folder("l/x") and store.exists("l/x")  # the odd name is still there
    assert store.exists("l/a.txt") and store.exists("l/sub") and not store.exists("l/no")
    assert not store.is_folder("l/a.txt")
    names = sorted(i.path for i in store.list_files("l", recursive=True))
    assert names == ["l/a.txt", "l/sub/b.txt"]
    assert [e.name for e in store.iter_children("l")] == ["a.txt", "sub", "x"]


# spec: S3-086
@needs_server
def test_pickles_as_options_and_rebuilds_after_close() -> None:
    store = _store()
    store.write("p/f.txt", b"pickled")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.read_bytes("p/f.txt") == b"pickled"
    backend = store.unwrap(S3Backend)
    before = backend.unwrap_obstore()
    backend.close()
    assert store.read_bytes("p/f.txt") == b"pickled"
    assert backend.unwrap_obstore() is not before


def _child(store: Store, queue: Any) -> None:
    backend = store.unwrap(S3Backend)
    data = store.read_bytes("fork/parent.bin")
    store.write("fork/child.bin", Chunks(7), overwrite=True)
    queue.put((data, backend._obs is None))


# spec: S3-086
@needs_server
def test_forked_child_uses_the_botocore_lanes_and_does_not_hang() -> None:
    """obstore's runtime hangs in a forked child: the child's calls go through botocore."""
    store = _store(**SMALL)
    store.write("fork/parent.bin", b"parent")
    parent = store.unwrap(S3Backend).unwrap_obstore()
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
    assert store.read_bytes("fork/child.bin") == expected(7)
    assert store.unwrap(S3Backend).unwrap_obstore() is parent  # the parent keeps its store


_FRESH_CHILD = """
import os, sys
from storeroom.backends.s3 import S3Backend
b = S3Backend(**{opts!r})
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


# spec: S3-086
@needs_server
def test_child_forked_before_obstore_was_imported_uses_obstore() -> None:
    assert ENV is not None
    opts = target().options(ENV, target().ensure_bucket(ENV), engine="obstore")
    opts["key"], opts["secret"] = ENV["STOREROOM_TEST_S3_KEY"], ENV["STOREROOM_TEST_S3_SECRET"]
    code = _FRESH_CHILD.format(opts=opts)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "from the child"


# spec: S3-088
@needs_server
def test_benchmark_has_an_obstore_engine_column_in_every_obstore_row() -> None:
    """Every bench_s3 row with obstore also times storeroom-obstore, on the same data."""
    assert ENV is not None
    bench_dir = str(Path(__file__).resolve().parents[2] / "benchmarks")
    sys.path.insert(0, bench_dir)
    try:
        import bench_s3
    finally:
        sys.path.remove(bench_dir)
    env = {n: ENV[f"STOREROOM_TEST_S3_{n}"] for n in ("ENDPOINT", "KEY", "SECRET", "REGION")}
    fixture = bench_s3.Fixture(env, 3)
    bench_s3._same(fixture, 3)  # both columns see the same files before timing
    rows = bench_s3.cases(fixture)
    for _, label, variants, _ in rows:
        names = [v.name for v in variants]
        assert ("obstore" in names) == (bench_s3.SO in names), label
    engine = fixture.so.unwrap(S3Backend)
    assert engine.options.engine == "obstore"
    assert sum(bench_s3.SO in [v.name for v in r[2]] for r in rows) == len(rows)
