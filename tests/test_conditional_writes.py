"""Conditional writes and deletes (``if_match``) on every writable backend (spec COND-*)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import storeroom
from every_backend import WRITABLE, registry_on
from storeroom import Capability, PreconditionFailed, Store
from storeroom.errors import CapabilityNotSupported, InvalidArgument, InvalidPath, StoreroomError

#: The backends whose test targets declare CONDITIONAL_WRITE.
DECLARING = ["local", "memory", "sql-sqlite", "sql-postgres", "s3", "azure"]
#: Writable backends without it.
NOT_DECLARING = [b for b in WRITABLE if b not in DECLARING]
WORKERS = 8


@pytest.fixture(params=DECLARING)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    registry = registry_on(request.param, tmp_path)
    try:
        yield registry.get_store("s")
    finally:
        _clean(registry)


def _clean(registry: storeroom.Registry) -> None:
    try:
        store = registry.get_store("s")
        whole = Store(registry.get_backend("b"), owns_backend=False)
        whole.delete_folder(store.root_path, recursive=True, missing_ok=True)
    except Exception:  # cleanup only
        pass
    registry.close()


def increment(store: Store, path: str, times: int) -> int:
    """Read-modify-write ``times`` increments of the counter at ``path``; returns the retries."""
    retries = 0
    done = 0
    while done < times:
        info = store.head(path)
        value = int(store.read_bytes(path))
        assert info.etag is not None
        time.sleep(0.001)  # some work between read and write: lets the workers collide
        try:
            store.write(path, str(value + 1).encode(), if_match=info.etag)
        except PreconditionFailed:
            retries += 1
            continue
        done += 1
    return retries


def test_declaring_backends_are_the_expected_ones(tmp_path: Path) -> None:
    # spec: COND-005, COND-045
    for backend in WRITABLE:
        registry = registry_on(backend, tmp_path)
        try:
            supported = registry.get_store("s").supports(Capability.CONDITIONAL_WRITE)
        finally:
            registry.close()
        assert supported == (backend in DECLARING), backend
    assert Capability.CONDITIONAL_WRITE not in storeroom.capabilities.ALL_GATES


def test_eight_threads_lose_no_increment(store: Store) -> None:
    # spec: COND-020, COND-040, COND-041, COND-042, COND-043, COND-044
    per_worker = 12 if store.backend.type_name in ("s3", "azure", "sql-blob") else 40
    store.write("counter.txt", b"0")
    retries: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def work() -> None:
        try:
            start.wait()
            retries.append(increment(store, "counter.txt", per_worker))
        except BaseException as exc:  # reported below, never lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    assert int(store.read_bytes("counter.txt")) == WORKERS * per_worker
    assert sum(retries) > 0  # the workers did collide: the condition was exercised


def test_write_returns_the_etag_head_reports(store: Store) -> None:
    # spec: COND-001, COND-010
    first = store.write("d/f.txt", b"one")
    etag = store.head("d/f.txt").etag
    assert etag is not None and etag == store.get_file_info("d/f.txt").etag
    if first.etag is not None:
        assert first.etag == etag
    listed = {f.name: f.etag for f in store.list_files("d")}
    if listed["f.txt"] is not None:
        assert listed["f.txt"] == etag
    second = store.write("d/f.txt", b"two", if_match=etag)
    assert store.read_bytes("d/f.txt") == b"two"
    now = store.head("d/f.txt").etag
    assert now is not None and now != etag
    assert second.etag in (None, now)
    third = store.write_atomic("d/f.txt", b"three", if_match=now)
    assert store.read_bytes("d/f.txt") == b"three"
    after = store.head("d/f.txt").etag
    assert third.etag in (None, after)
    store.write_text("d/f.txt", "four", if_match=f'"{after}"')  # quoted as in HTTP
    assert store.read_text("d/f.txt") == "four"


def test_mismatch_raises_and_leaves_the_file_unchanged(store: Store) -> None:
    # spec: COND-002, COND-003
    store.write("f.txt", b"old")
    stale = store.head("f.txt").etag
    assert stale is not None
    store.write("f.txt", b"new", overwrite=True)
    current = store.head("f.txt").etag
    for call in (
        lambda: store.write("f.txt", b"lost", if_match=stale),
        lambda: store.write_atomic("f.txt", b"lost", if_match=stale),
    ):
        with pytest.raises(PreconditionFailed) as info:
            call()
        err = info.value
        assert isinstance(err, StoreroomError) and not err.retryable
        assert err.path == "f.txt" and err.backend == store.backend.type_name
        assert err.expected == stale and stale in str(err)
        assert err.hint is not None and "read it again" in err.hint
        assert store.read_bytes("f.txt") == b"new"
        assert store.head("f.txt").etag == current


def test_delete_with_a_stale_etag_keeps_the_file(store: Store) -> None:
    # spec: COND-002
    store.write("f.txt", b"old")
    stale = store.head("f.txt").etag
    assert stale is not None
    store.write("f.txt", b"new", overwrite=True)
    with pytest.raises(PreconditionFailed) as info:
        store.delete("f.txt", if_match=stale)
    assert info.value.operation == "delete"
    assert store.read_bytes("f.txt") == b"new"
    current = store.head("f.txt").etag
    assert current is not None
    store.delete("f.txt", if_match=current)
    assert not store.exists("f.txt")


def test_a_missing_file_fails_the_condition_and_nothing_is_created(store: Store) -> None:
    # spec: COND-002
    store.write("f.txt", b"x")
    etag = store.head("f.txt").etag
    assert etag is not None
    with pytest.raises(PreconditionFailed):
        store.write("missing.txt", b"y", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.write("no/such/folder/f.txt", b"y", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.delete("missing.txt", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.delete("missing.txt", if_match=etag, missing_ok=True)
    assert not store.exists("missing.txt") and not store.exists("no")


def test_a_bad_etag_is_refused_before_any_io(store: Store) -> None:
    # spec: COND-004
    store.write("f.txt", b"x")
    for bad in ("", '""', 7):
        with pytest.raises(InvalidArgument):
            store.write("f.txt", b"y", if_match=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            store.delete("f.txt", if_match=bad)  # type: ignore[arg-type]
    assert store.read_bytes("f.txt") == b"x"


def test_a_folder_at_the_path_is_an_invalid_path_on_real_folder_backends(tmp_path: Path) -> None:
    # spec: COND-006
    for backend in ("local", "memory"):
        registry = registry_on(backend, tmp_path)
        try:
            store = registry.get_store("s")
            store.write("d/f.txt", b"x")
            with pytest.raises(InvalidPath):
                store.write("d", b"y", if_match="abc")
            with pytest.raises(InvalidPath):
                store.delete("d", if_match="abc")
            assert store.read_bytes("d/f.txt") == b"x"
        finally:
            _clean(registry)


@pytest.mark.parametrize("backend", NOT_DECLARING)
def test_a_backend_without_the_capability_refuses_if_match(backend: str, tmp_path: Path) -> None:
    # spec: COND-005, COND-045
    registry = registry_on(backend, tmp_path)
    try:
        store = registry.get_store("s")
        store.write("f.txt", b"x")
        etag = store.head("f.txt").etag or "any"
        for call in (
            lambda: store.write("f.txt", b"y", if_match=etag),
            lambda: store.write_atomic("f.txt", b"y", if_match=etag),
            lambda: store.delete("f.txt", if_match=etag),
        ):
            with pytest.raises(CapabilityNotSupported) as info:
                call()
            assert info.value.capability == "conditional_write"
            assert "conditional_write" in str(info.value)
        assert store.read_bytes("f.txt") == b"x"
        with pytest.raises(CapabilityNotSupported):  # the backend primitive refuses too
            store.backend.write_if_match(store.root_path + "/f.txt", b"y", etag)
    finally:
        _clean(registry)
