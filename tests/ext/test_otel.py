"""The ``otel`` layer on the memory backend: spans, attributes, events, metrics, options.

Real OpenTelemetry SDK providers with the in-memory exporter and reader
(``otel_support``); real layers below (retry, cache, fault) instead of mocks.
"""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import textwrap

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from otel_support import Telemetry, global_telemetry

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends import MemoryBackend
from storeroom.errors import ConfigError, NotFound
from storeroom.ext.otel import OtelLayer, otel_hooks, otel_observe
from storeroom.layers import (
    CacheLayer,
    FaultLayer,
    ObserveLayer,
    Recorder,
    RetryLayer,
    correlation,
)
from storeroom.layers.order import stack_warnings


@pytest.fixture
def tel() -> Telemetry:
    return Telemetry()


def traced(tel: Telemetry, backend: object = None, **options: object) -> Store:
    inner = backend if backend is not None else MemoryBackend()
    return Store(OtelLayer(inner, store="s", **tel.providers, **options), "root")  # type: ignore[arg-type]


def test_one_span_per_operation_named_by_the_operation(tel: Telemetry) -> None:
    # spec: OTEL-010, OTEL-011
    store = traced(tel)
    store.write("a/x.txt", b"hello")
    assert store.exists("a/x.txt")
    store.get_file_info("a/x.txt")
    assert store.read_bytes("a/x.txt") == b"hello"
    store.copy("a/x.txt", "a/y.txt")
    store.move("a/y.txt", "a/z.txt")
    assert [f.name for f in store.list_files("a")] == ["x.txt", "z.txt"]
    store.delete("a/z.txt")
    names = [s.name for s in tel.spans()]
    for op in ("write", "exists", "stat", "read", "copy", "move", "list", "delete"):
        assert f"storeroom.{op}" in names, names
    write = tel.span("storeroom.write")
    assert write.kind is SpanKind.CLIENT
    assert dict(write.attributes or {}) == {
        "storeroom.backend": "memory",
        "storeroom.store": "s",
        "storeroom.operation": "write",
        "storeroom.outcome": "ok",
        "storeroom.attempts": 1,
        "storeroom.bytes": 5,
    }
    assert write.status.status_code is StatusCode.UNSET
    assert tel.span("storeroom.read").attributes["storeroom.bytes"] == 5  # type: ignore[index]
    listing = tel.spans("storeroom.list")[-1]
    assert listing.attributes["storeroom.entries"] == 2  # type: ignore[index]


def test_the_correlation_id_is_an_attribute_when_set(tel: Telemetry) -> None:
    # spec: OTEL-011
    store = traced(tel)
    with correlation("request-42"):
        store.write("c.txt", b"x")
    store.exists("c.txt")
    assert tel.span("storeroom.write").attributes["storeroom.correlation_id"] == "request-42"  # type: ignore[index]
    assert "storeroom.correlation_id" not in (tel.span("storeroom.exists").attributes or {})


def test_paths_are_recorded_only_when_asked(tel: Telemetry) -> None:
    # spec: OTEL-016
    store = traced(tel)
    store.write("private/alice.txt", b"x")
    assert "alice" not in repr([dict(s.attributes or {}) for s in tel.spans()])
    tel.clear()
    store = traced(tel, record_paths=True)
    store.write("private/alice.txt", b"x")
    assert tel.span("storeroom.write").attributes["storeroom.path"] == "root/private/alice.txt"  # type: ignore[index]


def test_a_failure_sets_error_status_and_type_without_the_message(tel: Telemetry) -> None:
    # spec: OTEL-013, OTEL-020
    store = traced(tel)
    with pytest.raises(NotFound):
        store.read_bytes("missing.txt")
    span = tel.span("storeroom.read")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is None
    assert span.attributes["error.type"] == "storeroom.errors.NotFound"  # type: ignore[index]
    assert span.attributes["storeroom.outcome"] == "NotFound"  # type: ignore[index]
    assert span.events == ()  # no exception event: messages and tracebacks stay out
    got = tel.metrics()
    assert [(labels, p.value) for labels, p in got["storeroom.errors"]] == [
        (
            {
                "storeroom.backend": "memory",
                "storeroom.store": "s",
                "storeroom.operation": "read",
                "error.type": "storeroom.errors.NotFound",
            },
            1,
        )
    ]
    [(labels, point)] = got["storeroom.operation.duration"]
    assert labels["error.type"] == "storeroom.errors.NotFound" and point.count == 1


def test_a_read_span_lasts_until_the_stream_is_closed(tel: Telemetry) -> None:
    # spec: OTEL-012
    store = traced(tel)
    store.write("big.bin", b"0123456789" * 100)
    tel.clear()
    stream = store.read("big.bin")
    assert stream.read(10) == b"0123456789"
    assert tel.spans("storeroom.read") == []  # still open
    stream.read(90)
    stream.close()
    span = tel.span("storeroom.read")
    assert span.attributes["storeroom.bytes"] == 100  # type: ignore[index]
    assert span.attributes["storeroom.outcome"] == "ok"  # type: ignore[index]
    assert span.end_time is not None and span.start_time is not None
    [(labels, point)] = tel.metrics()["storeroom.bytes"]
    assert labels["storeroom.operation"] == "read" and point.value == 100


def test_a_listing_span_ends_when_the_listing_ends_or_is_closed(tel: Telemetry) -> None:
    # spec: OTEL-012
    store = traced(tel)
    for i in range(5):
        store.write(f"d/{i}.txt", b"x")
    tel.clear()
    listing = store.list_files("d")
    assert next(iter(listing)).name == "0.txt"
    assert tel.spans("storeroom.list") == []  # still open
    assert len(list(listing)) == 4
    span = tel.span("storeroom.list")
    assert span.attributes["storeroom.outcome"] == "ok"  # type: ignore[index]
    assert span.attributes["storeroom.entries"] == 5  # type: ignore[index]
    tel.clear()
    entries = store.backend.list("root/d")
    next(entries)
    entries.close()  # type: ignore[attr-defined]  # abandoned early
    span = tel.span("storeroom.list")
    assert span.attributes["storeroom.entries"] == 1  # type: ignore[index]
    assert span.status.status_code is StatusCode.UNSET


def test_retries_below_are_span_events_with_attempt_and_delay(tel: Telemetry) -> None:
    # spec: OTEL-014
    waits: list[float] = []
    faulty = FaultLayer(MemoryBackend(), error_rate=1.0, max_faults=2, seed=1)
    retry = RetryLayer(faulty, attempts=5, sleep=waits.append, rand=lambda: 0.5)
    store = traced(tel, retry)
    store.write("r.txt", b"abc")
    span = tel.span("storeroom.write")
    assert span.attributes["storeroom.attempts"] == 3  # type: ignore[index]
    assert [e.name for e in span.events] == ["storeroom.retry", "storeroom.retry"]
    assert [dict(e.attributes or {}) for e in span.events] == [
        {
            "storeroom.retry.attempt": n,
            "storeroom.retry.delay_s": wait,
            "error.type": "storeroom.errors.BackendUnavailable",
        }
        for n, wait in zip((1, 2), waits, strict=True)
    ]
    assert waits == [0.05, 0.1]
    assert span.status.status_code is StatusCode.UNSET


def test_a_resumed_read_reports_its_retry_on_the_read_span(tel: Telemetry) -> None:
    # spec: OTEL-014
    faulty = FaultLayer(MemoryBackend(), read_fail_after_bytes=4, max_faults=1, seed=1)
    retry = RetryLayer(faulty, attempts=3, sleep=lambda s: None)
    store = traced(tel, retry)
    store.write("f.bin", b"0123456789")
    assert store.read_bytes("f.bin") == b"0123456789"
    span = tel.span("storeroom.read")
    assert [e.name for e in span.events] == ["storeroom.retry"]
    assert span.attributes["storeroom.bytes"] == 10  # type: ignore[index]


def test_a_cache_hit_is_an_attribute(tel: Telemetry) -> None:
    # spec: OTEL-015
    store = traced(tel, CacheLayer(MemoryBackend(), ttl_s=60))
    store.write("c.txt", b"x")
    store.exists("c.txt")
    store.exists("c.txt")
    first, second = tel.spans("storeroom.exists")
    assert first.attributes["storeroom.cache_hit"] is False  # type: ignore[index]
    assert second.attributes["storeroom.cache_hit"] is True  # type: ignore[index]
    assert "storeroom.cache_hit" not in (tel.span("storeroom.write").attributes or {})


def test_metrics_are_labelled_by_store_backend_and_operation(tel: Telemetry) -> None:
    # spec: OTEL-020
    store = traced(tel)
    store.write("m.txt", b"12345")
    store.write("n.txt", io.BytesIO(b"123"))
    store.read_bytes("m.txt")
    store.exists("m.txt")
    assert tel.units() == {
        "storeroom.operation.duration": "s",
        "storeroom.bytes": "By",
    }
    store.exists("m.txt")
    store.write("o.txt", b"1")
    got = tel.metrics()
    durations = {
        p[0]["storeroom.operation"]: p[1].count for p in got["storeroom.operation.duration"]
    }
    assert durations == {"exists": 1, "write": 1}
    for labels, _ in got["storeroom.operation.duration"] + got["storeroom.bytes"]:
        assert set(labels) == {"storeroom.store", "storeroom.backend", "storeroom.operation"}
    assert "storeroom.errors" not in got


def test_from_config_on_a_store_and_on_a_backend() -> None:
    # spec: OTEL-003, OTEL-011
    tel = global_telemetry()
    registry = Registry(
        {
            "backends": {"m": {"type": "memory", "layers": [{"type": "otel"}]}},
            "stores": {
                "own": {"backend": "m", "layers": [{"type": "otel", "record_paths": True}]},
                "shared": {"backend": "m", "root_path": "s"},
            },
        }
    )
    registry.get_store("own").write("a.txt", b"x")
    inner, outer = tel.spans("storeroom.write")  # the store's layer wraps the backend's
    assert outer.attributes["storeroom.store"] == "own"  # type: ignore[index]
    assert outer.attributes["storeroom.path"] == "a.txt"  # type: ignore[index]
    assert "storeroom.store" not in (inner.attributes or {})  # a backend's layer: no store
    assert "storeroom.path" not in (inner.attributes or {})
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    tel.clear()
    registry.get_store("shared").exists("a.txt")
    assert len(tel.spans("storeroom.exists")) == 1


def test_options_are_validated_like_every_layer() -> None:
    # spec: OTEL-003
    def build(options: dict[str, object]) -> None:
        cfg = {
            "backends": {"m": {"type": "memory"}},
            "stores": {"s": {"backend": "m", "layers": [{"type": "otel", **options}]}},
        }
        Registry(RegistryConfig.from_dict(cfg))

    with pytest.raises(ConfigError) as err:
        build({"record_path": True})
    assert err.value.key == "stores.s.layers[0].record_path"
    assert "record_paths" in str(err.value)  # the known options are listed
    with pytest.raises(ConfigError) as err:
        build({"tracer_name": ""})
    assert err.value.key == "stores.s.layers[0].tracer_name"


def test_a_store_with_the_layer_pickles_as_configuration(tel: Telemetry) -> None:
    # spec: OTEL-003
    store = traced(tel, record_paths=True)
    copy = pickle.loads(pickle.dumps(store))
    layer = copy.unwrap(OtelLayer)
    assert layer.options.record_paths is True and layer.options.store == "s"
    copy.write("p.txt", b"x")  # uses the global providers of this process
    assert copy.read_bytes("p.txt") == b"x"
    assert tel.spans() == []


def test_span_is_the_parent_of_spans_made_inside_the_call(tel: Telemetry) -> None:
    # spec: OTEL-030
    class Nested(MemoryBackend):
        def exists(self, key: str) -> bool:
            with tel.tracer.start_as_current_span("inside-backend"):
                return super().exists(key)

    store = traced(tel, Nested())
    with tel.tracer.start_as_current_span("caller") as caller:
        store.exists("x")
    outer = tel.span("storeroom.exists")
    inside = tel.span("inside-backend")
    assert outer.parent is not None and outer.parent.span_id == caller.get_span_context().span_id
    assert inside.parent is not None and inside.parent.span_id == outer.context.span_id


def test_observe_outside_otel_still_sees_attempts_and_cache_hits(tel: Telemetry) -> None:
    # spec: OTEL-041
    recorder = Recorder()
    memory = MemoryBackend()
    memory.write("o.txt", b"x")
    faulty = FaultLayer(memory, error_rate=1.0, max_faults=2, seed=1)  # the first 2 tries fail
    stack = ObserveLayer(
        OtelLayer(RetryLayer(faulty, sleep=lambda s: None), **tel.providers),
        sinks=[recorder],
        log=False,
    )
    store = Store(stack)
    stream = store.read("o.txt")  # observe's open_read event is emitted before the close
    assert recorder.of("open_read")[0].attempts == 3
    stream.close()
    assert tel.span("storeroom.read").attributes["storeroom.attempts"] == 3  # type: ignore[index]
    store.write("p.txt", b"x")  # no fault left: one try, nothing stale passed on
    assert recorder.of("write")[0].attempts == 1
    assert tel.span("storeroom.write").attributes["storeroom.attempts"] == 1  # type: ignore[index]


def test_order_warnings_know_the_otel_layer() -> None:
    # spec: OTEL-041
    assert any("otel inside cache" in w for w in stack_warnings(["cache", "otel"]))
    assert any("otel inside retry" in w for w in stack_warnings(["retry", "otel"]))
    assert any("observe inside otel" in w for w in stack_warnings(["otel", "observe"]))
    assert stack_warnings(["observe", "otel", "cache", "retry", "limit"]) == []


def test_remote_store_names_build_the_layer(tel: Telemetry) -> None:
    # spec: OTEL-050
    tracer = tel.tracer_provider.get_tracer("mine")
    meter = tel.meter_provider.get_meter("mine")
    hooks = otel_hooks(tracer=tracer, meter=meter)
    Store(OtelLayer(MemoryBackend(), **hooks)).write("h.txt", b"x")
    assert tel.span("storeroom.write").instrumentation_scope.name == "mine"  # type: ignore[union-attr]
    tel.clear()
    base = Registry(
        {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "root_path": "r"}}}
    ).get_store("s")
    observed = otel_observe(base, tracer=tracer, meter=meter, record_paths=True)
    observed.write("h.txt", b"y")
    assert base.read_bytes("h.txt") == b"y"  # same backend, same root
    span = tel.span("storeroom.write")
    assert span.attributes["storeroom.store"] == "s"  # type: ignore[index]
    assert span.attributes["storeroom.path"] == "r/h.txt"  # type: ignore[index]


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_storeroom_does_not_import_opentelemetry() -> None:
    # spec: OTEL-001
    done = run_python(
        """
        import sys, storeroom
        from storeroom import Registry
        r = Registry({"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m"}}})
        r.get_store("s").write("a", b"x")
        assert not [m for m in sys.modules if m.startswith("opentelemetry")], "loaded"
        r2 = Registry({"backends": {"m": {"type": "memory"}},
                       "stores": {"s": {"backend": "m", "layers": [{"type": "otel"}]}}})
        assert "opentelemetry" in sys.modules
        assert not [m for m in sys.modules if m.startswith("opentelemetry.sdk")]
        r2.get_store("s").write("a", b"x")  # no SDK configured: the no-op providers
        assert r2.get_store("s").read_bytes("a") == b"x"
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_without_opentelemetry_the_layer_is_a_config_error() -> None:
    # spec: OTEL-002
    done = run_python(
        """
        import sys
        sys.modules["opentelemetry"] = None
        from storeroom import Registry
        from storeroom.errors import ConfigError
        try:
            Registry({"backends": {"m": {"type": "memory"}},
                      "stores": {"s": {"backend": "m", "layers": [{"type": "otel"}]}}})
        except ConfigError as exc:
            print(exc.hint)
        """
    )
    assert done.stdout.strip() == 'pip install "storeroom[otel]"', done.stderr


def test_without_an_sdk_no_span_is_built() -> None:
    # spec: OTEL-070
    done = run_python(
        """
        import opentelemetry.trace as api
        from storeroom.backends import MemoryBackend
        from storeroom.ext.otel import OtelLayer
        layer = OtelLayer(MemoryBackend())
        # the variable the API's ProxyTracer tests; renamed => the short path is lost
        assert hasattr(api, "_TRACER_PROVIDER") and api._TRACER_PROVIDER is None
        assert layer._start("stat", "k") is None
        from opentelemetry.sdk.trace import TracerProvider
        api.set_tracer_provider(TracerProvider())
        call = layer._start("stat", "k")
        assert call is not None and call.span.is_recording()
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_observe_takes_otel_hooks_as_remote_store_documented(tel: Telemetry) -> None:
    # spec: COMPAT-304
    from storeroom.ext.observe import ObservedStore, StoreEvent, observe

    tracer = tel.tracer_provider.get_tracer("mine")
    meter = tel.meter_provider.get_meter("mine")
    errors: list[StoreEvent] = []
    base = Store(MemoryBackend(), "r")
    observed = observe(base, **otel_hooks(tracer=tracer, meter=meter), on_error=errors.append)
    observed.write("a.txt", b"x")
    with pytest.raises(NotFound):
        observed.read_bytes("missing.txt")
    assert tel.span("storeroom.write").instrumentation_scope.name == "mine"  # type: ignore[union-attr]
    assert [e.path for e in errors] == ["missing.txt"] and errors[0].operation == "read"
    assert base.read_bytes("a.txt") == b"x"  # same backend, same root
    one_liner = otel_observe(base, tracer=tracer, meter=meter)
    assert isinstance(one_liner, ObservedStore) and one_liner.read_bytes("a.txt") == b"x"
    reads = tel.spans("storeroom.read")  # the failed read through the hooks, the one-liner's
    assert sorted(r.status.status_code.name for r in reads) == ["ERROR", "UNSET"]
    plain = observe(base)  # without otel settings: no OtelLayer, no span
    tel.clear()
    plain.write("b.txt", b"y")
    assert tel.spans() == []
