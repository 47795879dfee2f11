"""ContextLayer (LAYER-070..073), layers in config (LAYER-080..082), the Forwarding contract."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import pytest
from layer_support import Scripted, memory_config, store_on

from storeroom import Registry, RegistryConfig
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.cli import main
from storeroom.errors import ConfigError, NotFound, UnexpectedError
from storeroom.layers import (
    CacheLayer,
    ContextLayer,
    FaultLayer,
    LimitLayer,
    ObserveLayer,
    RetryLayer,
)
from storeroom.layers.order import order_warnings, stack_warnings


def test_context_stamps_and_wraps() -> None:
    # spec: LAYER-071, LAYER-072
    bad = Scripted()
    layer = ContextLayer(bad)
    bad.script["stat"] = [NotFound("gone")]
    with pytest.raises(NotFound) as info:
        layer.stat("a/b")
    assert (info.value.path, info.value.backend, info.value.operation) == ("a/b", "memory", "stat")
    bad.script["delete"] = [NotFound("gone", operation="native_delete", path="x")]
    with pytest.raises(NotFound) as info:
        layer.delete("a/b")
    assert (info.value.path, info.value.operation) == ("x", "native_delete")  # only empty fields
    native = KeyError("sdk")
    bad.script["write"] = [native]
    with pytest.raises(UnexpectedError) as err:
        layer.write("k", b"")
    assert err.value.__cause__ is native and err.value.operation == "write"


def test_context_covers_streams_and_listings() -> None:
    # spec: LAYER-072
    class BrokenStream(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise RuntimeError("socket closed")

    class Broken(Scripted):
        def open_read(self, key, start=None, end=None):  # type: ignore[no-untyped-def,override]
            return BrokenStream(b"x")

        def list(self, prefix, *, recursive=False, base=""):  # type: ignore[no-untyped-def,override]
            yield from ()
            raise OSError(5, "io")

    layer = ContextLayer(Broken())
    with pytest.raises(UnexpectedError) as info, layer.open_read("f") as stream:
        stream.read()
    assert isinstance(info.value.__cause__, RuntimeError)
    with pytest.raises(UnexpectedError) as info2:
        list(layer.list("d"))
    assert info2.value.operation == "list" and info2.value.path == "d"


def test_user_source_errors_pass_unchanged() -> None:
    # spec: LAYER-073
    def chunks() -> Any:
        yield b"a"
        raise ValueError("my generator broke")

    with Registry(memory_config([{"type": "retry"}])) as registry:
        store = registry.get_store("s")
        with pytest.raises(ValueError, match="my generator broke"):
            store.write("f", chunks())


def test_registry_adds_context_innermost_and_builds_in_order() -> None:
    # spec: LAYER-070, LAYER-080
    config = memory_config(
        [{"type": "observe"}, {"type": "cache", "ttl": 5}, {"type": "retry"}, {"type": "limit"}],
        store_layers=[{"type": "readonly"}],
    )
    config["stores"]["t"] = {"backend": "b", "root_path": "t"}
    with Registry(config) as registry:
        s, t = registry.get_store("s"), registry.get_store("t")
        chain = []
        node: Any = s.backend
        while node is not None:
            chain.append(type(node).__name__)
            node = getattr(node, "inner", None)
        assert chain == [
            "ReadOnlyLayer",
            "ObserveLayer",
            "CacheLayer",
            "RetryLayer",
            "LimitLayer",
            "ContextLayer",
            "MemoryBackend",
        ]
        assert s.backend.inner is t.backend  # type: ignore[attr-defined]
        assert s.unwrap(CacheLayer) is t.unwrap(CacheLayer)  # backend layers are shared


def test_layer_options_errors_name_the_key_path() -> None:
    # spec: LAYER-002
    cases = [
        ({"type": "cache", "ttl_s": "soon"}, r"backends\.b\.layers\[0\]\.ttl_s: expected"),
        ({"type": "retry", "tries": 3}, r"backends\.b\.layers\[0\]\.tries: unknown option"),
        ({"type": "limit", "max_concurrency": 0}, r"layers\[0\]\.max_concurrency"),
        ({"type": "nope"}, r"layers\[0\]\.type: unknown layer type 'nope'"),
    ]
    for layer, pattern in cases:
        with pytest.raises(ConfigError, match=pattern):
            Registry(memory_config([layer]))


def test_retry_shorthand_builds_a_retry_layer_in_place() -> None:
    # spec: LAYER-081
    config = memory_config([{"type": "cache"}, {"type": "limit"}])
    config["backends"]["b"]["retry"] = {"max_attempts": 4, "backoff_base": 0.5, "timeout": 9}
    with Registry(config) as registry:
        store = registry.get_store("s")
        retry = store.unwrap(RetryLayer)
        assert retry.options.attempts == 4 and retry.options.deadline_s == 9
        assert retry.options.base_delay_s == 0.5
        assert isinstance(retry.inner, LimitLayer)
        assert isinstance(store.unwrap(CacheLayer).inner, RetryLayer)
    config["backends"]["b"]["layers"].append({"type": "retry"})
    with pytest.raises(ConfigError, match="both a 'retry' table and a retry layer"):
        Registry(config)


def test_code_usage_without_registry() -> None:
    # spec: LAYER-001
    store = store_on(RetryLayer(CacheLayer(MemoryBackend())))
    store.write("a/b.txt", b"hi")
    assert store.read_text("a/b.txt") == "hi"
    assert [str(f.path) for f in store.glob("**/*.txt")] == ["a/b.txt"]
    assert store.unwrap(MemoryBackend).exists("a/b.txt")


def test_stack_pickles_as_configuration() -> None:
    # spec: LAYER-003
    config = memory_config(
        [
            {"type": "observe"},
            {"type": "cache"},
            {"type": "retry", "attempts": 4},
            {"type": "limit"},
        ]
    )
    with Registry(config) as registry:
        store = registry.get_store("s")
        copy = pickle.loads(pickle.dumps(store))
        assert repr(copy.backend) == repr(store.backend)
        assert copy.unwrap(RetryLayer).options.attempts == 4
        copy.write("f", b"x")
        assert copy.read_bytes("f") == b"x"
        assert isinstance(copy.unwrap(ObserveLayer), ObserveLayer)


def test_order_warnings() -> None:
    # spec: LAYER-082
    assert stack_warnings(["observe", "cache", "retry", "limit", "fault"]) == []
    assert any("cache inside retry" in w for w in stack_warnings(["retry", "cache"]))
    assert any("observe inside cache" in w for w in stack_warnings(["cache", "observe"]))
    assert any("limit outside retry" in w for w in stack_warnings(["limit", "retry"]))
    assert any("attempts multiply" in w for w in stack_warnings(["retry", "retry"]))
    config = RegistryConfig.from_dict(
        {
            "backends": {"b": {"type": "memory", "layers": [{"type": "cache"}, {"type": "retry"}]}},
            "stores": {
                "ok": {"backend": "b", "layers": [{"type": "observe"}]},
                "bad": {"backend": "b", "layers": [{"type": "retry"}]},
            },
        }
    )
    warnings = order_warnings(config)
    assert len(warnings) == 2
    assert any(w.startswith("stores.bad.layers: cache inside retry") for w in warnings)


def test_config_check_prints_order_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # spec: LAYER-082
    path = tmp_path / "storeroom.toml"
    path.write_text(
        '[backends.m]\ntype = "memory"\nlayers = [{ type = "limit" }, { type = "retry" }]\n'
        '[stores.s]\nbackend = "m"\n'
    )
    assert main(["--config", str(path), "config", "check"]) == 0
    captured = capsys.readouterr()
    assert "config OK" in captured.out
    assert "warning:" in captured.err and "limit outside retry" in captured.err
    assert main(["--config", str(path), "--json", "config", "check"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert any("limit outside retry" in w for w in data["warnings"])


def test_layers_keep_the_inner_capabilities() -> None:
    # spec: LAYER-004
    mem = MemoryBackend()
    for layer in (
        ContextLayer(mem),
        CacheLayer(mem),
        RetryLayer(mem),
        LimitLayer(mem),
        ObserveLayer(mem),
        FaultLayer(mem),
    ):
        assert layer.capabilities == mem.capabilities
        assert layer.real_folders == mem.real_folders and layer.type_name == "memory"
