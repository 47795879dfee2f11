"""Conditional writes and deletes (``if_match``): honoured where declared, refused elsewhere."""

from __future__ import annotations

import threading

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import CapabilityNotSupported, PreconditionFailed
from storeroom.store import Store
from storeroom.testing.conformance._support import requires

__all__ = ["ConditionalSuite"]


def _honoured(store: Store) -> bool:
    """Whether the backend still offers CONDITIONAL_WRITE after a first call.

    A backend may learn at first use that it cannot (sql-blob on a table in
    remote-store's layout, COND-042); then ``if_match`` must be refused.
    """
    store.write("c/probe.bin", b"p", overwrite=True)
    backend = store.backend
    while hasattr(backend, "inner"):
        backend = backend.inner
    if C.CONDITIONAL_WRITE in backend.capabilities:
        return True
    with pytest.raises(CapabilityNotSupported):
        store.write("c/probe.bin", b"q", if_match=store.head("c/probe.bin").etag or "any")
    assert store.read_bytes("c/probe.bin") == b"p"
    return False


def _etag(store: Store, path: str) -> str:
    etag = store.head(path).etag
    assert etag, "a CONDITIONAL_WRITE backend must report an etag for every file"
    return etag


@requires(C.WRITE, C.METADATA)
class ConditionalSuite:
    """COND-001..020, CONF-016."""

    # spec: COND-001, COND-010
    @requires(C.CONDITIONAL_WRITE)
    def test_a_matching_etag_replaces_the_file(self, store: Store) -> None:
        if not _honoured(store):
            return
        store.write("c/f.bin", b"one")
        etag = _etag(store, "c/f.bin")
        result = store.write("c/f.bin", b"two", if_match=etag)
        assert store.read_bytes("c/f.bin") == b"two"
        now = _etag(store, "c/f.bin")
        assert now != etag and result.etag in (None, now)
        store.write_atomic("c/f.bin", b"three", if_match=now)
        assert store.read_bytes("c/f.bin") == b"three"

    # spec: COND-002, COND-003
    @requires(C.CONDITIONAL_WRITE)
    def test_a_stale_etag_changes_nothing(self, store: Store) -> None:
        if not _honoured(store):
            return
        store.write("c/f.bin", b"old")
        stale = _etag(store, "c/f.bin")
        store.write("c/f.bin", b"new", overwrite=True)
        current = _etag(store, "c/f.bin")
        with pytest.raises(PreconditionFailed) as info:
            store.write("c/f.bin", b"lost", if_match=stale)
        assert info.value.expected == stale and info.value.path == "c/f.bin"
        with pytest.raises(PreconditionFailed):
            store.delete("c/f.bin", if_match=stale)
        assert store.read_bytes("c/f.bin") == b"new"
        assert _etag(store, "c/f.bin") == current
        store.delete("c/f.bin", if_match=current)
        assert not store.exists("c/f.bin")

    # spec: COND-002
    @requires(C.CONDITIONAL_WRITE)
    def test_a_missing_file_fails_the_condition(self, store: Store) -> None:
        if not _honoured(store):
            return
        store.write("c/f.bin", b"x")
        etag = _etag(store, "c/f.bin")
        with pytest.raises(PreconditionFailed):
            store.write("c/missing.bin", b"y", if_match=etag)
        with pytest.raises(PreconditionFailed):
            store.delete("c/missing.bin", if_match=etag)
        assert not store.exists("c/missing.bin")

    # spec: COND-020
    @requires(C.CONDITIONAL_WRITE)
    def test_concurrent_increments_lose_no_update(self, store: Store) -> None:
        if not _honoured(store):
            return
        workers, each = 4, 5
        store.write("c/counter", b"0")
        errors: list[BaseException] = []

        def work() -> None:
            try:
                done = 0
                while done < each:
                    etag = _etag(store, "c/counter")
                    value = int(store.read_bytes("c/counter"))
                    try:
                        store.write("c/counter", str(value + 1).encode(), if_match=etag)
                    except PreconditionFailed:
                        continue
                    done += 1
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert int(store.read_bytes("c/counter")) == workers * each

    # spec: COND-005
    @requires(lacks=[C.CONDITIONAL_WRITE])
    def test_if_match_is_refused_without_the_capability(self, store: Store) -> None:
        store.write("c/f.bin", b"x")
        etag = store.head("c/f.bin").etag or "any"
        with pytest.raises(CapabilityNotSupported):
            store.write("c/f.bin", b"y", if_match=etag)
        with pytest.raises(CapabilityNotSupported):
            store.delete("c/f.bin", if_match=etag)
        assert store.read_bytes("c/f.bin") == b"x"
