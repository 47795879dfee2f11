"""LimitLayer (LAYER-040..044), ReadOnlyLayer (LAYER-050..052), FaultLayer (LAYER-060..065)."""

from __future__ import annotations

import threading
import time

import pytest
from layer_support import NoSleep, Scripted, memory_config, store_on

from storeroom import Registry, Store
from storeroom.backend import Forwarding
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.capabilities import Capability as C
from storeroom.errors import (
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    NotFound,
    PermissionDenied,
)
from storeroom.layers import FaultLayer, LimitLayer, ReadOnlyLayer, RetryLayer


class Slow(Scripted):
    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def stat(self, key: str):  # type: ignore[no-untyped-def,override]
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.01)
        with self._lock:
            self.active -= 1
        return super().stat(key)


def test_max_concurrency_is_shared_by_every_store_on_the_backend() -> None:
    # spec: LAYER-040, LAYER-042
    slow = Slow()
    slow.inner.write("a/f", b"")
    slow.inner.write("b/f", b"")
    layer = LimitLayer(slow, max_concurrency=2)
    stores = [store_on(layer, "a"), store_on(layer, "b")]

    def work(n: int) -> None:
        for _ in range(5):
            stores[n % 2].get_file_info("f")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert slow.peak == 2


def test_requests_per_second_token_bucket() -> None:
    # spec: LAYER-041
    sleep = NoSleep()
    layer = LimitLayer(
        MemoryBackend(), requests_per_second=10, burst=2, sleep=sleep, clock=sleep.clock
    )
    for _ in range(6):
        layer.exists("x")
    # two from the burst, then one token every 0.1 s (the fake clock advances by the sleeps)
    assert sleep.waits[:1] == [pytest.approx(0.1)]
    assert sum(sleep.waits) == pytest.approx(0.4)


def test_real_rate_is_held() -> None:
    # spec: LAYER-041
    layer = LimitLayer(MemoryBackend(), requests_per_second=200, burst=1)
    t0 = time.monotonic()
    for _ in range(21):
        layer.exists("x")
    assert time.monotonic() - t0 >= 0.09


def test_streams_do_not_hold_a_slot() -> None:
    # spec: LAYER-043
    layer = LimitLayer(MemoryBackend(), max_concurrency=1, wait_timeout_s=1)
    store = store_on(layer)
    store.write("src", b"data")
    with store.read("src") as stream:
        store.write("dst", stream)  # would deadlock if the open stream kept the only slot
    it = store.list_files()
    assert next(it).path == "dst"
    assert store.read_bytes("dst") == b"data"


def test_wait_timeout_raises_retryable_unavailable() -> None:
    # spec: LAYER-044
    gate = threading.Event()

    class Blocking(Scripted):
        def stat(self, key: str):  # type: ignore[no-untyped-def,override]
            gate.wait(5)
            return super().stat(key)

    layer = LimitLayer(Blocking(), max_concurrency=1, wait_timeout_s=0.05)

    def hold() -> None:
        with pytest.raises(NotFound):
            layer.stat("x")

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.02)
    with pytest.raises(BackendUnavailable) as info:
        layer.stat("y")
    gate.set()
    t.join()
    assert info.value.retryable and "max_concurrency" in str(info.value)


def test_readonly_removes_write_capabilities_and_refuses_before_io() -> None:
    # spec: LAYER-050, LAYER-051, LAYER-052
    counting = Scripted()
    counting.inner.write("f", b"x")
    store = store_on(ReadOnlyLayer(counting))
    assert store.capabilities & {C.WRITE, C.DELETE, C.MOVE, C.COPY, C.ATOMIC_WRITE} == frozenset()
    assert {C.READ, C.LIST, C.GLOB, C.METADATA} <= store.capabilities
    for call in (
        lambda: store.write("g", b""),
        lambda: store.write_text("g", ""),
        lambda: store.write_atomic("g", b""),
        lambda: store.delete("f"),
        lambda: store.delete_folder("d"),
        lambda: store.move("f", "g"),
        lambda: store.copy("f", "g"),
    ):
        with pytest.raises(CapabilityNotSupported):
            call()
    assert sum(counting.calls.values()) == 0
    assert store.read_bytes("f") == b"x"
    with pytest.raises(CapabilityNotSupported):
        store.backend.write("g", b"")


def test_readonly_store_layer_over_a_writable_backend() -> None:
    # spec: LAYER-080
    config = memory_config([])
    config["stores"]["ro"] = {"backend": "b", "root_path": "r", "layers": [{"type": "readonly"}]}
    with Registry(config) as registry:
        registry.get_store("s").write("f", b"shared")
        ro = registry.get_store("ro")
        assert ro.read_bytes("f") == b"shared"
        with pytest.raises(CapabilityNotSupported):
            ro.delete("f")


def test_readonly_errors_say_the_store_is_read_only() -> None:
    # spec: LAYER-053
    config = memory_config([])
    config["stores"]["ro"] = {"backend": "b", "root_path": "r", "layers": [{"type": "readonly"}]}
    with Registry(config) as registry:
        registry.get_store("s").write("f", b"shared")
        ro = registry.get_store("ro")
        for op, call in (
            ("write", lambda: ro.write("d/new.txt", b"x")),
            ("write_atomic", lambda: ro.write_atomic("d/new.txt", b"x")),
            ("delete", lambda: ro.delete("d/new.txt")),
            ("delete_folder", lambda: ro.delete_folder("d/new.txt")),
            ("move", lambda: ro.move("d/new.txt", "g")),
            ("copy", lambda: ro.copy("d/new.txt", "g")),
        ):
            with pytest.raises(CapabilityNotSupported) as info:
                call()
            err = info.value
            text = str(err)
            assert "the store is read-only" in text and "does not support" not in text, text
            assert (err.store, err.path, err.operation) == ("ro", "d/new.txt", op)
        # A direct caller of the layer gets the same reason.
        with pytest.raises(CapabilityNotSupported) as info:
            ro.backend.write("r/x", b"")
        assert "the store is read-only" in str(info.value) and info.value.path == "r/x"
    # A backend that really lacks a capability is still named as the reason.
    narrowed = Forwarding(MemoryBackend())
    narrowed.capabilities = narrowed.capabilities - {C.WRITE}
    with pytest.raises(CapabilityNotSupported) as info:
        Store(narrowed).write("x", b"")
    assert "the 'memory' backend does not support write" in str(info.value)


def test_fault_rate_is_deterministic_with_a_seed() -> None:
    # spec: LAYER-060, LAYER-065
    def pattern(seed: int) -> list[bool]:
        layer = FaultLayer(MemoryBackend(), error_rate=0.5, seed=seed)
        out = []
        for _ in range(40):
            try:
                layer.exists("x")
                out.append(True)
            except BackendUnavailable:
                out.append(False)
        return out

    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 5 < pattern(7).count(False) < 35


def test_fault_per_operation_rates_kinds_and_budget() -> None:
    # spec: LAYER-060, LAYER-061, LAYER-064
    layer = FaultLayer(MemoryBackend(), rates={"write": 1.0}, error="permission", max_faults=2)
    store = store_on(layer)
    store.exists("x")  # other operations untouched
    for _ in range(2):
        with pytest.raises(PermissionDenied) as info:
            store.write("f", b"x")
        assert not info.value.retryable
    store.write("f", b"x")  # budget spent
    assert layer.faults == 2
    default = FaultLayer(MemoryBackend(), error_rate=1.0)
    with pytest.raises(BackendUnavailable) as info2:
        default.stat("x")
    assert info2.value.retryable


def test_fault_latency() -> None:
    # spec: LAYER-062
    sleep = NoSleep()
    layer = FaultLayer(MemoryBackend(), latency_s=0.25, sleep=sleep)
    layer.exists("a")
    layer.exists("b")
    assert sleep.waits == [0.25, 0.25]


def test_fail_after_bytes_write_leaves_nothing_and_retry_recovers() -> None:
    # spec: LAYER-063, LAYER-064
    mem = MemoryBackend()
    fault = FaultLayer(mem, fail_after_bytes=10, max_faults=1)
    store = store_on(fault)
    with pytest.raises(BackendUnavailable):
        store.write("f", b"x" * 100)
    assert not store.exists("f")
    store2 = store_on(
        RetryLayer(FaultLayer(mem, fail_after_bytes=10, max_faults=2), base_delay_s=0)
    )
    store2.write("g", b"y" * 100)
    assert store2.read_bytes("g") == b"y" * 100


def test_fault_options_are_validated() -> None:
    # spec: LAYER-002
    for bad in (
        {"error_rate": 2},
        {"rates": {"nope": 0.5}},
        {"error": "meteor"},
        {"latency_s": -1},
    ):
        with pytest.raises(ConfigError):
            FaultLayer.Options.parse(bad, where="layers[0]")
