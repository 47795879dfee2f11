"""The ``tiers`` backend: read-through tiers, writes to the first, deletes from all (48-*)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeroom import Registry, Store
from storeroom.backends import MemoryBackend, TiersBackend
from storeroom.capabilities import Capability as C
from storeroom.errors import AlreadyExists, CapabilityNotSupported, ConfigError, NotFound


def _paths(entries: Any) -> list[str]:
    return [str(e.path) for e in entries]


def _config(*, promote: bool = False, slow_layers: list[Any] | None = None) -> dict[str, Any]:
    slow_store: dict[str, Any] = {"backend": "slow"}
    if slow_layers:
        slow_store["layers"] = slow_layers
    return {
        "backends": {
            "fast": {"type": "memory"},
            "slow": {"type": "memory"},
            "both": {
                "type": "tiers",
                "options": {"tiers": ["fast:", {"store": "slowview"}], "promote": promote},
            },
        },
        "stores": {
            "both": {"backend": "both"},
            "fast": {"backend": "fast"},
            "slow": {"backend": "slow"},
            "slowview": slow_store,
        },
    }


@pytest.fixture
def reg() -> Registry:
    return Registry(_config())


# spec: MOUNT-040, MOUNT-041
def test_reads_fall_through_and_writes_go_to_the_first_tier(reg: Registry) -> None:
    both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
    slow.write("old.txt", b"archived")
    assert both.read_bytes("old.txt") == b"archived"
    assert both.read_range("old.txt", 2, 5) == b"chi"
    assert both.get_file_info("old.txt").size == 8
    assert not fast.exists("old.txt")  # no promotion by default
    both.write("new.txt", b"fresh")
    assert fast.read_bytes("new.txt") == b"fresh" and not slow.exists("new.txt")
    both.write("old.txt", b"updated", overwrite=True)
    assert both.read_bytes("old.txt") == b"updated"  # the first tier shadows
    assert slow.read_bytes("old.txt") == b"archived"


# spec: MOUNT-042
def test_a_create_only_write_sees_every_tier(reg: Registry) -> None:
    both, fast = reg.get_store("both"), reg.get_store("fast")
    reg.get_store("slow").write("x", b"below")
    with pytest.raises(AlreadyExists, match="tier 1") as info:
        both.write("x", b"new")
    assert info.value.path == "x"
    assert not fast.exists("x")


# spec: MOUNT-043
def test_listings_merge_every_tier_the_first_winning(reg: Registry) -> None:
    both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
    slow.write("a/1", b"slow-one")
    slow.write("b", b"slow-b")
    fast.write("a/1", b"fast")
    fast.write("a/2", b"fast-two")
    assert _paths(both.list_files(recursive=True)) == ["a/1", "a/2", "b"]
    sizes = {str(f.path): f.size for f in both.list_files(recursive=True)}
    assert sizes["a/1"] == 4  # the first tier's entry
    assert _paths(both.iter_children()) == ["a", "b"]
    assert both.exists("b") and both.is_folder("a")


# spec: MOUNT-045
def test_delete_removes_the_file_from_every_tier(reg: Registry) -> None:
    both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
    slow.write("f", b"1")
    fast.write("f", b"2")
    both.delete("f")
    assert not fast.exists("f") and not slow.exists("f") and not both.exists("f")
    with pytest.raises(NotFound) as info:
        both.delete("f")
    assert info.value.path == "f" and info.value.backend == "tiers"
    slow.write("d/x", b"1")
    fast.write("d/y", b"2")
    both.delete_folder("d", recursive=True)
    assert not both.exists("d/x") and not both.exists("d/y")


# spec: MOUNT-045, MOUNT-020
def test_a_file_in_a_read_only_lower_tier_is_not_deleted_half_way() -> None:
    with Registry(_config(slow_layers=["readonly"])) as reg:
        both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
        slow.write("f", b"kept")
        fast.write("f", b"top")
        with pytest.raises(CapabilityNotSupported, match="tier 1") as info:
            both.delete("f")
        assert info.value.path == "f" and info.value.backend == "tiers"
        assert fast.read_bytes("f") == b"top"  # refused before any delete
        fast.write("only-top", b"x")
        both.delete("only-top")  # a file only in writable tiers is fine


# spec: MOUNT-044
def test_promote_copies_whole_reads_up_but_not_ranged_ones() -> None:
    with Registry(_config(promote=True)) as reg:
        both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
        slow.write("big.bin", b"0123456789", metadata={"k": "v"})
        assert both.read_range("big.bin", 0, 3) == b"012"
        assert not fast.exists("big.bin")
        assert both.read_bytes("big.bin") == b"0123456789"
        assert fast.read_bytes("big.bin") == b"0123456789"
        assert fast.get_file_info("big.bin").metadata == {"k": "v"}
        slow.write("big.bin", b"changed below", overwrite=True)
        assert both.read_bytes("big.bin") == b"0123456789"  # served from the first tier now


# spec: MOUNT-046
def test_move_and_copy_read_any_tier_and_write_the_first(reg: Registry) -> None:
    both, fast, slow = reg.get_store("both"), reg.get_store("fast"), reg.get_store("slow")
    slow.write("src", b"payload")
    both.copy("src", "copy")
    assert fast.read_bytes("copy") == b"payload" and slow.exists("src")
    both.move("src", "moved")
    assert fast.read_bytes("moved") == b"payload"
    assert not slow.exists("src") and not both.exists("src")
    assert C.ATOMIC_MOVE not in both.capabilities


# spec: MOUNT-047
def test_capabilities_writes_follow_the_first_tier(tmp_path: Path) -> None:
    config = _config()
    config["backends"]["both"]["options"]["tiers"] = [{"store": "slowview"}, "fast:"]
    config["stores"]["slowview"]["layers"] = ["readonly"]
    with Registry(config) as reg:
        both = reg.get_store("both")
        assert both.supports(C.READ) and not both.supports(C.WRITE)
        with pytest.raises(CapabilityNotSupported):
            both.write("x", b"1")


# spec: MOUNT-006
def test_tiers_in_code() -> None:
    fast, slow = MemoryBackend(), MemoryBackend()
    Store(slow).write("f", b"slow")
    store = Store(TiersBackend([fast, slow], promote=True))
    assert store.read_bytes("f") == b"slow"
    assert Store(fast).read_bytes("f") == b"slow"
    with pytest.raises(ConfigError, match="empty"):
        Registry({"backends": {"t": {"type": "tiers", "options": {"tiers": []}}}, "stores": {}})


_NAMES = ["a", "b", "d/c", "d/e"]
_OPS = st.lists(
    st.tuples(
        st.sampled_from(["write", "overwrite", "delete", "move", "copy", "read"]),
        st.sampled_from(_NAMES),
        st.sampled_from(_NAMES),
        st.binary(max_size=4),
    ),
    max_size=12,
)


# spec: MOUNT-041, MOUNT-042, MOUNT-043, MOUNT-045, MOUNT-046
@settings(max_examples=60, deadline=None)
@given(below=st.dictionaries(st.sampled_from(_NAMES), st.binary(max_size=4)), ops=_OPS)
def test_tiers_behave_like_one_store_over_the_merged_files(
    below: dict[str, bytes], ops: list[tuple[str, str, str, bytes]]
) -> None:
    fast, slow = MemoryBackend(), MemoryBackend()
    for path, data in below.items():
        Store(slow).write(path, data)
    store = Store(TiersBackend([fast, slow], promote=True))
    model = dict(below)
    for op, path, other, data in ops:
        if op in ("write", "overwrite"):
            if op == "write" and path in model:
                with pytest.raises(AlreadyExists):
                    store.write(path, data)
            else:
                store.write(path, data, overwrite=True)
                model[path] = data
        elif op == "delete":
            if path in model:
                store.delete(path)
                del model[path]
            else:
                with pytest.raises(NotFound):
                    store.delete(path)
        elif op in ("move", "copy"):
            if path not in model:
                with pytest.raises(NotFound):
                    getattr(store, op)(path, other, overwrite=True)
                continue
            getattr(store, op)(path, other, overwrite=True)
            model[other] = model[path]
            if op == "move" and other != path:
                del model[path]
        elif path in model:
            assert store.read_bytes(path) == model[path]
        assert _paths(store.list_files(recursive=True)) == sorted(model)
    for path, data in model.items():
        assert store.read_bytes(path) == data
