"""Tests specific to the ``s3`` backend, against moto servers (spec 42-backend-s3.md).

The shared moto server comes from ``scripts/services up s3``. Tests that stop a
server or need one with authentication start a private moto of their own (same
launcher, another port), so the shared server is never disturbed.
"""

from __future__ import annotations

import asyncio
import errno
import os
import pickle
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")

import botocore.exceptions as bx
from s3_support import ENV, Chunks, MiB, client, expected, needs_server, s3_store, target

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.s3._transfer import RELAY_MAX
from storeroom.backends.s3.backend import S3Backend
from storeroom.backends.s3.config import S3Options
from storeroom.backends.s3.errors import TABLE
from storeroom.config.secret import Secret
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    UnexpectedError,
)

ROOT = Path(__file__).resolve().parents[2]
_store = s3_store
_client = client
_target = target
_expected = expected


# -- options and error table (no server) ------------------------------------------


def test_options_validate_and_mask_secrets() -> None:
    """S3-001, S3-002: typed options, unknown keys rejected, secrets masked."""
    opts = S3Options.parse({"bucket": "b", "key": "AKIAEXAMPLE", "secret": "s3cr3t-value"})
    assert isinstance(opts.secret, Secret)
    assert "s3cr3t-value" not in repr(opts) and "AKIAEXAMPLE" not in repr(opts)
    backend = S3Backend.from_options(opts)
    assert "s3cr3t-value" not in repr(backend)
    assert backend.native_path("a/b.txt") == "s3://b/a/b.txt"
    with pytest.raises(ConfigError, match="bucket"):
        S3Options.parse({"buckett": "b"})
    with pytest.raises(ConfigError, match="key/secret"):
        S3Options.parse({"bucket": "b", "key": "only-key"})
    with pytest.raises(ConfigError, match="use_listings_cache"):
        S3Options.parse({"bucket": "b", "use_listings_cache": True})
    with pytest.raises(ConfigError, match="part_size"):
        S3Options.parse({"bucket": "b", "part_size": 1024})
    with pytest.raises(ConfigError, match="retry"):
        S3Options.parse({"bucket": "b", "retry": {"max_attempts": 0}})
    with pytest.raises(ConfigError, match="bucket"):
        S3Options.parse({"bucket": "b/prefix"})
    assert S3Options.parse({"bucket": "b", "retry": {"max_attempts": 5}}).retry_policy is not None
    assert pickle.loads(pickle.dumps(backend)).options == opts


def _client_error(code: str, status: int) -> bx.ClientError:
    return bx.ClientError(
        {
            "Error": {"Code": code, "Message": "SDK-TEXT"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "Op",
    )


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        (_client_error("NoSuchKey", 404), NotFound, False),
        (_client_error("404", 404), NotFound, False),
        (_client_error("", 404), NotFound, False),
        (_client_error("AccessDenied", 403), PermissionDenied, False),
        (_client_error("403", 403), PermissionDenied, False),
        (_client_error("InvalidAccessKeyId", 403), PermissionDenied, False),
        (_client_error("SignatureDoesNotMatch", 403), PermissionDenied, False),
        (_client_error("PreconditionFailed", 412), AlreadyExists, False),
        (_client_error("412", 412), AlreadyExists, False),
        (_client_error("SlowDown", 503), BackendUnavailable, True),
        (_client_error("InternalError", 500), BackendUnavailable, True),
        (_client_error("Whatever", 502), BackendUnavailable, True),
        (_client_error("Throttling", 400), BackendUnavailable, True),
        (_client_error("InvalidRange", 416), InvalidArgument, False),
        (_client_error("SomethingNew", 418), UnexpectedError, False),
        (bx.EndpointConnectionError(endpoint_url="http://x"), BackendUnavailable, True),
        (bx.ConnectTimeoutError(endpoint_url="http://x"), BackendUnavailable, True),
        (bx.ReadTimeoutError(endpoint_url="http://x"), BackendUnavailable, True),
        (bx.NoCredentialsError(), PermissionDenied, False),
        (TimeoutError(), BackendUnavailable, True),
        (ConnectionResetError(), BackendUnavailable, True),
        (FileNotFoundError(errno.ENOENT, "x"), NotFound, False),  # s3fs's translation
        (PermissionError(errno.EACCES, "x"), PermissionDenied, False),
        (OSError(errno.ECONNREFUSED, "x"), BackendUnavailable, True),
        (OSError(errno.EINVAL, "x"), UnexpectedError, False),
        (RuntimeError("boom"), UnexpectedError, False),
    ],
)
def test_error_table(exc: BaseException, cls: type, retryable: bool) -> None:
    """S3-020: one table maps codes, statuses, types and errnos; never message text."""
    err = TABLE.map(exc, "a/b.txt", operation="read", bucket="bk")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.path == "a/b.txt" and err.backend == "s3"
    assert "SDK-TEXT" not in str(err)  # the SDK's message text is not copied


def test_error_table_ignores_message_text() -> None:
    """S3-020: the same message with another code classifies by the code alone."""
    a = _client_error("NoSuchKey", 404)
    a.response["Error"]["Message"] = "Access Denied"
    assert TABLE.lookup(a)[0] is not None and TABLE.lookup(a)[0][0] is NotFound


def test_timestamps_parse_like_botocore() -> None:
    """S3-030: listings' ISO 8601 times parse without dateutil, to the same instant."""
    from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

    from storeroom.backends.s3._conn import _session, _timestamp

    for text in (
        "2026-12-03T07:14:09.000Z",
        "2026-12-03T07:14:09.123456Z",
        "2026-02-28T23:59:59Z",
        "Wed, 03 Dec 2026 07:14:09 GMT",  # an HTTP date (HEAD): botocore's parser
        "1764746049",
    ):
        ours, theirs = _timestamp(text), DEFAULT_TIMESTAMP_PARSER(text)
        assert ours == theirs and ours.utcoffset() == theirs.utcoffset()
    factory = _session(None).get_component("response_parser_factory")
    assert factory.create_parser("rest-xml")._timestamp_parser is _timestamp


# -- behaviour on the shared server -------------------------------------------------


@needs_server
def test_create_only_multipart_race_has_one_winner() -> None:
    """S3-011: the multipart completion is conditional too."""
    store = _store(part_size=5 * MiB, multipart_threshold=0)
    key = store.native_path("mp-race.bin").split("/", 3)[3]
    client = _client()
    bucket = _target().ensure_bucket(ENV)
    # Another writer creates the object after our existence check, while ours
    # is uploading its parts: only the conditional completion can catch it.
    hook = lambda served: served == 8 and client.put_object(Bucket=bucket, Key=key, Body=b"x")  # noqa: E731
    with pytest.raises(AlreadyExists):
        store.write("mp-race.bin", Chunks(12, hook=hook))
    assert store.read_bytes("mp-race.bin") == b"x"
    assert _uploads(key) == []


def _uploads(key: str) -> list[Any]:
    bucket = _target().ensure_bucket(ENV)
    resp = _client().list_multipart_uploads(Bucket=bucket, Prefix=key)
    return list(resp.get("Uploads") or [])


@needs_server
def test_multipart_streaming_write() -> None:
    """S3-012: a stream above the part size goes up in parts, read back whole."""
    store = _store(part_size=5 * MiB, multipart_threshold=5 * MiB)
    result = store.write("big.bin", Chunks(12))
    assert result.size == 12 * MiB
    assert result.etag is not None and result.etag.endswith("-3")  # three parts
    assert store.read_bytes("big.bin") == _expected(12)
    assert store.get_file_info("big.bin").size == 12 * MiB
    assert store.read_range("big.bin", 5 * MiB - 2, 5 * MiB + 2) == b"EEFF"


@needs_server
def test_multipart_aborted_on_failing_source() -> None:
    """S3-013: a source error propagates unchanged; no object, no dangling upload."""
    store = _store(part_size=5 * MiB, multipart_threshold=5 * MiB)
    key = store.native_path("broken.bin").split("/", 3)[3]
    with pytest.raises(OSError, match="source broke") as info:
        store.write("broken.bin", Chunks(20, fail_at=11))
    assert type(info.value) is OSError
    assert not store.exists("broken.bin")
    assert _uploads(key) == []


@needs_server
def test_write_results_carry_the_etag() -> None:
    """S3-015: the ETag of a write is the one of head and listings (ranges: conformance)."""
    store = _store()
    result = store.write("r.bin", b"0123456789", metadata={"owner": "alice"})
    assert result.etag and result.size == 10
    info = store.get_file_info("r.bin")
    assert info.etag == result.etag and dict(info.metadata or {}) == {"owner": "alice"}
    assert [f.etag for f in store.list_files("")] == [result.etag]


@needs_server
def test_version_id_on_versioned_bucket() -> None:
    """S3-015: version ids of a versioned bucket reach WriteResult."""
    assert ENV is not None
    bucket = _target().ensure_bucket(ENV, f"storeroom-v-{uuid.uuid4().hex[:8]}", versioned=True)
    store = _store(bucket)
    first = store.write("v.bin", b"1")
    second = store.write("v.bin", b"2", overwrite=True)
    assert first.version_id and second.version_id and first.version_id != second.version_id


@needs_server
def test_server_side_copy_keeps_metadata() -> None:
    """S3-016: copy is server side and keeps user metadata."""
    store = _store()
    store.write("c/src.bin", b"copy me", metadata={"tag": "t"})
    store.copy("c/src.bin", "c/dst.bin")
    assert store.read_bytes("c/dst.bin") == b"copy me"
    assert dict(store.get_file_info("c/dst.bin").metadata or {}) == {"tag": "t"}


@needs_server
def test_create_only_copy_relays_small_objects() -> None:
    """S3-016: a create-only copy up to RELAY_MAX bytes is a GET and a conditional PUT
    (a plain MD5 ETag); a larger one is a one-part multipart copy (an ETag ending in
    ``-1``). Both keep content, metadata and content type and refuse an existing target.
    """
    store = _store()
    bucket, root = store.unwrap(S3Backend).bucket, store.root_path
    client = _client()
    small, big = b"s" * 1000, os.urandom(RELAY_MAX + 1)
    for name, data in (("small", small), ("big", big)):
        client.put_object(
            Bucket=bucket,
            Key=f"{root}/{name}.bin",
            Body=data,
            ContentType="application/x-test",
            Metadata={"tag": name},
        )
        store.copy(f"{name}.bin", f"{name}-copy.bin")
        head = client.head_object(Bucket=bucket, Key=f"{root}/{name}-copy.bin")
        assert store.read_bytes(f"{name}-copy.bin") == data
        assert head["ContentType"] == "application/x-test"
        assert head["Metadata"] == {"tag": name}
        assert head["ETag"].strip('"').endswith("-1") is (name == "big")
        store.write(f"{name}-taken.bin", b"taken")
        with pytest.raises(AlreadyExists):
            store.copy(f"{name}.bin", f"{name}-taken.bin")
        assert store.read_bytes(f"{name}-taken.bin") == b"taken"
    with pytest.raises(NotFound):
        store.copy("absent.bin", "absent-copy.bin")
    assert not store.exists("absent-copy.bin")


@needs_server
def test_sync_calls_inside_a_running_event_loop() -> None:
    """S3-030: a fresh store used synchronously from async code (a notebook cell, an
    async web handler) builds its connections and works; the loop is not blocked for good.
    """
    store = _store()

    async def main() -> tuple[bytes, bool]:
        store.write("loop/a.bin", b"from async code")
        ticks = asyncio.create_task(asyncio.sleep(0))
        data = store.read_bytes("loop/a.bin")
        await ticks
        return data, store.exists("loop/a.bin")

    assert asyncio.run(main()) == (b"from async code", True)


@needs_server
def test_fork_safety() -> None:
    """S3-030: a backend used in the parent works in a forked child, and after it."""
    store = _store()
    store.write("fork/parent.bin", b"parent")
    pid = os.fork()
    if pid == 0:  # child: must not hang on the parent's dead event loop thread
        code = 1
        try:
            signal.alarm(30)
            store.write("fork/child.bin", b"child")
            ok = store.read_bytes("fork/parent.bin") == b"parent"
            code = 0 if ok and store.exists("fork/child.bin") else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.read_bytes("fork/child.bin") == b"child"


@needs_server
def test_close_then_reuse_and_pickle() -> None:
    """S3-031: close() is idempotent; the backend reconnects lazily."""
    store = _store()
    store.write("p.bin", b"x")
    store.close()
    store.close()
    assert store.read_bytes("p.bin") == b"x"
    assert pickle.loads(pickle.dumps(store)).read_bytes("p.bin") == b"x"


@needs_server
def test_unreachable_endpoint_is_backend_unavailable_within_timeout() -> None:
    """S3-021: a refused port and a server that never answers fail within the timeout.

    The silent server is a socket that listens but never accepts: the kernel
    completes the TCP handshake, so this checks ``read_timeout``. (Outbound
    traffic to a blackhole address is intercepted on the test machine, so a
    connect timeout cannot be provoked reliably.)
    """
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        for port in (closed_port, silent.getsockname()[1]):
            store = _store(
                "some-bucket",
                endpoint_url=f"http://127.0.0.1:{port}",
                connect_timeout=1.0,
                read_timeout=1.5,
            )
            t0 = time.monotonic()
            with pytest.raises(BackendUnavailable) as info:
                store.read_bytes("x.bin")
            assert time.monotonic() - t0 < 5
            assert info.value.retryable and info.value.store == "s"
            assert ENV is not None and ENV["STOREROOM_TEST_S3_SECRET"] not in str(info.value)
    finally:
        silent.close()


# -- private moto servers (wrong credentials, server stopped) -----------------------


def _tools_python() -> str:
    base = Path(os.environ.get("STOREROOM_SERVICES_DIR", ROOT / ".services"))
    py = base / "tools-venv" / "bin" / "python"
    if not py.exists():
        pytest.fail(f"moto is not installed in {py.parent}; run `scripts/services up s3`")
    return str(py)


class Moto:
    """A private moto server on its own port (same launcher as scripts/services)."""

    def __init__(self, **env: str) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env = {**os.environ, **env}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Moto:
        launcher = ROOT / "scripts" / "services.d" / "_s3_moto.py"
        self.proc = subprocess.Popen(
            [_tools_python(), str(launcher), "-H", "127.0.0.1", "-p", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("private moto server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def client(self, **kw: Any) -> Any:
        import boto3

        args = {"aws_access_key_id": "x", "aws_secret_access_key": "y", **kw}
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", **args)


@pytest.fixture
def moto() -> Iterator[Moto]:
    server = Moto()
    server.start()
    yield server
    server.stop()


def _moto_store(server: Moto, bucket: str, **opts: Any) -> Store:
    base = {"endpoint_url": server.url, "key": "x", "secret": "y", "region_name": "us-east-1"}
    config = {
        "backends": {"b": {"type": "s3", "options": {"bucket": bucket, **base, **opts}}},
        "stores": {"faulty": {"backend": "b", "root_path": "r"}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("faulty")


@needs_server
def test_wrong_credentials_are_permission_denied() -> None:
    """S3-022: with moto's authentication on, a bad key or secret is PermissionDenied.

    moto accepts any credentials unless ``INITIAL_NO_AUTH_ACTION_COUNT`` is set:
    then, after that many unauthenticated requests, it checks keys of its own IAM.
    The first four requests create an IAM user, its key, its policy and the bucket.
    """
    server = Moto(INITIAL_NO_AUTH_ACTION_COUNT="4").start()
    try:
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=server.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
        )
        iam.create_user(UserName="tester")
        made = iam.create_access_key(UserName="tester")["AccessKey"]
        policy = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
        )
        iam.put_user_policy(UserName="tester", PolicyName="all", PolicyDocument=policy)
        server.client().create_bucket(Bucket="auth")
        good = {"key": made["AccessKeyId"], "secret": made["SecretAccessKey"]}
        _moto_store(server, "auth", **good).write("ok.bin", b"ok")
        for bad in (
            {"key": "AKIAWRONGWRONGWRONG0", "secret": "wrong-secret-value"},
            {"key": made["AccessKeyId"], "secret": "wrong-secret-value"},
        ):
            store = _moto_store(server, "auth", **bad)
            for method, args in (("read_bytes", ("ok.bin",)), ("write", ("n.bin", b"n"))):
                with pytest.raises(PermissionDenied) as info:
                    getattr(store, method)(*args)
                text = str(info.value)
                assert "backend='s3'" in text and "store='faulty'" in text
                assert "wrong-secret-value" not in text and "wrong-secret-value" not in repr(store)
                assert not info.value.retryable
    finally:
        server.stop()


def _write_while(server: Moto, store: Store, action: Any) -> BaseException:
    """Stream 12 MiB in 5 MiB parts; run ``action`` when the third part is read."""
    hook = lambda served: served == 10 and action()  # noqa: E731
    with pytest.raises(BackendUnavailable) as info:
        store.write("victim.bin", Chunks(12, hook=hook))
    return info.value


@needs_server
def test_server_stopped_mid_write_then_restarted(moto: Moto) -> None:
    """S3-023: killed server → retryable BackendUnavailable; restarted → same Store works.

    moto keeps its state in memory, so the restarted server is empty and the
    test creates the bucket again; the Store itself is not rebuilt.
    """
    moto.client().create_bucket(Bucket="faults")
    store = _moto_store(moto, "faults", part_size=5 * MiB, multipart_threshold=5 * MiB)
    store.write("before.bin", b"before")
    err = _write_while(moto, store, moto.stop)
    assert err.retryable and err.path == "victim.bin" and err.store == "faulty"
    moto.start()
    moto.client().create_bucket(Bucket="faults")
    assert not store.exists("victim.bin")
    store.write("after.bin", b"after")
    assert store.read_bytes("after.bin") == b"after"


@needs_server
def test_server_frozen_mid_write_leaves_no_object(moto: Moto) -> None:
    """S3-023: a server that stops answering (SIGSTOP) times out; state survives, no object."""
    client = moto.client()
    client.create_bucket(Bucket="frozen")
    store = _moto_store(
        moto,
        "frozen",
        part_size=5 * MiB,
        multipart_threshold=5 * MiB,
        read_timeout=2.0,
        request_timeout=3.0,
    )
    assert moto.proc is not None
    pid = moto.proc.pid
    t0 = time.monotonic()
    try:
        err = _write_while(moto, store, lambda: os.kill(pid, signal.SIGSTOP))
    finally:
        os.kill(pid, signal.SIGCONT)
    assert err.retryable and time.monotonic() - t0 < 30
    assert not store.exists("victim.bin")
    assert "Contents" not in client.list_objects_v2(Bucket="frozen", Prefix="r/victim")
    store.write("victim.bin", b"works again")
    assert store.read_bytes("victim.bin") == b"works again"
