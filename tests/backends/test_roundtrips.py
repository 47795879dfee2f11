"""Round trips of ``exists`` and ``delete`` on S3 and Azure, counted on the real test servers.

Requests are recorded from the SDKs' own hooks (botocore events on the s3fs
lane's client, the Azure pipeline's ``raw_request_hook``): which requests were
sent, and for S3 ``exists`` that both were in flight before either answered.
"""

from __future__ import annotations

import gc
import logging
import socket
import sys
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from services_support import service_env
from storeroom import Store
from storeroom.backends.s3.backend import S3Backend
from storeroom.errors import BackendUnavailable, NotFound

S3_ENV = service_env(
    "s3",
    "STOREROOM_TEST_S3_ENDPOINT",
    "STOREROOM_TEST_S3_KEY",
    "STOREROOM_TEST_S3_SECRET",
    "STOREROOM_TEST_S3_REGION",
)
AZ_ENV = service_env("azure", "STOREROOM_TEST_AZURE_CONNECTION_STRING")
needs_s3 = pytest.mark.skipif(S3_ENV is None, reason="no S3 test server")
needs_azure = pytest.mark.skipif(AZ_ENV is None, reason="no Azure test server")


# -- S3 -------------------------------------------------------------------------------


class _Log:
    """botocore events of one lane's client: ``("send", op)`` and ``("done", op)``."""

    def __init__(self, backend: S3Backend) -> None:
        self.events: list[tuple[str, str]] = []
        lane, epoch = backend._conn.acquire()
        events = lane.client.meta.events
        events.register("before-send.s3", self._send)
        events.register("after-call.s3", self._done)
        backend._conn.release(lane, epoch)  # the only lane: every call below reuses it

    def _send(self, event_name: str, **_: Any) -> None:
        self.events.append(("send", event_name.rsplit(".", 1)[-1]))

    def _done(self, event_name: str, **_: Any) -> None:
        self.events.append(("done", event_name.rsplit(".", 1)[-1]))

    def take(self) -> list[tuple[str, str]]:
        out, self.events = self.events, []
        return out


@pytest.fixture(params=["s3fs", "pyarrow"])
def s3(request: pytest.FixtureRequest) -> Iterator[tuple[S3Backend, str, _Log]]:
    assert S3_ENV is not None
    target = sys.modules["storeroom_service_target_s3"]
    bucket = target.ensure_bucket(S3_ENV)
    backend = S3Backend(**target.options(S3_ENV, bucket, engine=request.param))
    root = uuid.uuid4().hex
    backend.write(f"{root}/f.txt", b"1")
    backend.write(f"{root}/d/inner.txt", b"2")
    backend.write(f"{root}/k-1", b"3")
    log = _Log(backend)
    yield backend, root, log
    backend.close()


def _sent(events: list[tuple[str, str]]) -> list[str]:
    return sorted(op for kind, op in events if kind == "send")


@needs_s3
def test_s3_exists_sends_head_and_listing_together(s3: tuple[S3Backend, str, _Log]) -> None:
    """spec: S3-044 — a miss sends HEAD and one-key LIST, both before either answers."""
    backend, root, log = s3
    for key, want in (("f.txt", True), ("d", True), ("k", False), ("nope/deeper", False)):
        assert backend.exists(f"{root}/{key}") is want, key
        events = log.take()
        assert _sent(events) == ["HeadObject", "ListObjectsV2"], (key, events)
        assert [kind for kind, _ in events[:2]] == ["send", "send"], (key, events)
    assert backend.exists("") is True and log.take() == []


@needs_s3
def test_s3_exists_hit_does_not_wait_for_the_listing(s3: tuple[S3Backend, str, _Log]) -> None:
    """spec: S3-044 — a HEAD hit answers at once; the listing finishes on the lane later."""
    backend, root, log = s3
    assert backend.exists(f"{root}/f.txt")
    first = log.take()
    assert ("done", "HeadObject") in first
    backend.stat(f"{root}/f.txt")  # the next call on the lane lets the listing finish
    later = first + log.take()
    assert later.count(("done", "ListObjectsV2")) <= 1
    backend.close()  # a listing still pending is cancelled quietly, never left behind
    assert backend.exists(f"{root}/d")  # and the backend reconnects afterwards


@needs_s3
def test_s3_exists_failures_are_mapped_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    """spec: S3-044 — a HEAD 404 with a failed listing raises the listing's error; a refused
    connection fails both requests: one mapped error, no unread task failure logged."""
    assert S3_ENV is not None
    target = sys.modules["storeroom_service_target_s3"]
    no_bucket = S3Backend(**target.options(S3_ENV, f"gone-{uuid.uuid4().hex[:12]}"))
    with pytest.raises(NotFound, match="bucket"):
        no_bucket.exists("a")  # HEAD: 404 (like a miss); listing: NoSuchBucket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    refused = S3Backend(
        **target.options(S3_ENV, "b", endpoint_url=f"http://127.0.0.1:{port}", connect_timeout=1)
    )
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for _ in range(3):
            with pytest.raises(BackendUnavailable) as info:
                refused.exists("a")
            assert info.value.retryable
        refused.close()
        gc.collect()
    assert [r for r in caplog.records if r.name == "asyncio"] == []


@needs_s3
def test_s3_delete_hit_miss_and_folder(s3: tuple[S3Backend, str, _Log]) -> None:
    """spec: S3-045 — HEAD then DELETE; a miss (or a folder-only prefix) is NotFound, no DELETE."""
    backend, root, log = s3
    backend.delete(f"{root}/f.txt")
    assert [e for e in log.take() if e[0] == "send"] == [
        ("send", "HeadObject"),
        ("send", "DeleteObject"),
    ]
    assert not backend.exists(f"{root}/f.txt")
    log.take()
    for key in ("f.txt", "d", "nope"):
        with pytest.raises(NotFound):
            backend.delete(f"{root}/{key}")
        assert _sent(log.take()) == ["HeadObject"], key
    assert backend.exists(f"{root}/d/inner.txt")


@needs_s3
def test_s3_discard_is_one_delete(s3: tuple[S3Backend, str, _Log]) -> None:
    """spec: S3-046 — ``discard`` (``delete(missing_ok=True)``) is one DELETE, hit or miss."""
    backend, root, log = s3
    backend.discard(f"{root}/k-1")
    backend.discard(f"{root}/k-1")
    backend.discard(f"{root}/d")  # a folder-only prefix: nothing deleted below it
    assert _sent(log.take()) == ["DeleteObject"] * 3
    assert not backend.exists(f"{root}/k-1") and backend.exists(f"{root}/d/inner.txt")


@needs_s3
def test_s3_store_delete_missing_ok_skips_the_check(s3: tuple[S3Backend, str, _Log]) -> None:
    """spec: S3-046 — through a Store (context layer included) the flag reaches the backend."""
    backend, root, log = s3
    store = Store(backend, root_path=root)
    store.delete("f.txt", missing_ok=True)
    store.delete("gone", missing_ok=True)
    assert _sent(log.take()) == ["DeleteObject", "DeleteObject"]
    assert not store.exists("f.txt")
    log.take()
    with pytest.raises(NotFound):
        store.delete("gone")
    assert _sent(log.take()) == ["HeadObject"]


@needs_s3
def test_s3_missing_ok_skips_the_check_through_retry_and_observe(
    s3: tuple[S3Backend, str, _Log],
) -> None:
    """spec: PERF-033 — the retry and observe layers pass ``discard`` on; others use ``delete``."""
    from storeroom.layers.fault import FaultLayer
    from storeroom.layers.observe import ObserveLayer
    from storeroom.layers.retry import RetryLayer

    backend, root, log = s3
    seen: list[str] = []
    stack = ObserveLayer(RetryLayer(backend), sinks=[lambda e: seen.append(e.operation)])
    Store(stack, root_path=root).delete("f.txt", missing_ok=True)
    assert _sent(log.take()) == ["DeleteObject"] and seen == ["delete"]
    assert not backend.exists(f"{root}/f.txt")
    log.take()
    faulty = FaultLayer(backend)  # overrides delete: discard goes through it (HEAD first)
    Store(faulty, root_path=root).delete("k-1", missing_ok=True)
    Store(faulty, root_path=root).delete("k-1", missing_ok=True)
    assert _sent(log.take()) == ["DeleteObject", "HeadObject", "HeadObject"]


# -- Azure ----------------------------------------------------------------------------


@pytest.fixture
def azure() -> Iterator[tuple[Any, str, list[str], str]]:
    assert AZ_ENV is not None
    from storeroom.backends.azure import AzureBackend

    cs = AZ_ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]
    backend = AzureBackend(
        f"rt{uuid.uuid4().hex[:12]}", connection_string=cs, create_container=True, hns=False
    )
    sent: list[str] = []

    def record(pipeline_request: Any) -> None:
        req = pipeline_request.http_request
        sent.append(f"{req.method} {urlsplit(req.url).path.rpartition('/')[2]}")

    backend._sdk_extra = {"raw_request_hook": record}
    root = uuid.uuid4().hex
    backend.write(f"{root}/f.txt", b"1")
    backend.write(f"{root}/d/inner.txt", b"2")
    sent.clear()
    yield backend, root, sent, cs
    backend._container().delete_container()
    backend.close()


@needs_azure
def test_azure_delete_is_one_request(azure: tuple[Any, str, list[str], str]) -> None:
    """spec: AZURE-018 — Delete Blob reports a miss itself: one request, hit or miss."""
    from storeroom.backends.azure import AzureBackend

    backend, root, sent, cs = azure
    backend.delete(f"{root}/f.txt")
    assert sent == ["DELETE f.txt"]
    sent.clear()
    for key in ("f.txt", "d"):
        with pytest.raises(NotFound):
            backend.delete(f"{root}/{key}")
    assert sent == ["DELETE f.txt", "DELETE d"]
    sent.clear()
    store = Store(backend, root_path=root)
    store.delete("f.txt", missing_ok=True)
    backend.discard(f"{root}/nope")
    assert sent == ["DELETE f.txt", "DELETE nope"]
    assert backend.exists(f"{root}/d/inner.txt")
    gone = AzureBackend(f"gone{uuid.uuid4().hex[:12]}", connection_string=cs, hns=False)
    with pytest.raises(NotFound, match="container"):  # only a missing blob is skipped
        gone.discard("a")
