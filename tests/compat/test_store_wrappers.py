"""remote-store's store wrappers (cache, observe, ProxyStore, ext.write, ext.yaml) on storeroom."""

from __future__ import annotations

import contextlib
import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from every_backend import registry_on
from storeroom import (
    BufferedObserver,
    CachedStore,
    CacheStats,
    MemoryCache,
    NotFound,
    ObservedStore,
    ProxyStore,
    Store,
    StoreEvent,
    cache,
    observe,
    open_atomic_with_hash,
    set_correlation_id,
    write_with_hash,
)
from storeroom.backends import MemoryBackend
from storeroom.errors import InvalidArgument
from storeroom.layers import CacheLayer, ObserveLayer


@pytest.fixture
def store() -> Iterator[Store]:
    with Store(MemoryBackend(), "root") as s:
        yield s


# -- cache ------------------------------------------------------------------------------


def test_cache_hits_misses_and_invalidation_on_write(store: Store) -> None:
    """spec: COMPAT-011"""
    store.write("a.txt", b"one")
    cached = cache(store, ttl=60)
    assert isinstance(cached, CachedStore) and isinstance(cached, Store)
    assert cached.unwrap(CacheLayer) is cached.layer
    assert cached.read_bytes("a.txt") == b"one"
    assert cached.read_bytes("a.txt") == b"one"
    stats = cached.stats
    assert isinstance(stats, CacheStats) and stats.hits >= 1 and stats.misses >= 1
    assert stats.size == stats.entries > 0
    cached.write("a.txt", b"two", overwrite=True)  # through the cache: invalidates
    assert cached.read_bytes("a.txt") == b"two"
    store.write("a.txt", b"three", overwrite=True)  # behind its back: stale until invalidated
    assert cached.read_bytes("a.txt") == b"two"
    cached.invalidate("a.txt")
    assert cached.read_bytes("a.txt") == b"three"
    assert cached.exists("a.txt") and [f.path for f in cached.list_files("")] == ["a.txt"]
    cached.clear_cache()
    assert cached.stats.size == 0


def test_cache_ttl_expires(store: Store) -> None:
    """spec: COMPAT-011"""
    store.write("a.txt", b"old")
    cached = cache(store, ttl=0.05)
    assert cached.read_bytes("a.txt") == b"old"
    store.write("a.txt", b"new", overwrite=True)
    time.sleep(0.1)
    assert cached.read_bytes("a.txt") == b"new"


def test_cache_bounds_and_memory_cache(store: Store) -> None:
    """spec: COMPAT-011"""
    for i in range(10):
        store.write(f"f{i}.txt", b"x" * (i + 1))
    table = MemoryCache(max_entries=3)
    cached = cache(store, cache_backend=table)
    for i in range(10):
        cached.read_bytes(f"f{i}.txt")
    assert 0 < table.size() <= 3 and cached.stats.size == table.size()
    table.clear()
    assert table.size() == 0
    small = cache(store, max_content_size=4)
    small.read_bytes("f9.txt")  # 10 bytes: not cached
    small.read_bytes("f9.txt")
    assert small.layer.options.max_item_bytes == 4
    with pytest.raises(InvalidArgument, match="already serves another store"):
        cache(store, cache_backend=table)
    with pytest.raises(ValueError, match="ttl must be positive"):
        cache(store, ttl=0)
    with pytest.raises(ValueError, match="max_entries must be positive"):
        MemoryCache(max_entries=0)
    with pytest.raises(InvalidArgument, match="must be a MemoryCache"):
        cache(store, cache_backend=object())


def test_cache_child_shares_the_cache_and_close_closes_inner() -> None:
    """spec: COMPAT-011, COMPAT-010"""
    backend = MemoryBackend()
    inner = Store(backend)
    inner.write("d/a.txt", b"1")
    cached = cache(inner, ttl=60)
    child = cached.child("d")
    assert isinstance(child, CachedStore) and child.layer is cached.layer
    assert child.read_bytes("a.txt") == b"1"
    child.write("a.txt", b"2", overwrite=True)
    assert cached.read_bytes("d/a.txt") == b"2"  # the child's write invalidated the parent's view
    cached.close()
    assert "CachedStore(inner=" in repr(cached)


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_cache_and_observe_on_real_backends(backend: str, tmp_path: Path) -> None:
    """spec: COMPAT-011, COMPAT-012"""
    with registry_on(backend, tmp_path) as registry:
        store = registry.get_store("s")
        events: list[StoreEvent] = []
        wrapped = cache(observe(store, on_any=events.append), ttl=60)
        wrapped.write("x/y.bin", b"data")
        assert wrapped.read_bytes("x/y.bin") == b"data"
        assert wrapped.read_bytes("x/y.bin") == b"data"  # a hit: never reaches observe
        reads = [e for e in events if e.operation == "read"]
        assert len(reads) == 1 and reads[0].path == "x/y.bin" and reads[0].backend == backend
        assert reads[0].metadata["bytes"] == 4
        wrapped.delete("x/y.bin")
        assert not wrapped.exists("x/y.bin")


# -- observe ----------------------------------------------------------------------------


def test_observe_hooks_events_and_correlation(store: Store) -> None:
    """spec: COMPAT-012"""
    calls: dict[str, list[StoreEvent]] = {}

    def hook(name: str) -> Any:
        return lambda event: calls.setdefault(name, []).append(event)

    observed = observe(
        store,
        on_read=hook("read"),
        on_write=hook("write"),
        on_delete=hook("delete"),
        on_copy=hook("copy"),
        on_move=hook("move"),
        on_list=hook("list"),
        on_error=hook("error"),
        on_any=hook("any"),
    )
    assert isinstance(observed, ObservedStore) and observed.unwrap(ObserveLayer) is observed.layer
    token = set_correlation_id("req-7")
    try:
        observed.write("a.txt", b"hello")
    finally:
        from storeroom.layers.observe import reset_correlation_id

        reset_correlation_id(token)
    (write,) = calls["write"]
    assert (write.operation, write.path, write.backend) == ("write", "a.txt", "memory")
    assert write.error is None and write.duration_ms >= 0 and write.correlation_id == "req-7"
    assert write.metadata["bytes"] == 5 and write.started_at <= time.monotonic()
    assert observed.read_text("a.txt") == "hello"
    assert [e.path for e in calls["read"]] == ["a.txt"]
    observed.copy("a.txt", "b.txt")
    observed.move("b.txt", "c.txt")
    assert [e.operation for e in calls["copy"]] == ["copy"]
    assert calls["move"][0].path == "b.txt"
    list(observed.list_files(""))
    assert any(e.operation == "list" for e in calls["list"])
    observed.delete("c.txt")
    assert calls["delete"][0].path == "c.txt"
    with pytest.raises(NotFound):
        observed.read_bytes("missing.txt")
    (failed,) = calls["error"]
    assert isinstance(failed.error, NotFound) and failed.path == "missing.txt"
    assert len(calls["any"]) >= 7


def test_observe_around_and_broken_hook(store: Store) -> None:
    """spec: COMPAT-012"""
    seen: list[tuple[str, str, str]] = []

    @contextlib.contextmanager
    def around(op: str, path: str, backend: str) -> Iterator[None]:
        seen.append((op, path, backend))
        yield

    def broken(event: StoreEvent) -> None:
        raise RuntimeError("hook bug")

    observed = observe(store, around=around, on_write=broken)
    observed.write("a.txt", b"x")  # the broken hook does not break the write
    assert store.read_bytes("a.txt") == b"x"
    assert seen == [("write", "a.txt", "memory")]
    child = observed.child("sub")
    assert isinstance(child, ObservedStore)
    child.write("b.txt", b"y")
    assert seen[-1] == ("write", "b.txt", "memory")
    assert store.read_bytes("sub/b.txt") == b"y"


def test_buffered_observer_batches_events(store: Store) -> None:
    """spec: COMPAT-012"""
    batches: list[list[StoreEvent]] = []
    buffered = BufferedObserver(batches.append, max_queue=100, flush_interval=60)
    observed = observe(store, on_write=buffered.on_event)
    for i in range(3):
        observed.write(f"f{i}", b"x")
    assert batches == []
    buffered.flush()
    assert [e.path for e in batches[0]] == ["f0", "f1", "f2"]
    observed.write("f3", b"x")
    buffered.close()  # final flush
    assert [e.path for e in batches[1]] == ["f3"]
    observed.write("f4", b"x")  # after close: ignored
    buffered.flush()
    assert len(batches) == 2


def test_buffered_observer_drops_when_full(store: Store) -> None:
    """spec: COMPAT-012"""
    batches: list[list[StoreEvent]] = []
    buffered = BufferedObserver(batches.append, max_queue=2, flush_interval=60)
    observed = observe(store, on_any=buffered.on_event)
    for i in range(5):
        observed.write(f"f{i}", b"x")
    buffered.close()
    assert sum(len(b) for b in batches) == 2


# -- ProxyStore -------------------------------------------------------------------------


def test_proxy_store_subclass_intercepts_one_method(store: Store) -> None:
    """spec: COMPAT-010"""
    log: list[str] = []

    class LoggingStore(ProxyStore):
        def read_bytes(self, path: str) -> bytes:
            log.append(path)
            return self.inner.read_bytes(path)

    store.write("d/a.txt", b"1")
    proxy = LoggingStore(store)
    assert proxy.read_bytes("d/a.txt") == b"1" and log == ["d/a.txt"]
    assert proxy.read_text("d/a.txt") == "1" and log == ["d/a.txt"]  # not intercepted
    assert proxy.root_path == "root" and proxy.inner is store
    child = proxy.child("d")
    assert isinstance(child, LoggingStore) and child.read_bytes("a.txt") == b"1"
    assert log[-1] == "a.txt"
    assert proxy == LoggingStore(store) and proxy != ProxyStore(store)
    with proxy.open_atomic("d/b.txt") as f:
        f.write(b"2")
    assert store.read_bytes("d/b.txt") == b"2"


def test_proxy_over_observed_keeps_the_observation(store: Store) -> None:
    """spec: COMPAT-010"""
    events: list[StoreEvent] = []
    proxy = ProxyStore(observe(store, on_write=events.append))
    proxy.write("a.txt", b"x")
    assert [e.path for e in events] == ["a.txt"]


# -- ext.write --------------------------------------------------------------------------


def test_write_with_hash_bytes_and_stream(store: Store) -> None:
    """spec: COMPAT-013"""
    result = write_with_hash(store, "a.bin", b"payload")
    assert result.digest is not None
    assert result.digest.algorithm == "sha256"
    assert result.digest.value == hashlib.sha256(b"payload").hexdigest()
    assert result.size == 7 and store.read_bytes("a.bin") == b"payload"
    streamed = write_with_hash(store, "b.bin", io.BytesIO(b"abc" * 1000), algorithm="md5")
    assert streamed.digest is not None
    assert streamed.digest.value == hashlib.md5(b"abc" * 1000).hexdigest()
    with pytest.raises(Exception, match="exists"):
        write_with_hash(store, "a.bin", b"again")


def test_open_atomic_with_hash_commits_or_discards(store: Store) -> None:
    """spec: COMPAT-013"""
    with open_atomic_with_hash(store, "c.bin") as writer:
        writer.write(b"part1-")
        writer.write(b"part2")
    assert writer.result is not None and writer.result.size == 11
    assert writer.result.digest is not None
    assert writer.result.digest.value == hashlib.sha256(b"part1-part2").hexdigest()
    assert writer.hexdigest() == writer.result.digest.value
    assert store.read_bytes("c.bin") == b"part1-part2"
    with pytest.raises(RuntimeError), open_atomic_with_hash(store, "d.bin") as failing:
        failing.write(b"half")
        raise RuntimeError("stop")
    assert failing.result is None and not store.exists("d.bin")
    with open_atomic_with_hash(store, "e.bin", metadata={"k": "v"}) as meta:
        meta.write(b"m")
    assert meta.result is not None and store.get_file_info("e.bin").metadata == {"k": "v"}


# -- ext.yaml ---------------------------------------------------------------------------


def test_from_yaml_keeps_placeholders_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spec: COMPAT-014"""
    from storeroom.ext.yaml import from_yaml

    monkeypatch.setenv("COMPAT_ROOT", "from-env")
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "backends:\n  mem:\n    type: memory\n"
        "stores:\n  data:\n    backend: mem\n    root_path: ${COMPAT_ROOT}/x\n"
    )
    assert from_yaml(path).stores["data"].root_path == "${COMPAT_ROOT}/x"
    assert from_yaml(str(path), resolve_env_vars=True).stores["data"].root_path == "from-env/x"


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_observe_events_carry_the_calls_arguments(backend: str, tmp_path: Path) -> None:
    # spec: COMPAT-306
    store = registry_on(backend, tmp_path).get_store("s")
    for name in ("d/a.txt", "d/s/b.txt"):
        store.write(name, b"x")
    events: list[StoreEvent] = []
    observed = observe(store, on_copy=events.append, on_move=events.append, on_list=events.append)
    observed.copy("d/a.txt", "c.txt")
    observed.move("c.txt", dst="m.txt")
    assert [(e.operation, e.path, e.metadata["dst"]) for e in events] == [
        ("copy", "d/a.txt", "c.txt"),
        ("move", "c.txt", "m.txt"),
    ]
    events.clear()
    assert [f.name for f in observed.list_files("d", recursive=True, max_depth=0)] == ["a.txt"]
    assert observed.get_folder_info("d", max_depth=0).file_count == 1
    assert [f.name for f in observed.list_folders("", pattern="d")] == ["d"]
    listings = [e for e in events if e.operation == "list"]
    assert [(e.metadata["max_depth"], e.metadata["pattern"]) for e in listings] == [
        (0, None),
        (0, None),
        (None, "d"),
    ]
    events.clear()
    assert observed.exists("m.txt")  # other calls carry no call arguments
    assert all("dst" not in e.metadata and "max_depth" not in e.metadata for e in events)
