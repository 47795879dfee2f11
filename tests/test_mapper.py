"""``store.mapper(path)``: a MutableMapping[str, bytes] over a folder, on every backend."""

from __future__ import annotations

from collections.abc import MutableMapping

import pytest

import every_backend
from storeroom import Registry, Store
from storeroom.backends import MemoryBackend
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.mapping import StoreMapper

every_store = every_backend.every_store  # the fixture: a fresh store on each WRITABLE backend


def test_mapping_round_trip_on_every_backend(every_store: Store) -> None:
    # spec: MAP-001, MAP-002, MAP-003, MAP-004, MAP-005, MAP-006
    store = every_store
    store.write("outside.txt", b"not in the mapping")
    m = store.mapper("data")
    assert isinstance(m, MutableMapping)
    assert len(m) == 0 and list(m) == []
    m["a"] = b"1"
    m["sub/b"] = bytearray(b"22")
    m["sub/deep/c"] = memoryview(b"333")
    assert store.read_bytes("data/sub/b") == b"22"  # keys are paths under the folder
    assert m["sub/deep/c"] == b"333"
    assert list(m) == ["a", "sub/b", "sub/deep/c"]  # recursive, in sorted order
    assert len(m) == 3
    assert "a" in m and "sub/b" in m
    assert "sub" not in m  # a folder is not a key
    assert "missing" not in m and 3 not in m and "../outside.txt" not in m
    m["a"] = b"replaced"  # overwrite is the mapping's normal assignment
    assert m["a"] == b"replaced"
    with pytest.raises(KeyError) as info:
        m["missing"]
    assert isinstance(info.value.__cause__, NotFound)
    with pytest.raises(KeyError) as info:
        m["sub"]  # a folder is not a key (object stores: NotFound, others: InvalidPath)
    assert isinstance(info.value.__cause__, NotFound | InvalidPath)
    assert m.get("sub/deep") is None and m.pop("sub", b"d") == b"d"
    with pytest.raises(KeyError):
        del m["sub/deep"]
    assert m["sub/deep/c"] == b"333"
    del m["sub/b"]
    assert "sub/b" not in m and not store.exists("data/sub/b")
    with pytest.raises(KeyError) as info:
        del m["sub/b"]
    assert isinstance(info.value.__cause__, NotFound)
    assert store.read_bytes("outside.txt") == b"not in the mapping"


def test_mutable_mapping_behaviours_on_every_backend(every_store: Store) -> None:
    # spec: MAP-007
    m = every_store.mapper("kv")
    m.update({"x": b"1", "y/z": b"2"})
    assert m == {"x": b"1", "y/z": b"2"}
    assert m != {"x": b"1"}
    assert dict(m.items()) == {"x": b"1", "y/z": b"2"}
    assert m.setdefault("x", b"other") == b"1"
    assert m.setdefault("new", b"n") == b"n" and m["new"] == b"n"
    assert m.pop("x") == b"1" and "x" not in m
    assert m.pop("x", b"default") == b"default"
    assert m.get("nope") is None
    assert sorted(m.keys()) == ["new", "y/z"] and sorted(m.values()) == [b"2", b"n"]
    m.clear()
    assert len(m) == 0 and m == {}


def test_bulk_helpers_on_every_backend(every_store: Store) -> None:
    # spec: MAP-008, MAP-009, MAP-010, MAP-011
    m = every_store.mapper("bulk")
    values = {f"k/{i:02d}": bytes([i]) * (i + 1) for i in range(12)}
    m.setitems(values)
    assert m == values
    assert m.getitems(["k/03", "k/07"]) == {"k/03": values["k/03"], "k/07": values["k/07"]}
    with pytest.raises(KeyError) as info:
        m.getitems(["k/01", "k/missing"])
    assert info.value.args == ("k/missing",) and isinstance(info.value.__cause__, NotFound)
    assert m.getitems(["k/01", "k/missing"], on_error="omit") == {"k/01": values["k/01"]}
    m.delitems(["k/00", "k/01"])
    assert "k/00" not in m and len(m) == 10
    with pytest.raises(KeyError):
        m.delitems(["k/02", "k/00"])  # k/02 is deleted, then k/00 is reported missing
    assert "k/02" not in m
    m.delitems(["k/00", "k/03"], missing_ok=True)
    assert len(m) == 8
    every_store.write("beside.txt", b"stays")
    m.clear()
    assert list(m) == [] and every_store.read_bytes("beside.txt") == b"stays"


def test_mapper_of_the_store_root_and_values_checked() -> None:
    # spec: MAP-001, MAP-012
    with Store(MemoryBackend()) as store:
        m = store.mapper()
        m["a/b"] = b"x"
        assert m.store is store and m.root == ""
        assert store.read_bytes("a/b") == b"x"
        with pytest.raises(TypeError, match="bytes"):
            m["s"] = "text"  # type: ignore[assignment]
        with pytest.raises(TypeError):
            m.setitems({"t": "text"})  # type: ignore[dict-item]
        assert "s" not in m and "t" not in m
        assert "StoreMapper" in repr(m)


def test_invalid_keys_are_typed_errors() -> None:
    # spec: MAP-012
    with Store(MemoryBackend(), "root") as store:
        m = store.mapper("f")
        with pytest.raises(InvalidPath):
            m["../escape"] = b"x"
        with pytest.raises(InvalidPath):
            m["../escape"]
        with pytest.raises(InvalidPath):
            store.mapper("../up")
        assert "../escape" not in m


def test_atomic_write_used_where_the_backend_has_it(tmp_path: object) -> None:
    # spec: MAP-003
    calls: list[str] = []

    class Spy(MemoryBackend):
        def write(self, key, src, *, overwrite=False, atomic=False, metadata=None):  # type: ignore[no-untyped-def]
            calls.append(f"{key}:{atomic}")
            return super().write(key, src, overwrite=overwrite, atomic=atomic, metadata=metadata)

    with Store(Spy()) as store:
        store.mapper("m")["k"] = b"v"
        assert calls == ["m/k:True"]


def test_failures_other_than_missing_stay_storeroom_errors() -> None:
    # spec: MAP-002
    registry = Registry(
        {
            "backends": {"m": {"type": "memory", "layers": [{"type": "readonly"}]}},
            "stores": {"s": {"backend": "m"}},
        }
    )
    with registry:
        m = registry.get_store("s").mapper("x")
        with pytest.raises(StoreroomError) as info:
            m["k"] = b"v"
        assert not isinstance(info.value, KeyError)
        with pytest.raises(StoreroomError):
            m.setitems({"a": b"1", "b": b"2"})


def test_mapper_is_a_store_mapper() -> None:
    # spec: MAP-001
    with Store(MemoryBackend()) as store:
        assert isinstance(store.mapper("p"), StoreMapper)
        assert store.mapper("p").root == "p"


def test_async_store_hands_out_the_synchronous_mapper() -> None:
    # spec: MAP-013
    from storeroom.aio import AsyncStore

    with Store(MemoryBackend()) as store:
        m = AsyncStore(store).mapper("p")
        assert isinstance(m, StoreMapper) and m.root == "p"
        m["k"] = b"v"
        assert store.read_bytes("p/k") == b"v"
