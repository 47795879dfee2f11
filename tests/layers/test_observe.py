"""ObserveLayer (spec LAYER-030..036)."""

from __future__ import annotations

import logging
import pickle
import threading

import pytest
from layer_support import memory_config, store_on

from storeroom import Registry
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import NotFound
from storeroom.layers import ObserveEvent, ObserveLayer, Recorder, correlation, set_correlation_id
from storeroom.layers.observe import reset_correlation_id


def observed() -> tuple[Recorder, ObserveLayer]:
    recorder = Recorder()
    return recorder, ObserveLayer(MemoryBackend(), sinks=[recorder], log=False)


def test_one_event_per_primitive_call() -> None:
    # spec: LAYER-030
    recorder, layer = observed()
    store = store_on(layer)
    store.write("d/f", b"hello")
    store.exists("d/f")
    with pytest.raises(NotFound):
        store.get_file_info("nope")
    store.delete("d/f")
    ops = [(e.operation, e.key, e.outcome) for e in recorder.events]
    assert ops == [
        ("write", "d/f", "ok"),
        ("exists", "d/f", "ok"),
        ("stat", "nope", "NotFound"),
        ("delete", "d/f", "ok"),
    ]
    write = recorder.events[0]
    assert write.bytes == 5 and write.backend == "memory" and write.duration_s >= 0
    assert write.attempts == 1 and write.cache_hit is None


def test_stream_and_listing_completion_events() -> None:
    # spec: LAYER-031
    recorder, layer = observed()
    store = store_on(layer)
    for i in range(3):
        store.write(f"f{i}", b"x" * (i + 1))
    recorder.clear()
    assert store.read_bytes("f2") == b"xxx"
    assert len(list(store.list_files())) == 3
    events = {e.operation: e for e in recorder.events}
    assert set(events) == {"open_read", "read_stream", "list", "list_stream"}
    assert events["read_stream"].bytes == 3 and events["read_stream"].ok
    assert events["list_stream"].entries == 3
    # a listing abandoned early still reports, as "closed"
    it = store.iter_children()
    next(it)
    it.close()
    assert recorder.events[-1].operation == "list_stream"
    assert recorder.events[-1].outcome == "closed"


def test_log_sink_puts_the_event_in_extra(caplog: pytest.LogCaptureFixture) -> None:
    # spec: LAYER-033
    store = store_on(ObserveLayer(MemoryBackend(), logger="test.events", level="INFO"))
    with caplog.at_level(logging.INFO, logger="test.events"):
        store.write("f", b"abc")
    (record,) = [r for r in caplog.records if r.name == "test.events"]
    data = record.storeroom  # type: ignore[attr-defined]
    assert data["operation"] == "write" and data["bytes"] == 3 and data["outcome"] == "ok"


def test_broken_sink_never_breaks_a_call() -> None:
    # spec: LAYER-033
    def broken(event: ObserveEvent) -> None:
        raise RuntimeError("listener bug")

    recorder = Recorder()
    store = store_on(ObserveLayer(MemoryBackend(), sinks=[broken, recorder], log=False))
    store.write("f", b"x")
    assert store.read_bytes("f") == b"x"
    assert len(recorder.events) == 3


def test_correlation_id_from_context() -> None:
    # spec: LAYER-034
    recorder, layer = observed()
    store = store_on(layer)
    with correlation("req-42") as cid:
        store.write("f", b"x")
    token = set_correlation_id("req-43")
    store.exists("f")
    reset_correlation_id(token)
    store.exists("f")
    assert [e.correlation_id for e in recorder.events] == [cid, "req-43", None]
    with correlation() as generated:
        seen: list[str | None] = []
        import contextvars

        ctx = contextvars.copy_context()
        t = threading.Thread(
            target=ctx.run, args=(lambda: seen.append(store.exists("f") and None),)
        )
        t.start()
        t.join()
    assert recorder.events[-1].correlation_id == generated


def test_events_carry_no_secret_or_message() -> None:
    # spec: LAYER-035
    config = memory_config([{"type": "observe", "record": 50, "log": False}])
    config["backends"]["b"]["layers"].append(
        {"type": "fault", "error_rate": 1.0, "error": "permission"}
    )
    with Registry(config) as registry:
        store = registry.get_store("s")
        with pytest.raises(Exception):  # noqa: B017
            store.write("secret-token-in-path-is-not-a-secret", b"hunter2")
        layer = store.unwrap(ObserveLayer)
        assert layer.recorder is not None
        (event,) = layer.recorder.events
        assert event.outcome == "PermissionDenied"
        assert "hunter2" not in repr(event.as_dict())
        assert "injected" not in repr(event.as_dict())


def test_config_options_and_pickling() -> None:
    # spec: LAYER-036, LAYER-003
    with Registry(memory_config([{"type": "observe", "record": 2, "log": False}])) as registry:
        store = registry.get_store("s")
        for i in range(5):
            store.write(f"f{i}", b"")
        layer = store.unwrap(ObserveLayer)
        assert layer.recorder is not None and len(layer.recorder.events) == 2
        copy = pickle.loads(pickle.dumps(store))
        assert copy.unwrap(ObserveLayer).recorder.events == []  # type: ignore[union-attr]


def test_store_level_observe_names_its_store() -> None:
    # spec: LAYER-080
    config = memory_config([], store_layers=[{"type": "observe", "record": 10, "log": False}])
    with Registry(config) as registry:
        store = registry.get_store("s")
        store.write("f", b"")
        rec = store.unwrap(ObserveLayer).recorder
        assert rec is not None and rec.events[0].store == "s"
