"""store.transaction() on every backend: published together or not at all (spec TXN-*)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from every_backend import WRITABLE, registry_on
from storeroom import Capability, Store
from storeroom.errors import AlreadyExists, CapabilityNotSupported, NotFound

#: Backends that declare Capability.TRANSACTION (every S3 engine, Azure flat namespace).
TXN = ["memory", "local", "sql-sqlite", "sql-postgres", "s3", "s3-obstore", "s3-pyarrow", "azure"]
OTHERS = [b for b in WRITABLE if b not in TXN]
#: Backends that publish file by file (each file whole): TXN-030, TXN-042.
FILE_BY_FILE = {"local", "s3", "azure"}


@pytest.fixture(params=TXN)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    registry = registry_on(request.param, tmp_path)
    st = registry.get_store("s")
    try:
        yield st
    finally:
        try:
            st.delete_folder("", recursive=True, missing_ok=True)
        except Exception:
            pass
        registry.close()


def _files(store: Store) -> dict[str, bytes]:
    return {
        str(f.path): store.read_bytes(str(f.path)) for f in store.list_files("", recursive=True)
    }


def _entries(store: Store) -> list[str]:
    return sorted(str(e.path) for e in store.iter_children("")) + sorted(
        str(f.path) for f in store.list_files("", recursive=True)
    )


# spec: TXN-001, TXN-003
def test_changes_are_published_together_on_a_clean_exit(store: Store) -> None:
    assert store.supports(Capability.TRANSACTION)
    store.write("old.txt", b"old")
    store.write("gone.txt", b"gone")
    with store.transaction() as tx:
        tx.write("a/one.txt", b"1")
        tx.write_atomic("a/two.txt", b"2")
        tx.move("old.txt", "b/moved.txt")
        tx.delete("gone.txt")
        # spec: TXN-002 — readers see nothing before the exit
        assert _files(store) == {"old.txt": b"old", "gone.txt": b"gone"}
        # spec: TXN-004 — the transaction sees its own pending changes
        assert tx.read_bytes("a/one.txt") == b"1"
        assert tx.read_bytes("b/moved.txt") == b"old"
        assert not tx.exists("old.txt") and not tx.exists("gone.txt")
        assert tx.exists("a/two.txt")
    assert _files(store) == {"a/one.txt": b"1", "a/two.txt": b"2", "b/moved.txt": b"old"}
    assert tx.closed


# spec: TXN-005
def test_an_exception_rolls_everything_back_and_leaves_nothing(store: Store) -> None:
    store.write("keep.txt", b"keep")
    before = _entries(store)
    with pytest.raises(RuntimeError, match="boom"), store.transaction() as tx:
        tx.write("new/x.txt", b"x" * 100_000)
        tx.write("keep.txt", b"changed", overwrite=True)
        tx.move("keep.txt", "moved.txt")
        raise RuntimeError("boom")
    assert _entries(store) == before
    assert store.read_bytes("keep.txt") == b"keep"


# spec: TXN-006
def test_a_failing_later_operation_rolls_back_the_earlier_writes(store: Store) -> None:
    store.write("exists.txt", b"e")
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.write("first.txt", b"1")
        tx.write("exists.txt", b"clobber")  # create-only onto an existing file
    assert _files(store) == {"exists.txt": b"e"}
    with pytest.raises(NotFound), store.transaction() as tx:
        tx.write("first.txt", b"1")
        tx.delete("missing.txt")
    assert _files(store) == {"exists.txt": b"e"}


# spec: TXN-007
def test_a_conflicting_change_made_meanwhile_fails_the_commit_whole(store: Store) -> None:
    store.write("victim.txt", b"v")
    with pytest.raises(AlreadyExists), store.transaction() as tx:
        tx.write("mine.txt", b"m")
        tx.write("race.txt", b"r")
        store.write("race.txt", b"theirs")  # another writer, between staging and commit
        tx.delete("victim.txt")
    assert _files(store) == {"victim.txt": b"v", "race.txt": b"theirs"}


# spec: TXN-008
def test_swapping_two_files_through_a_third_name(store: Store) -> None:
    store.write("x", b"X")
    store.write("y", b"Y")
    with store.transaction() as tx:
        tx.move("x", "t")
        tx.move("y", "x")
        tx.move("t", "y")
    assert _files(store) == {"x": b"Y", "y": b"X"}


# spec: TXN-002
def test_a_concurrent_reader_sees_before_or_after_only_on_all_or_nothing_backends(
    store: Store,
) -> None:
    store.write("n0", b"0")
    done = threading.Event()
    seen: set[frozenset[str]] = set()

    def reader() -> None:
        while not done.is_set():
            seen.add(frozenset(str(f.path) for f in store.list_files("")))

    t = threading.Thread(target=reader)
    t.start()
    try:
        with store.transaction() as tx:
            for i in range(1, 8):
                tx.write(f"n{i}", b"x")
    finally:
        done.set()
        t.join()
    after = frozenset(f"n{i}" for i in range(8))
    assert {frozenset(str(f.path) for f in store.list_files(""))} == {after}
    if store.backend.type_name not in FILE_BY_FILE:
        assert seen <= {frozenset({"n0"}), after}


# spec: TXN-009
def test_an_ended_transaction_refuses_more_changes(store: Store) -> None:
    with store.transaction() as tx:
        tx.write("a", b"1")
    from storeroom.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="ended"):
        tx.write("b", b"2")


@pytest.mark.parametrize("backend", OTHERS)
# spec: TXN-010
def test_backends_without_the_capability_refuse_before_any_io(backend: str, tmp_path: Path) -> None:
    registry = registry_on(backend, tmp_path)
    try:
        st = registry.get_store("s")
        assert not st.supports(Capability.TRANSACTION)
        with pytest.raises(CapabilityNotSupported, match="transaction"):
            st.transaction()
    finally:
        registry.close()
