"""The ``pyarrow`` engine of the ``s3`` backend (spec S3-050..059), against the moto server.

The shared contract runs in the conformance suite (target ``s3-pyarrow``); this
file holds what is specific to the engine: the alias, option mapping, routing
between engines, aborting, the pyarrow error table, pickling and fork safety.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import pickle
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from s3_support import (
    ENV,
    SMALL,
    Chunks,
    MiB,
    expected,
    needs_server,
    object_key,
    s3_store,
    uploads,
)

from storeroom import Capability, Registry, RegistryConfig, Store
from storeroom.backends._requirements import missing_requirements
from storeroom.backends.s3._arrow_engine import (
    FIRST_BLOCK,
    MAX_BLOCK,
    ArrowRangeStream,
    arrow_options,
)
from storeroom.backends.s3.backend import S3Backend
from storeroom.backends.s3.config import S3Options, S3PyArrowOptions
from storeroom.backends.s3.errors import TABLE
from storeroom.config.secret import Secret
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    UnexpectedError,
)

_store = functools.partial(s3_store, type_="s3-pyarrow")


# -- configuration (no I/O) --------------------------------------------------------


# spec: S3-050
def test_alias_and_engine_option() -> None:
    """S3-050: type s3-pyarrow is type s3 with engine pyarrow; type_name stays 's3'."""
    config = {
        "backends": {
            "a": {"type": "s3-pyarrow", "options": {"bucket": "b1"}},
            "b": {"type": "s3", "options": {"bucket": "b1", "engine": "pyarrow"}},
            "c": {"type": "s3", "options": {"bucket": "b1"}},
        },
        "stores": {n: {"backend": n} for n in "abc"},
    }
    reg = Registry(RegistryConfig.from_dict(config))
    a, b, c = (reg.get_store(n).backend for n in "abc")
    for backend, engine in ((a, "pyarrow"), (b, "pyarrow"), (c, "s3fs")):
        assert backend.type_name == "s3"
        assert backend.describe()["engine"] == engine
    inner = S3Backend(bucket="b1", engine="pyarrow")
    assert isinstance(inner.options, S3Options) and inner.options.engine == "pyarrow"
    with pytest.raises(ConfigError, match="engine"):
        S3Options(bucket="b1", engine="boto")
    with pytest.raises(ConfigError, match="s3-pyarrow"):
        S3PyArrowOptions.parse({"bucket": "b1", "engine": "s3fs"})
    assert S3PyArrowOptions.parse({"bucket": "b1"}).engine == "pyarrow"


# spec: S3-051
def test_capabilities_stay_honest() -> None:
    """S3-051: same capabilities as s3fs minus WRITE_RESULT_NATIVE; no SEEKABLE_READ."""
    plain = S3Backend(bucket="b1")
    arrow = S3Backend(bucket="b1", engine="pyarrow")
    assert plain.capabilities - arrow.capabilities == {Capability.WRITE_RESULT_NATIVE}
    assert arrow.capabilities <= plain.capabilities
    assert Capability.SEEKABLE_READ not in arrow.capabilities
    assert Capability.LAZY_READ in arrow.capabilities
    assert Capability.WRITE_RESULT_NATIVE in S3Backend.capabilities  # the class is untouched
    with pytest.raises(CapabilityNotSupported):
        plain.unwrap_pyarrow()


# spec: S3-052, S3-002
def test_connection_options_map_and_stay_secret() -> None:
    """S3-052: options become S3FileSystem arguments; no secret in any repr."""
    opts = S3Options(
        bucket="b1",
        endpoint_url="https://minio.example:9000",
        key=Secret("AKIAEXAMPLE"),
        secret=Secret("s3cr3t-value"),
        token=Secret("tok-value"),
        region_name="eu-west-1",
        tls_ca_bundle="/etc/ca.pem",
        connect_timeout=3.0,
        read_timeout=7.0,
        engine="pyarrow",
    )
    kw = arrow_options(opts)
    assert kw["scheme"] == "https" and kw["endpoint_override"] == "minio.example:9000"
    assert kw["access_key"] == "AKIAEXAMPLE" and kw["secret_key"] == "s3cr3t-value"
    assert kw["session_token"] == "tok-value" and kw["region"] == "eu-west-1"
    assert kw["tls_ca_file_path"] == "/etc/ca.pem"
    assert kw["connect_timeout"] == 3.0 and kw["request_timeout"] == 7.0
    assert kw["allow_bucket_creation"] is False
    assert kw["background_writes"] is False  # one part in memory, not the whole upload
    assert arrow_options(S3Options(bucket="b1", anon=True))["anonymous"] is True
    backend = S3Backend.from_options(opts)
    for text in (repr(opts), repr(backend), repr(backend.describe())):
        assert "s3cr3t-value" not in text and "tok-value" not in text
    bundle = {"client_kwargs": {"verify": "/etc/other-ca.pem"}}
    assert arrow_options(S3Options(bucket="b1", client_options=bundle))["tls_ca_file_path"] == (
        "/etc/other-ca.pem"
    )
    with pytest.raises(ConfigError, match="always verifies TLS"):
        S3Backend(
            bucket="b1", engine="pyarrow", client_options={"client_kwargs": {"verify": False}}
        )
    S3Backend(bucket="b1", client_options={"client_kwargs": {"verify": False}})  # s3fs: allowed
    with pytest.raises(ConfigError, match="no path"):
        S3Backend(bucket="b1", endpoint_url="http://host:9000/prefix", engine="pyarrow")


# spec: S3-050
def test_missing_pyarrow_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3-050: without pyarrow the engine is refused at build time with the pip line."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError) as info:
        S3Backend(bucket="b1", engine="pyarrow")
    assert 'pip install "storeroom[s3,arrow]"' in str(info.value)
    assert S3Backend(bucket="b1").options.engine == "s3fs"  # the default engine needs none
    needs = missing_requirements("s3", {"bucket": "b1", "engine": "pyarrow"})
    assert [m.module for m in needs] == ["pyarrow"]
    assert "pyarrow" in [m.module for m in missing_requirements("s3-pyarrow", {})]
    assert missing_requirements("s3", {"bucket": "b1"}) == []


# spec: S3-054
@pytest.mark.parametrize(
    ("message", "cls", "retryable"),
    [
        ("AWS Error ACCESS_DENIED during GetObject operation: no", PermissionDenied, False),
        ("AWS Error NO_SUCH_BUCKET during CreateMultipartUpload operation: x", NotFound, False),
        (
            "AWS Error NETWORK_CONNECTION during HeadObject operation: curl",
            BackendUnavailable,
            True,
        ),
        ("AWS Error SLOW_DOWN during UploadPart operation: x", BackendUnavailable, True),
        ("AWS Error UNKNOWN (HTTP status 412) during PutObject operation: x", AlreadyExists, False),
        (
            "AWS Error UNKNOWN (HTTP status 503) during GetObject operation: x",
            BackendUnavailable,
            True,
        ),
        ("AWS Error INVALID_PARAMETER_VALUE during GetObject operation: x", InvalidArgument, False),
        ("Cannot read past end of file", UnexpectedError, False),
    ],
)
def test_pyarrow_error_table(message: str, cls: type, retryable: bool) -> None:
    """S3-054: pyarrow's OSErrors map by the AWS error name (or HTTP status) only."""
    exc = OSError(f"When reading key 'k' in bucket 'b': {message}")
    err = TABLE.map(exc, "a/k.bin", operation="read", bucket="b")
    assert type(err) is cls and err.retryable is retryable
    assert err.path == "a/k.bin" and err.backend == "s3"
    assert "curl" not in str(err) and ": no" not in str(err)  # never the SDK's own text


# spec: S3-054
def test_pyarrow_error_table_reads_only_the_phrase() -> None:
    """S3-054: a key that looks like an error name decides nothing; errno errors still map."""
    fooled = OSError("Path 'AWS Error ACCESS_DENIED' does not exist")
    assert TABLE.lookup(fooled)[0] is None
    assert type(TABLE.map(FileNotFoundError(2, "Path does not exist"), "k")) is NotFound


# -- against the server --------------------------------------------------------------


# spec: S3-055
@needs_server
def test_reads_are_lazy_ranged_and_complete() -> None:
    """S3-055: open_read is one HEAD, then ranged GETs in growing blocks."""
    store = _store()
    data = os.urandom(3 * MiB + 17)
    store.write("r.bin", data)
    backend = store.unwrap(S3Backend)
    with backend.open_read(object_key(store, "r.bin")) as stream:
        assert stream.read(10) == data[:10]
        raw = stream.raw  # type: ignore[attr-defined]
        assert raw._pos <= FIRST_BLOCK  # lazy: one small block fetched, not the file
        assert stream.read() == data[10:]
    assert store.read_bytes("r.bin") == data
    assert store.read_range("r.bin", MiB - 3, 2 * MiB + 5) == data[MiB - 3 : 2 * MiB + 5]
    assert store.read_range("r.bin", len(data) + 5, len(data) + 9) == b""
    with backend.open_read(object_key(store, "r.bin"), 10, None) as stream:
        chunks = []
        while block := stream.read(700_000):
            chunks.append(block)
    assert b"".join(chunks) == data[10:]
    with store.read_seekable("r.bin") as f:
        f.seek(2 * MiB)
        assert f.read(4) == data[2 * MiB : 2 * MiB + 4]
    with pytest.raises(NotFound) as info:
        store.read_bytes("missing.bin")
    assert info.value.path == "missing.bin" and info.value.backend == "s3"


# spec: S3-055
@needs_server
def test_sequential_reads_take_few_large_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3-055: 1 MiB reads of 50 MiB take 5 GETs; read_bytes and read_range take one."""
    sizes: list[int] = []
    fetch = ArrowRangeStream._fetch

    def counting(self: ArrowRangeStream, size: int) -> Any:
        sizes.append(size)
        return fetch(self, size)

    monkeypatch.setattr(ArrowRangeStream, "_fetch", counting)
    store = _store()
    data = os.urandom(50 * MiB + 5)
    store.write("seq.bin", data, overwrite=True)
    with store.read("seq.bin") as stream:
        chunks = []
        while chunk := stream.read(MiB):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    assert MiB * 24 == MAX_BLOCK
    assert sizes == [MiB, 4 * MiB, 16 * MiB, 24 * MiB, 5 * MiB + 5]  # at most one block held
    sizes.clear()
    assert store.read_bytes("seq.bin") == data
    assert store.read_range("seq.bin", 3, 40 * MiB) == data[3 : 40 * MiB]
    assert sizes == [len(data), 40 * MiB - 3]  # the caller holds it all: one GET each


# spec: S3-055
@needs_server
def test_a_file_changed_mid_stream_is_an_error_not_a_mix() -> None:
    """S3-055: ranged GETs are separate snapshots; a change under the stream is reported."""
    store = _store()
    backend = store.unwrap(S3Backend)
    old = b"o" * (3 * MiB)
    for new in (b"n" * (3 * MiB), b"n" * (2 * MiB)):  # same size, then shorter
        store.write("c.bin", old, overwrite=True)
        with backend.open_read(object_key(store, "c.bin")) as stream:
            assert stream.read(10) == b"o" * 10
            store.write("c.bin", new, overwrite=True)
            with pytest.raises(BackendUnavailable, match="changed") as info:
                stream.read()
        assert info.value.retryable and info.value.path == object_key(store, "c.bin")
    store.write("c.bin", old, overwrite=True)
    assert store.read_bytes("c.bin") == old  # unchanged: no error (one GET, no extra HEAD)


# spec: S3-053, S3-011
@needs_server
def test_write_routing_between_engines() -> None:
    """S3-053: large overwrites go through Arrow; create-only and metadata writes do not."""
    store = _store(**SMALL)
    through_arrow = store.write("big.bin", Chunks(7), overwrite=True)
    assert through_arrow.size == 7 * MiB and through_arrow.etag is None  # Arrow: no ETag
    assert store.read_bytes("big.bin") == expected(7)
    again = store.write("big.bin", Chunks(6), overwrite=True)
    assert again.size == 6 * MiB and store.get_file_info("big.bin").size == 6 * MiB
    with pytest.raises(AlreadyExists):  # create-only: the conditional botocore path
        store.write("big.bin", Chunks(7))
    created = store.write("new.bin", Chunks(7))
    assert created.etag is not None and created.etag.endswith("-2")  # s3fs multipart
    meta = store.write("meta.bin", Chunks(7), overwrite=True, metadata={"origin": "lab"})
    assert meta.etag is not None
    assert store.get_file_info("meta.bin").metadata == {"origin": "lab"}
    small = store.write("small.bin", b"tiny", overwrite=True)
    assert small.etag is not None  # one PUT, as with the s3fs engine


# spec: S3-056
@needs_server
def test_failed_arrow_write_leaves_no_object_and_no_upload() -> None:
    """S3-056: a source error mid-write aborts Arrow's upload; nothing appears."""
    store = _store(**SMALL)
    key = object_key(store, "broken.bin")
    with pytest.raises(OSError, match="source broke") as info:
        store.write("broken.bin", Chunks(30, fail_at=20), overwrite=True)
    assert type(info.value) is OSError
    assert not store.exists("broken.bin")
    assert uploads(key) == []
    store.write("broken.bin", b"old", overwrite=True)
    with pytest.raises(OSError, match="source broke"):
        store.write("broken.bin", Chunks(12, fail_at=9), overwrite=True)
    assert store.read_bytes("broken.bin") == b"old"  # the previous object is untouched
    assert uploads(key) == []


# spec: S3-054, S3-052
@needs_server
def test_unreachable_endpoint_through_arrow() -> None:
    """S3-054: a refused port is a retryable BackendUnavailable naming key and store."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    store = _store(bucket="some-bucket", endpoint_url=f"http://127.0.0.1:{port}", connect_timeout=1)
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        store.read_bytes("x.bin")
    assert time.monotonic() - t0 < 5
    assert info.value.retryable and info.value.store == "s" and info.value.path == "x.bin"
    assert "NETWORK_CONNECTION" in str(info.value)
    assert ENV is not None and ENV["STOREROOM_TEST_S3_SECRET"] not in str(info.value)


# spec: S3-057
@needs_server
def test_pickles_by_configuration() -> None:
    """S3-057: a pickled store rebuilds with the same engine and reads."""
    store = _store()
    store.write("p.bin", b"pickled")
    assert store.read_bytes("p.bin") == b"pickled"  # the engine's filesystem exists now
    copy = pickle.loads(pickle.dumps(store))
    assert copy.backend.describe()["engine"] == "pyarrow"
    assert copy.read_bytes("p.bin") == b"pickled"
    store.close()
    assert store.read_bytes("p.bin") == b"pickled"  # close() then reuse rebuilds


def _child(store: Store, parent_fs_id: int, queue: Any) -> None:
    data = store.read_bytes("fork/parent.bin")
    store.write("fork/child.bin", Chunks(7), overwrite=True)
    fresh = store.unwrap(S3Backend).unwrap_pyarrow()
    queue.put((data, id(fresh) != parent_fs_id))


# spec: S3-058
@needs_server
def test_fork_builds_a_fresh_filesystem() -> None:
    """S3-058: a child of fork() builds its own S3FileSystem; the parent keeps working."""
    store = _store(**SMALL)
    store.write("fork/parent.bin", b"parent")
    assert store.read_bytes("fork/parent.bin") == b"parent"
    parent_fs = store.unwrap(S3Backend).unwrap_pyarrow()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(store, id(parent_fs), queue))
    proc.start()
    proc.join(60)
    if proc.is_alive():
        proc.kill()
        pytest.fail("the forked child hung")
    assert proc.exitcode == 0
    assert queue.get(timeout=5) == (b"parent", True)
    assert store.read_bytes("fork/child.bin") == expected(7)
    assert store.unwrap(S3Backend).unwrap_pyarrow() is parent_fs


# spec: S3-059
@needs_server
def test_engine_benchmark_runs_and_reports(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine benchmark reads the object through both engines and prints its checks."""
    bench_dir = str(Path(__file__).resolve().parents[2] / "benchmarks")
    sys.path.insert(0, bench_dir)
    try:
        import bench_s3_pyarrow
    finally:
        sys.path.remove(bench_dir)
    out = tmp_path / "engines.json"
    assert bench_s3_pyarrow.main(["--size-mib", "2", "--rounds", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ratio" in text and "RSS growth" in text
    assert sum(line.startswith(("PASS: ", "FAIL: ")) for line in text.splitlines()) == 3
    summary = json.loads(out.read_text())
    for direction in ("read", "write"):
        assert summary[direction]["ratio"] > 0
        assert summary[direction]["s3-pyarrow"]["median_seconds"] > 0
