"""Registry: lazy shared backends, thread safety, plugins, pickling (specs/21-registry.md)."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Secret, Store, register_backend
from storeroom.backends.memory import MemoryBackend
from storeroom.errors import ConfigError
from storeroom.registry import UnknownName, known_backend_types

BUILDS: list[dict[str, Any]] = []


class CountingBackend(MemoryBackend):
    """A memory backend that records how it was built (used as a third-party type)."""

    def __init__(self, **options: Any) -> None:
        super().__init__()
        BUILDS.append(options)
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def _counting_type() -> Iterator[None]:
    BUILDS.clear()
    register_backend("counting", CountingBackend, replace=True)
    yield


def config(**stores: str) -> RegistryConfig:
    return RegistryConfig.from_dict(
        {
            "backends": {"c": {"type": "counting", "options": {"token": "tok-9876543"}}},
            "stores": {name: {"backend": "c", "root_path": root} for name, root in stores.items()},
        }
    )


def test_backends_are_lazy_shared_and_closed() -> None:
    # spec: REG-001, REG-002, REG-004
    reg = Registry(config(a="x", b="y"))
    assert BUILDS == []
    a, b = reg.get_store("a"), reg.get_store("b")
    assert len(BUILDS) == 1
    assert a.backend is b.backend
    assert isinstance(BUILDS[0]["token"], Secret)
    a.write("f", b"1")
    assert a.exists("f") and not b.exists("f")
    backend = a.unwrap(CountingBackend)  # under the Registry's context layer (LAYER-070)
    reg.close()
    assert isinstance(backend, CountingBackend) and backend.closed


def test_context_manager_closes() -> None:
    # spec: REG-004
    with Registry(config(a="")) as reg:
        backend = reg.get_store("a").unwrap(CountingBackend)
    assert isinstance(backend, CountingBackend) and backend.closed


def test_concurrent_get_store_builds_once() -> None:
    # spec: REG-003
    reg = Registry(config(a="1", b="2", c="3"))
    barrier = threading.Barrier(16)
    got: list[Store] = []

    def worker(name: str) -> None:
        barrier.wait()
        got.append(reg.get_store(name))

    threads = [threading.Thread(target=worker, args=("abc"[i % 3],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(BUILDS) == 1
    assert len({id(s.backend) for s in got}) == 1


def test_unknown_store_is_keyerror_listing_names() -> None:
    # spec: REG-005
    reg = Registry(config(alpha="", beta=""))
    with pytest.raises(KeyError) as info:
        reg.get_store("gamma")
    assert isinstance(info.value, UnknownName) and isinstance(info.value, ConfigError)
    assert "alpha" in str(info.value) and "beta" in str(info.value)


def test_validation_happens_at_construction() -> None:
    # spec: REG-006
    bad = RegistryConfig.from_dict({"backends": {"m": {"type": "local", "options": {}}}})
    with pytest.raises(ConfigError, match="missing required option"):
        Registry(bad)


def test_register_backend_refuses_duplicates_and_bad_factories() -> None:
    # spec: REG-010
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("counting", CountingBackend)
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("local", CountingBackend)
    register_backend("not-a-backend", lambda **kw: object(), replace=True)
    reg = Registry(
        {"backends": {"n": {"type": "not-a-backend"}}, "stores": {"s": {"backend": "n"}}}
    )
    with pytest.raises(ConfigError, match="not a storeroom Backend"):
        reg.get_store("s")
    assert "counting" in known_backend_types() and "local" in known_backend_types()


def test_entry_point_backends_are_discovered(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: REG-011
    from importlib import metadata

    ep = metadata.EntryPoint(
        name="via-entry-point",
        value="storeroom.backends.memory:MemoryBackend",
        group="storeroom.backends",
    )
    real = metadata.entry_points

    def fake(**kw: Any) -> Any:
        if kw.get("group") == "storeroom.backends":
            return metadata.EntryPoints([ep])
        return real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)
    reg = Registry(
        {"backends": {"e": {"type": "via-entry-point"}}, "stores": {"s": {"backend": "e"}}}
    )
    store = reg.get_store("s")
    store.write("k", b"v")
    assert store.read_bytes("k") == b"v"


def test_registry_and_store_pickle_as_configuration(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # spec: REG-020
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"d": {"type": "local", "options": {"root": str(tmp_path)}}},
            "stores": {"s": {"backend": "d", "root_path": "sub"}},
        }
    )
    reg = Registry(cfg)
    store = reg.get_store("s")
    store.write("a.txt", b"payload")
    clone = pickle.loads(pickle.dumps(store))
    assert clone.read_bytes("a.txt") == b"payload"
    assert clone.root_path == "sub" and clone.name == "s"
    reg2 = pickle.loads(pickle.dumps(reg))
    assert reg2.get_store("s").read_bytes("a.txt") == b"payload"


def test_missing_extra_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: REG-012
    from storeroom import registry as regmod

    fake = regmod._BackendType(
        "fakecloud",
        "storeroom.backends.memory.config:MemoryOptions",
        "storeroom_no_such_sdk_module:Backend",
        extra="fakecloud",
    )
    monkeypatch.setitem(regmod._BUILTIN, "fakecloud", fake)
    reg = Registry({"backends": {"f": {"type": "fakecloud"}}, "stores": {"s": {"backend": "f"}}})
    with pytest.raises(ConfigError) as info:
        reg.get_store("s")
    assert 'pip install "storeroom[fakecloud]"' in str(info.value)


def test_store_repr_hides_secrets() -> None:
    # spec: REG-021
    reg = Registry(config(a="r"))
    store = reg.get_store("a")
    assert "tok-9876543" not in repr(store) + repr(reg) + repr(reg.config)
