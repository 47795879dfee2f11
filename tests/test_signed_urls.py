"""``Store.url``: arguments, the capability gate and the layers, on backends without servers.

The downloads and uploads through real S3 and Azure servers are in
``tests/backends/test_signed_urls_servers.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pickle
from pathlib import Path

import pytest

from every_backend import registry_on
from storeroom import Capability, Registry, Store
from storeroom._signed import DEFAULT_EXPIRES, MAX_EXPIRES
from storeroom.aio import AsyncStore
from storeroom.backend import Backend, Forwarding
from storeroom.backends import MemoryBackend
from storeroom.errors import CapabilityNotSupported, InvalidArgument, InvalidPath
from storeroom.layers import ObserveLayer, ReadOnlyLayer, Recorder
from storeroom.proxy import ProxyStore

SIGNATURE = "s3cr3t-signature-value"


class Signing(MemoryBackend):
    """A memory backend that signs fake URLs, so the Store and layer paths run without servers."""

    capabilities = MemoryBackend.capabilities | {Capability.SIGNED_URL}

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int, str]] = []

    def signed_url(self, key: str, expires: int, method: str) -> str:
        self.calls.append((key, expires, method))
        return f"https://files.example/{key}?X-Amz-Expires={expires}&X-Amz-Signature={SIGNATURE}"


def test_url_hands_the_backend_the_key_whole_seconds_and_the_upper_case_method() -> None:
    # spec: SIGN-001, SIGN-002, SIGN-003, SIGN-004
    backend = Signing()
    store = Store(backend, "root")
    assert store.url("a/b.txt").startswith("https://files.example/root/a/b.txt?")
    store.url("c.txt", expires=dt.timedelta(minutes=10), method="put")
    store.url("d.txt", expires=dt.timedelta(seconds=90, milliseconds=900), method="Get")
    store.url("e.txt", expires=MAX_EXPIRES)
    assert backend.calls == [
        ("root/a/b.txt", DEFAULT_EXPIRES, "GET"),
        ("root/c.txt", 600, "PUT"),
        ("root/d.txt", 90, "GET"),  # fractions of a second are dropped
        ("root/e.txt", 7 * 24 * 3600, "GET"),
    ]


@pytest.mark.parametrize(
    "expires", [0, -5, MAX_EXPIRES + 1, dt.timedelta(days=8), dt.timedelta(0), True, 1.5, "60"]
)
def test_a_lifetime_outside_one_second_to_seven_days_is_refused_before_signing(
    expires: object,
) -> None:
    # spec: SIGN-003
    backend = Signing()
    with pytest.raises(InvalidArgument) as err:
        Store(backend).url("a.txt", expires=expires)  # type: ignore[arg-type]
    assert err.value.path == "a.txt" and err.value.operation == "url"
    assert "expires" in str(err.value) and err.value.hint
    assert backend.calls == []


@pytest.mark.parametrize("method", ["DELETE", "POST", "", None, 1])
def test_only_get_and_put_are_methods(method: object) -> None:
    # spec: SIGN-004
    backend = Signing()
    with pytest.raises(InvalidArgument) as err:
        Store(backend).url("a.txt", method=method)  # type: ignore[arg-type]
    assert "'GET' or 'PUT'" in str(err.value) and err.value.operation == "url"
    assert backend.calls == []


@pytest.mark.parametrize("path", ["", "../x", "a/../../b", "/"])
def test_the_path_must_be_a_valid_file_path(path: str) -> None:
    # spec: SIGN-005
    backend = Signing()
    with pytest.raises(InvalidPath):
        Store(backend, "root").url(path)
    assert backend.calls == []


@pytest.mark.parametrize(
    ("backend", "type_name"),
    [("local", "local"), ("memory", "memory"), ("sql-sqlite", "sql-blob"), ("sftp", "sftp")],
)
def test_backends_without_signed_urls_raise_capability_not_supported(
    backend: str, type_name: str, tmp_path: Path
) -> None:
    # spec: SIGN-010, SIGN-011
    with registry_on(backend, tmp_path) as registry:
        store = registry.get_store("s")
        assert not store.supports(Capability.SIGNED_URL)
        for method in ("GET", "PUT"):
            with pytest.raises(CapabilityNotSupported) as err:
                store.url("reports/r.csv", method=method)
            assert err.value.capability == "signed_url"
            assert err.value.path == "reports/r.csv" and err.value.store == "s"
            text = str(err.value)
            assert "reports/r.csv" in text and repr(type_name) in text
            assert err.value.backend == type_name
            assert "SIGNED_URL" in (err.value.hint or "")


def test_the_backend_default_refuses_naming_key_and_backend() -> None:
    # spec: SIGN-011
    with pytest.raises(CapabilityNotSupported) as err:
        MemoryBackend().signed_url("a/b.txt", 60, "GET")
    assert err.value.path == "a/b.txt" and err.value.backend == "memory"


def test_signed_url_is_not_a_gate_every_backend_gets() -> None:
    # spec: SIGN-010
    from storeroom.capabilities import ALL_GATES

    assert Capability.SIGNED_URL not in ALL_GATES
    assert Capability("signed_url") is Capability.SIGNED_URL


def test_every_layer_forwards_the_primitive() -> None:
    # spec: SIGN-020
    backend = Signing()
    stack: Backend = backend
    from storeroom.layers import CacheLayer, FaultLayer, LimitLayer, RetryLayer

    for layer in (RetryLayer, CacheLayer, LimitLayer, FaultLayer, ObserveLayer, Forwarding):
        stack = layer(stack)  # type: ignore[abstract]
    store = Store(stack, "r")
    assert store.supports(Capability.SIGNED_URL)
    assert SIGNATURE in store.url("x.bin", expires=5, method="PUT")
    assert backend.calls == [("r/x.bin", 5, "PUT")]


def test_a_readonly_layer_passes_get_urls_and_refuses_put_urls() -> None:
    # spec: SIGN-021
    backend = Signing()
    store = Store(ReadOnlyLayer(backend))
    assert store.supports(Capability.SIGNED_URL)
    assert store.url("a.txt")
    with pytest.raises(CapabilityNotSupported) as err:
        store.url("a.txt", method="PUT")
    assert "read-only" in str(err.value) and err.value.path == "a.txt"
    with pytest.raises(CapabilityNotSupported):  # the primitive itself, for direct callers
        ReadOnlyLayer(backend).signed_url("a.txt", 60, "PUT")
    assert backend.calls == [("a.txt", DEFAULT_EXPIRES, "GET")]


def test_a_registry_readonly_store_refuses_put_before_signing(tmp_path: Path) -> None:
    # spec: SIGN-021
    from storeroom.registry import register_backend

    register_backend("signing-test", lambda **_: Signing(), replace=True)
    registry = Registry(
        {
            "backends": {"b": {"type": "signing-test"}},
            "stores": {"s": {"backend": "b", "layers": [{"type": "readonly"}]}},
        }
    )
    store = registry.get_store("s")
    with pytest.raises(CapabilityNotSupported):
        store.url("a.txt", method="PUT")
    assert "X-Amz-Signature" in store.url("a.txt")


def test_observe_records_the_call_but_never_the_url(caplog: pytest.LogCaptureFixture) -> None:
    # spec: SIGN-040
    recorder = Recorder()
    store = Store(ObserveLayer(Signing(), sinks=[recorder], level="DEBUG"), "r")
    with caplog.at_level(logging.DEBUG, logger="storeroom.events"):
        url = store.url("a.txt", expires=30)
    assert SIGNATURE in url
    (event,) = recorder.of("signed_url")
    assert event.key == "r/a.txt" and event.ok
    assert SIGNATURE not in repr(event.as_dict())
    assert "signed_url" in caplog.text and SIGNATURE not in caplog.text


def test_a_failure_is_stamped_with_store_path_and_operation() -> None:
    # spec: SIGN-006
    class Broken(Signing):
        def signed_url(self, key: str, expires: int, method: str) -> str:
            raise RuntimeError(f"boom X-Amz-Signature={SIGNATURE}")

    with pytest.raises(Exception) as err:
        Store(Broken(), "root", name="docs").url("a.txt")
    exc = err.value
    assert type(exc).__name__ == "UnexpectedError"
    assert exc.path == "a.txt" and exc.operation == "url" and exc.store == "docs"  # type: ignore[attr-defined]


def test_async_store_url_is_a_coroutine() -> None:
    # spec: SIGN-007
    backend = Signing()

    async def main() -> tuple[str, BaseException | None]:
        url = await AsyncStore(Store(backend, "r")).url("a.txt", expires=60, method="PUT")
        try:
            await AsyncStore(Store(MemoryBackend())).url("a.txt")
        except CapabilityNotSupported as exc:
            return url, exc
        return url, None

    url, error = asyncio.run(main())
    assert SIGNATURE in url and backend.calls == [("r/a.txt", 60, "PUT")]
    assert isinstance(error, CapabilityNotSupported)


def test_proxy_stores_forward_url() -> None:
    # spec: SIGN-007
    backend = Signing()
    proxy = ProxyStore(Store(backend, "r"))
    assert SIGNATURE in proxy.url("a.txt")
    assert backend.calls == [("r/a.txt", DEFAULT_EXPIRES, "GET")]


def test_layers_keep_pickling_with_the_new_primitive() -> None:
    # spec: SIGN-020
    store = Store(ReadOnlyLayer(MemoryBackend()))
    copy = pickle.loads(pickle.dumps(store))
    with pytest.raises(CapabilityNotSupported):
        copy.url("a.txt")


def test_async_backends_forward_signed_url_both_ways() -> None:
    # spec: SIGN-007
    from storeroom.aio.adapters import AsyncBackendSyncAdapter, SyncBackendAdapter

    backend = Signing()
    bridged = AsyncBackendSyncAdapter(SyncBackendAdapter(backend))
    try:
        assert Capability.SIGNED_URL in bridged.capabilities
        assert SIGNATURE in Store(bridged, "r").url("a.txt", expires=9)
    finally:
        bridged.close()
    assert backend.calls == [("r/a.txt", 9, "GET")]
    plain = AsyncBackendSyncAdapter(SyncBackendAdapter(MemoryBackend()))
    try:
        with pytest.raises(CapabilityNotSupported):
            plain.signed_url("a.txt", 9, "GET")
    finally:
        plain.close()
