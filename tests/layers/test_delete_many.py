"""``delete_many`` through every layer (spec BACKEND-016, BACKEND-017, EXT-009).

``Bulk`` is a memory backend that claims a native bulk delete and can fail
chosen keys, so each layer's own ``delete_many`` path is exercised without a
server; the generic path must show each key to the layers as one ``delete``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import (
    BackendUnavailable,
    CapabilityNotSupported,
    NotFound,
    PermissionDenied,
    StoreroomError,
)
from storeroom.ext.batch import batch_delete
from storeroom.layers import (
    CacheLayer,
    ContextLayer,
    FaultLayer,
    LimitLayer,
    ObserveLayer,
    ReadOnlyLayer,
    RetryLayer,
)
from storeroom.store import Store


class Bulk(MemoryBackend):
    """Memory backend with a 'native' bulk delete: one call per ``delete_many``."""

    native_delete_many = True

    def __init__(self) -> None:
        super().__init__()
        self.bulk_calls: list[list[str]] = []
        self.fail: dict[str, list[StoreroomError]] = {}

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        self.bulk_calls.append(list(keys))
        out: dict[str, StoreroomError | None] = {}
        for key in dict.fromkeys(keys):
            queued = self.fail.get(key)
            if queued:
                out[key] = queued.pop(0)
                continue
            try:
                self.delete(key)
                out[key] = None
            except StoreroomError as exc:
                out[key] = exc
        return out


def _fill(backend: MemoryBackend, *names: str) -> None:
    for name in names:
        backend.write(name, b"x")


def test_generic_path_shows_each_delete_to_the_layers() -> None:
    inner = MemoryBackend()
    _fill(inner, "a", "b")
    observe = ObserveLayer(ContextLayer(inner), log=False, record=10)
    assert not observe.native_delete_many
    results = observe.delete_many(["a", "b", "c"])
    assert results["a"] is None and results["b"] is None
    assert isinstance(results["c"], NotFound)
    assert [e.operation for e in observe.recorder.events] == ["delete"] * 3  # type: ignore[union-attr]


def test_native_flag_is_forwarded_and_one_bulk_call_is_made() -> None:
    bulk = Bulk()
    _fill(bulk, "d/a", "d/b")
    stack = ObserveLayer(
        CacheLayer(RetryLayer(LimitLayer(ContextLayer(bulk), max_concurrency=2))),
        log=False,
        record=10,
    )
    assert stack.native_delete_many
    results = stack.delete_many(["d/a", "d/b", "d/c"])
    assert bulk.bulk_calls == [["d/a", "d/b", "d/c"]]
    assert results["d/a"] is None and results["d/b"] is None
    missing = results["d/c"]
    assert isinstance(missing, NotFound)
    assert (missing.path, missing.backend, missing.operation) == ("d/c", "memory", "delete")
    (event,) = stack.recorder.events  # type: ignore[union-attr]
    assert (event.operation, event.entries, event.outcome) == ("delete_many", 3, "NotFound")


def test_cache_invalidates_every_key() -> None:
    bulk = Bulk()
    _fill(bulk, "d/a", "d/b")
    cache = CacheLayer(bulk)
    assert cache.exists("d/a") and cache.exists("d/b")
    assert [e.name for e in cache.list("d")] == ["a", "b"]
    cache.delete_many(["d/a", "d/b"])
    assert not cache.exists("d/a")
    assert not cache.exists("d/b")
    assert list(cache.list("d")) == []


def test_readonly_refuses_before_any_io() -> None:
    bulk = Bulk()
    _fill(bulk, "a")
    with pytest.raises(CapabilityNotSupported):
        ReadOnlyLayer(bulk).delete_many(["a"])
    assert bulk.bulk_calls == []
    assert bulk.exists("a")


def test_retry_resends_only_retryable_failures() -> None:
    bulk = Bulk()
    _fill(bulk, "a", "b", "c")
    bulk.fail["b"] = [BackendUnavailable("down", retryable=True, path="b")]
    bulk.fail["c"] = [PermissionDenied("no", path="c")]
    sleeps: list[float] = []
    retry = RetryLayer(bulk, attempts=3, sleep=sleeps.append)
    results = retry.delete_many(["a", "b", "c"])
    assert bulk.bulk_calls == [["a", "b", "c"], ["b"]]
    assert results["a"] is None and results["b"] is None
    assert isinstance(results["c"], PermissionDenied)
    assert len(sleeps) == 1
    assert bulk.exists("c")


def test_retry_gives_up_and_records_attempts() -> None:
    bulk = Bulk()
    _fill(bulk, "a")
    bulk.fail["a"] = [BackendUnavailable("down", retryable=True, path="a") for _ in range(5)]
    retry = RetryLayer(bulk, attempts=3, sleep=lambda s: None)
    err = retry.delete_many(["a"])["a"]
    assert isinstance(err, BackendUnavailable)
    assert err.attempts == 3
    assert len(bulk.bulk_calls) == 3


def test_fault_is_drawn_per_key() -> None:
    bulk = Bulk()
    names = [f"k{i}" for i in range(20)]
    _fill(bulk, *names)
    fault = FaultLayer(bulk, rates={"delete": 0.5}, seed=7)
    results = fault.delete_many(names)
    failed = [k for k, e in results.items() if e is not None]
    assert 0 < len(failed) < 20
    assert sorted(k for k in names if bulk.exists(k)) == sorted(failed)
    assert bulk.bulk_calls == [[k for k in names if k not in failed]]


def test_batch_delete_uses_chunks_of_delete_many() -> None:
    bulk = Bulk()
    store = Store(backend=ContextLayer(bulk), root_path="r")
    for i in range(10):
        store.write(f"f{i}", b"x")
    result = batch_delete(store, [f"f{i}" for i in range(10)] + ["nope"], chunk_size=4)
    assert [r.status for r in result] == ["ok"] * 10 + ["error"]
    assert sorted(len(c) for c in bulk.bulk_calls) == [3, 4, 4]
    err = result.items[-1].error
    assert isinstance(err, NotFound)
    assert (err.path, err.operation) == ("nope", "delete")
    assert list(store.list_files()) == []


def test_batch_delete_stop_on_error_skips_later_chunks() -> None:
    bulk = Bulk()
    store = Store(backend=bulk)
    result = batch_delete(
        store, [f"x{i}" for i in range(8)], chunk_size=2, stop_on_error=True, max_workers=1
    )
    # The first chunk runs on the calling thread (it is fast, EXT-006) and fails:
    # no later chunk starts.
    assert [r.status for r in result] == ["error"] * 2 + ["skipped"] * 6
