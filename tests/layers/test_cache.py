"""CacheLayer (spec LAYER-020..029)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from layer_support import NoSleep, Scripted, store_on

from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import ConfigError, NotFound
from storeroom.layers import CacheLayer, ObserveLayer, Recorder
from storeroom.store import Store


def cached(ttl_s: float | None = 60.0, **kw: Any) -> tuple[Store, CacheLayer, Scripted, NoSleep]:
    clock = NoSleep()
    counting = Scripted()
    layer = CacheLayer(counting, ttl_s=ttl_s, clock=clock.clock, **kw)
    return store_on(layer), layer, counting, clock


def test_stat_exists_list_and_reads_are_cached() -> None:
    # spec: LAYER-020, LAYER-027
    store, layer, counting, _ = cached()
    store.write("d/f.txt", b"hello")
    for _ in range(3):
        assert store.get_file_info("d/f.txt").size == 5
        assert store.exists("d/f.txt")
        assert store.is_folder("d")
        assert [f.path for f in store.list_files("d")] == ["d/f.txt"]
        assert store.read_bytes("d/f.txt") == b"hello"
        assert store.read_text("d/f.txt") == "hello"
        assert store.read_range("d/f.txt", 1, 3) == b"el"
    assert counting.calls["stat"] == 1
    assert counting.calls["exists"] == 1
    assert counting.calls["is_folder"] == 1
    assert counting.calls["list"] == 1
    assert counting.calls["open_read"] == 1  # ranged reads come from the cached content
    stats = layer.stats
    assert stats.hits >= 15 and stats.misses == 5 and stats.entries == 5 and stats.bytes > 5


def test_missing_is_cached_negatively_and_can_be_turned_off() -> None:
    # spec: LAYER-020
    store, _, counting, _ = cached()
    for _ in range(3):
        with pytest.raises(NotFound):
            store.get_file_info("nope")
    assert counting.calls["stat"] == 1
    store2, _, counting2, _ = cached(negative=False)
    for _ in range(3):
        assert not store2.is_file("nope")
    assert counting2.calls["stat"] == 3


def test_entries_expire_after_ttl() -> None:
    # spec: LAYER-021
    store, _, counting, clock = cached(ttl_s=10)
    store.write("f", b"x")
    store.get_file_info("f")
    clock.now += 9.9
    store.get_file_info("f")
    assert counting.calls["stat"] == 1
    clock.now += 0.2
    store.get_file_info("f")
    assert counting.calls["stat"] == 2


def test_lru_by_bytes_and_item_limits() -> None:
    # spec: LAYER-022
    store, layer, counting, _ = cached(max_bytes=3000, max_item_bytes=1000, max_list_entries=2)
    for name in "abc":
        store.write(name, name.encode() * 900)
    for name in "abc":
        store.read_bytes(name)
    stats = layer.stats
    assert stats.bytes <= 3000 and stats.evictions >= 1
    store.read_bytes("c")  # most recent: still cached
    assert counting.calls["open_read"] == 3
    store.read_bytes("a")  # least recent: evicted
    assert counting.calls["open_read"] == 4
    store.write("big", b"x" * 1001)
    store.read_bytes("big")
    store.read_bytes("big")
    assert counting.calls["open_read"] == 6  # over max_item_bytes: never cached
    list(store.list_files())  # 4 files > max_list_entries
    list(store.list_files())
    assert counting.calls["list"] == 2


def test_partial_or_seeking_reads_are_not_cached() -> None:
    # spec: LAYER-020
    store, _, counting, _ = cached()
    store.write("f", b"0123456789")
    with store.read("f") as stream:
        stream.read(3)
    with store.read_seekable("f") as stream:
        stream.seek(5)
        stream.read()
    store.read_bytes("f")
    assert counting.calls["open_read"] == 3


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.write("a/b/f", b"new", overwrite=True),
        lambda s: s.delete("a/b/f"),
        lambda s: s.move("a/b/f", "a/b/g"),
        lambda s: s.copy("a/b/f", "a/b/g"),
        lambda s: s.delete_folder("a/b", recursive=True),
        lambda s: s.write("a/b/h", b"new"),
    ],
)
def test_changes_invalidate_key_ancestors_and_listings(change: Any) -> None:
    # spec: LAYER-023
    store, _, _, _ = cached()
    plain = Store(store.backend.inner.inner)  # type: ignore[attr-defined]
    store.write("a/b/f", b"old")

    def look(s: Store) -> list[Any]:
        return [
            s.exists("a/b/f"),
            s.exists("a/b/g"),
            s.is_folder("a/b"),
            s.exists("a/b"),
            s.is_file("a/b/f") and s.read_bytes("a/b/f"),
            [f.path for f in s.list_files("", recursive=True)],
            [f.path for f in s.list_files("a/b")],
            [f.path for f in s.list_folders("a")],
            [e.path for e in s.iter_children("")],
        ]

    look(store)  # fill the cache
    change(store)
    assert look(store) == look(plain)


def test_fill_racing_an_invalidation_is_not_stored() -> None:
    # spec: LAYER-024
    class SlowStat(Scripted):
        gate = threading.Event()
        entered = threading.Event()

        def stat(self, key: str) -> Any:
            entry = super().stat(key)
            self.entered.set()
            self.gate.wait(5)
            return entry

    slow = SlowStat()
    layer = CacheLayer(slow)
    store = store_on(layer)
    store.write("f", b"old")
    got: list[int] = []
    t = threading.Thread(target=lambda: got.append(store.get_file_info("f").size))
    t.start()
    slow.entered.wait(5)
    store.write("f", b"newer", overwrite=True)  # invalidates while the stat is in flight
    slow.gate.set()
    t.join()
    assert got == [3]
    assert store.get_file_info("f").size == 5  # the stale fill was not kept


def test_cache_hit_reaches_observe_and_threads_share_safely() -> None:
    # spec: LAYER-025, LAYER-026, LAYER-032
    recorder = Recorder()
    layer = CacheLayer(MemoryBackend())
    store = store_on(ObserveLayer(layer, sinks=[recorder], log=False))
    store.write("f", b"x")
    store.get_file_info("f")
    store.get_file_info("f")
    assert [e.cache_hit for e in recorder.of("stat")] == [False, True]

    def work(n: int) -> None:
        for i in range(200):
            path = f"t{n}/{i % 7}"
            store.write(path, str(i).encode(), overwrite=True)
            assert store.read_bytes(path) == str(i).encode()
            assert store.exists(path)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = layer.stats
    assert stats.bytes >= 0 and stats.hits > 0


def test_options_and_ttl_alias() -> None:
    # spec: LAYER-002
    opts = CacheLayer.Options.parse({"ttl": 5, "max_bytes": 10}, where="layers[0]")
    assert opts.ttl_s == 5.0
    with pytest.raises(ConfigError, match=r"layers\[0\]\.ttl_s"):
        CacheLayer.Options.parse({"ttl_s": -1}, where="layers[0]")
    with pytest.raises(ConfigError, match=r"layers\[0\]\.size: unknown option"):
        CacheLayer.Options.parse({"size": 1}, where="layers[0]")


# -- cache + backend behaves exactly like the backend alone (LAYER-029) ------------------

PATHS = st.sampled_from(["a", "b", "a/x", "a/y", "a/x/z", "b/x", "c/d/e"])
FOLDERS = st.sampled_from(["", "a", "b", "a/x", "c", "c/d"])
DATA = st.binary(max_size=40)


def outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:
        return ("error", type(exc).__name__)


class CacheMatchesBackend(RuleBasedStateMachine):
    """Every operation through cache+memory gives what plain memory gives."""

    def __init__(self) -> None:
        super().__init__()
        self.cached = Store(CacheLayer(MemoryBackend(), max_bytes=4000, max_item_bytes=30))
        self.plain = Store(MemoryBackend())

    def both(self, fn: Any) -> None:
        a, b = outcome(lambda: fn(self.cached)), outcome(lambda: fn(self.plain))
        assert a == b

    @rule(path=PATHS, data=DATA, overwrite=st.booleans())
    def write(self, path: str, data: bytes, overwrite: bool) -> None:
        self.both(lambda s: s.write(path, data, overwrite=overwrite).size)

    @rule(path=PATHS)
    def delete(self, path: str) -> None:
        self.both(lambda s: s.delete(path))

    @rule(src=PATHS, dst=PATHS, overwrite=st.booleans())
    def move(self, src: str, dst: str, overwrite: bool) -> None:
        self.both(lambda s: s.move(src, dst, overwrite=overwrite))

    @rule(src=PATHS, dst=PATHS, overwrite=st.booleans())
    def copy(self, src: str, dst: str, overwrite: bool) -> None:
        self.both(lambda s: s.copy(src, dst, overwrite=overwrite))

    @rule(folder=FOLDERS, recursive=st.booleans())
    def delete_folder(self, folder: str, recursive: bool) -> None:
        self.both(lambda s: s.delete_folder(folder, recursive=recursive))

    @rule(path=PATHS)
    def read(self, path: str) -> None:
        self.both(lambda s: s.read_bytes(path))
        self.both(lambda s: s.read_range(path, 2, 9))

    @rule(path=st.one_of(PATHS, FOLDERS))
    def look(self, path: str) -> None:
        self.both(lambda s: (s.exists(path), s.is_file(path), s.is_folder(path)))
        self.both(lambda s: s.get_file_info(path).size)

    @rule(folder=FOLDERS, recursive=st.booleans())
    def listing(self, folder: str, recursive: bool) -> None:
        self.both(lambda s: [(f.path, f.size) for f in s.list_files(folder, recursive=recursive)])
        self.both(lambda s: [f.path for f in s.list_folders(folder, max_depth=3)])
        self.both(lambda s: [(str(f.path), f.size) for f in s.glob("**/x*")])

    @invariant()
    def same_tree(self) -> None:
        self.both(lambda s: [(f.path, f.size) for f in s.list_files("", recursive=True)])


TestCacheMatchesBackend = CacheMatchesBackend.TestCase
TestCacheMatchesBackend.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
