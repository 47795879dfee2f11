"""Cache entry bound and the failed event's exception: what the remote-store wrappers build on."""

from __future__ import annotations

import pytest

from storeroom import NotFound, Store
from storeroom.backends import MemoryBackend
from storeroom.errors import ConfigError
from storeroom.layers import CacheLayer, ObserveLayer
from storeroom.layers.observe import ObserveEvent, event_error


def test_cache_max_entries_evicts_least_recently_used() -> None:
    """spec: LAYER-022a, LAYER-025"""
    layer = CacheLayer(MemoryBackend(), max_entries=2)
    store = Store(layer)
    for name in ("a", "b", "c"):
        store.write(name, b"x")
    store.get_file_info("a")
    store.get_file_info("b")
    store.get_file_info("a")  # a is now the most recent
    store.get_file_info("c")  # evicts b
    stats = layer.stats
    assert stats.entries == stats.size == 2 and stats.evictions >= 1
    hits = stats.hits
    store.get_file_info("a")
    assert layer.stats.hits == hits + 1
    store.get_file_info("b")
    assert layer.stats.hits == hits + 1  # b was evicted: a miss
    with pytest.raises(ConfigError, match="max_entries"):
        CacheLayer(MemoryBackend(), max_entries=0)


def test_event_error_is_visible_to_sinks_only_during_delivery() -> None:
    """spec: LAYER-035a"""
    seen: list[tuple[ObserveEvent, BaseException | None]] = []
    store = Store(
        ObserveLayer(MemoryBackend(), log=False, sinks=[lambda e: seen.append((e, event_error()))])
    )
    with pytest.raises(NotFound):
        store.read_bytes("missing")
    failed = [(e, err) for e, err in seen if not e.ok]
    assert failed and all(isinstance(err, NotFound) for _, err in failed)
    assert all(err is not None and e.outcome == type(err).__name__ for e, err in failed)
    store.write("ok", b"1")
    assert seen[-1][1] is None and seen[-1][0].ok
    assert event_error() is None
