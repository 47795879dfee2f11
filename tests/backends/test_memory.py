"""Tests specific to the ``memory`` backend (the shared behaviour is in the conformance suite)."""

from __future__ import annotations

import io
import pickle
import random
import threading
import tracemalloc
from collections.abc import Callable
from typing import BinaryIO, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeroom.backend import entry_sort_key
from storeroom.backends.memory import MemoryBackend, MemoryOptions
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry


class Boom(Exception):
    """Raised by a failing source."""


class FailingSource(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        raise Boom("source failed")


def failing() -> BinaryIO:
    return cast(BinaryIO, FailingSource())


def snapshot(backend: MemoryBackend) -> list[tuple[str, str, bytes | None]]:
    """Everything in the backend: kind, path and content."""
    out: list[tuple[str, str, bytes | None]] = []
    for e in backend.list("", recursive=True):
        if isinstance(e, FileInfo):
            out.append(("file", e.path, backend.open_read(e.path).read()))
        else:
            out.append(("folder", e.path, None))
    return out


@pytest.fixture
def backend() -> MemoryBackend:
    return MemoryBackend()


# -- model ---------------------------------------------------------------------------


def test_options_and_pickling() -> None:
    # spec: MEM-001
    assert MemoryOptions.parse({}) == MemoryOptions()
    with pytest.raises(ConfigError, match="unknown option"):
        MemoryOptions.parse({"size": 1})
    backend = MemoryBackend.from_options(MemoryOptions())
    backend.write("a", b"1")
    other = MemoryBackend()
    assert not other.exists("a")  # instances are independent
    copy = pickle.loads(pickle.dumps(backend))
    assert isinstance(copy, MemoryBackend)
    assert list(copy.list("", recursive=True)) == []  # arrives empty
    assert backend.exists("a")


def test_capabilities(backend: MemoryBackend) -> None:
    # spec: MEM-002
    assert backend.capabilities == frozenset(
        {
            Capability.READ,
            Capability.WRITE,
            Capability.DELETE,
            Capability.LIST,
            Capability.GLOB,
            Capability.MOVE,
            Capability.COPY,
            Capability.ATOMIC_WRITE,
            Capability.METADATA,
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
            Capability.USER_METADATA,
            Capability.CONDITIONAL_WRITE,
            Capability.TRANSACTION,
        }
    )
    assert backend.real_folders


def test_folders_are_real(backend: MemoryBackend) -> None:
    # spec: MEM-003
    backend.write("a/b/c.txt", b"c")
    assert backend.is_folder("a") and backend.is_folder("a/b") and backend.is_folder("")
    assert not backend.is_folder("a/b/c.txt")
    backend.delete("a/b/c.txt")
    assert snapshot(backend) == [("folder", "a", None), ("folder", "a/b", None)]
    assert isinstance(backend.stat("a/b"), FolderEntry)
    assert isinstance(backend.stat(""), FolderEntry)
    backend.remove_folder("a/b")
    assert snapshot(backend) == [("folder", "a", None)]


@pytest.mark.parametrize("key", ["../x", "a//b", "/a", "a/", "a/./b", "a\\b", "a\x00b"])
def test_malformed_keys_are_refused(backend: MemoryBackend, key: str) -> None:
    # spec: MEM-004
    calls: list[Callable[[], object]] = [
        lambda: backend.write(key, b"x"),
        lambda: backend.open_read(key),
        lambda: backend.stat(key),
        lambda: backend.exists(key),
        lambda: backend.delete(key),
        lambda: backend.list(key),
    ]
    for call in calls:
        with pytest.raises(InvalidPath):
            call()
    assert snapshot(backend) == []


def test_housekeeping(backend: MemoryBackend) -> None:
    # spec: MEM-005
    assert backend.native_path("a/b.txt") == "memory://a/b.txt"
    assert backend.describe() == {}
    backend.ping()
    assert repr(backend) == "MemoryBackend()"


# -- behaviour -------------------------------------------------------------------------


def test_failed_operations_change_nothing(backend: MemoryBackend) -> None:
    # spec: MEM-010, MEM-011
    backend.write("f", b"file")
    backend.write("d/g", b"g")
    before = snapshot(backend)
    with pytest.raises(Boom):
        backend.write("new/deep/x", failing())
    with pytest.raises(Boom):
        backend.write("f", failing(), overwrite=True)
    with pytest.raises(InvalidPath):
        backend.write("f/child/x", b"x")
    with pytest.raises(InvalidPath):
        backend.write("d", b"x", overwrite=True)
    with pytest.raises(AlreadyExists):
        backend.write("f", b"other")
    with pytest.raises(InvalidPath):
        backend.move("d/g", "f/x")
    with pytest.raises(AlreadyExists):
        backend.move("d/g", "f")
    with pytest.raises(InvalidPath):
        backend.copy("d", "e")
    with pytest.raises(NotFound):
        backend.copy("missing", "new/x")
    with pytest.raises(DirectoryNotEmpty):
        backend.remove_folder("d")
    assert snapshot(backend) == before


def test_metadata_round_trip(backend: MemoryBackend) -> None:
    # spec: MEM-012
    meta = {"owner": "ana", "kind": "report"}
    result = backend.write("a.txt", b"x", metadata=meta)
    meta["owner"] = "changed after the write"
    assert result.metadata == {"owner": "ana", "kind": "report"}
    info = backend.stat("a.txt")
    assert isinstance(info, FileInfo)
    assert info.metadata == {"owner": "ana", "kind": "report"}
    with pytest.raises(TypeError):
        info.metadata["owner"] = "x"  # type: ignore[index]
    backend.write("plain.txt", b"x")
    plain = backend.stat("plain.txt")
    assert isinstance(plain, FileInfo) and plain.metadata == {}
    copied = backend.copy("a.txt", "b.txt")
    assert copied.metadata == {"owner": "ana", "kind": "report"}
    before = backend.stat("a.txt")
    backend.move("a.txt", "moved/a.txt")
    after = backend.stat("moved/a.txt")
    assert isinstance(before, FileInfo) and isinstance(after, FileInfo)
    assert (after.metadata, after.modified_at, after.etag) == (
        before.metadata,
        before.modified_at,
        before.etag,
    )
    listed = [e for e in backend.list("moved") if isinstance(e, FileInfo)]
    assert listed[0].metadata == {"owner": "ana", "kind": "report"}


def _etag(backend: MemoryBackend, key: str) -> str | None:
    info = backend.stat(key)
    assert isinstance(info, FileInfo)
    return info.etag


def test_write_result_and_etag(backend: MemoryBackend) -> None:
    # spec: MEM-013
    result = backend.write("d/a.bin", io.BytesIO(b"hello"))
    info = backend.stat("d/a.bin")
    assert isinstance(info, FileInfo)
    assert (result.path, result.size) == ("d/a.bin", 5)
    assert result.etag and result.etag == info.etag
    assert [e.etag for e in backend.list("d")] == [result.etag]  # stable while unchanged
    assert result.last_modified == info.modified_at
    assert info.modified_at is not None and info.modified_at.utcoffset() is not None


def test_etag_changes_with_every_write_and_follows_copies(backend: MemoryBackend) -> None:
    # spec: MEM-013
    first = backend.write("a.bin", b"same").etag
    again = backend.write("a.bin", b"same", overwrite=True).etag
    changed = backend.write("a.bin", b"other", overwrite=True).etag
    assert len({first, again, changed}) == 3  # a new write is a new version, content or not
    assert _etag(backend, "a.bin") == changed
    other = backend.write("b.bin", b"other").etag
    assert other != changed  # equal content written twice: two versions
    # A copy has the very same content: it keeps the etag; a move keeps it too.
    assert backend.copy("a.bin", "c.bin").etag == changed == _etag(backend, "c.bin")
    backend.move("c.bin", "d/c.bin")
    assert _etag(backend, "d/c.bin") == changed
    # Another backend in this process never issues the same etag.
    assert MemoryBackend().write("a.bin", b"other").etag not in {first, again, changed, other}


def test_etags_of_a_forked_child_differ_from_its_parent(backend: MemoryBackend) -> None:
    # spec: MEM-013 - a child continues from a copy of the parent's state: its
    # writes must not repeat the etags the parent goes on to issue.
    import os

    backend.write("seed.bin", b"x")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_end)
        etag = backend.write("a.bin", b"child").etag or ""
        os.write(write_end, etag.encode())
        os._exit(0)
    os.close(write_end)
    parent = backend.write("a.bin", b"parent").etag
    with os.fdopen(read_end, "rb") as f:
        child = f.read().decode()
    os.waitpid(pid, 0)
    assert child and parent and child != parent


def test_errors_carry_context(backend: MemoryBackend) -> None:
    # spec: MEM-014
    backend.write("d/f", b"x")
    cases: list[tuple[Callable[[], object], type[StoreroomError], str]] = [
        (lambda: backend.open_read("nope"), NotFound, "nope"),
        (lambda: backend.open_read("d"), InvalidPath, "d"),
        (lambda: backend.open_read("d/f", -1), InvalidPath, "d/f"),
        (lambda: backend.delete("d"), InvalidPath, "d"),
        (lambda: backend.delete("d/f/x"), NotFound, "d/f/x"),
        (lambda: backend.write("d/f", b"y"), AlreadyExists, "d/f"),
        (lambda: backend.write("", b"y"), InvalidPath, ""),
        (lambda: backend.remove_folder(""), InvalidPath, ""),
        (lambda: backend.remove_folder("d/f"), InvalidPath, "d/f"),
        (lambda: backend.remove_folder("zz"), NotFound, "zz"),
        (lambda: backend.remove_folder("d"), DirectoryNotEmpty, "d"),
        (lambda: backend.move("d", "e"), InvalidPath, "d"),
    ]
    for call, cls, path in cases:
        with pytest.raises(cls) as info:
            call()
        assert (info.value.path, info.value.backend) == (path, "memory")


@given(
    data=st.binary(max_size=200),
    start=st.none() | st.integers(min_value=0, max_value=250),
    end=st.none() | st.integers(min_value=0, max_value=250),
)
def test_reads_are_snapshots_and_ranges_slice(
    data: bytes, start: int | None, end: int | None
) -> None:
    # spec: MEM-015
    backend = MemoryBackend()
    backend.write("f", data)
    stream = backend.open_read("f", start, end)
    backend.write("f", b"replaced", overwrite=True)
    backend.delete("f")
    assert stream.read() == data[start:end]


def test_listing_reads_a_folder_when_it_enters_it(backend: MemoryBackend) -> None:
    # spec: MEM-016
    for i in range(5):
        backend.write(f"d/{i}", b"x")
    it = backend.list("d")
    first = next(it)
    backend.remove_folder("d", recursive=True)
    backend.write("d/new", b"y")
    assert [first.path, *(e.path for e in it)] == [f"d/{i}" for i in range(5)]
    assert [e.path for e in backend.list("d")] == ["d/new"]
    assert list(backend.list("missing")) == []
    assert list(backend.list("d/new")) == []


def test_listing_streams_folder_by_folder(backend: MemoryBackend) -> None:
    # spec: MEM-016
    for folder in "abd":
        for i in range(3):
            backend.write(f"{folder}/{i}", b"x")
    it = backend.list("", recursive=True)
    head = [next(it).path for _ in range(3)]
    assert head == ["a", "a/0", "a/1"]
    backend.write("b/new", b"y")  # b is not entered yet: shows
    backend.write("c/x", b"y")  # a new folder after the walk's position: shows
    backend.delete("a/2")  # a was read when entered: still listed
    backend.remove_folder("d", recursive=True)  # gone before the walk reaches it
    rest = [e.path for e in it]
    assert rest == ["a/2", "b", "b/0", "b/1", "b/2", "b/new"]
    # "c" is not in the root folder as read at the start; "d" is gone when reached.


def test_listing_holds_one_folder_per_level(backend: MemoryBackend) -> None:
    # spec: MEM-016
    for f in range(100):
        for i in range(100):
            backend.write(f"folder{f:03}/file{i:03}.bin", b"")
    tracemalloc.start()
    try:
        it = backend.list("", recursive=True)
        assert [next(it).path for _ in range(3)] == [
            "folder000",
            "folder000/file000.bin",
            "folder000/file001.bin",
        ]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 150_000, peak  # a snapshot of the 10,100 entries takes over 1 MB


def test_listing_survives_changes_at_every_step(backend: MemoryBackend) -> None:
    # spec: MEM-016
    rng = random.Random(7)
    for i in range(200):
        backend.write(f"{rng.choice('abcde')}/{rng.choice('xyz')}/{i}", b"x")
    seen = []
    for entry in backend.list("", recursive=True):
        seen.append(entry)
        folder = f"{rng.choice('abcdef')}/{rng.choice('xyzw')}"
        backend.write(f"{folder}/n{len(seen)}", b"y", overwrite=True)
        if rng.random() < 0.3:
            try:
                backend.remove_folder(folder, recursive=True)
            except NotFound:
                pass
    assert seen == sorted(seen, key=entry_sort_key)
    assert len({e.path for e in seen}) == len(seen)


segment = st.sampled_from(["a", "b", "a-b", "a0", "B", "é", "a.txt"])


@settings(max_examples=60)
@given(paths=st.lists(st.lists(segment, min_size=1, max_size=4), max_size=15))
def test_listing_order_and_base(paths: list[list[str]]) -> None:
    # spec: MEM-016, MEM-003
    backend = MemoryBackend()
    files: set[str] = set()
    for parts in paths:
        key = "/".join(parts)
        try:
            backend.write(key, b"")
            files.add(key)
        except (InvalidPath, AlreadyExists):
            pass
    folders = {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
    entries = list(backend.list("", recursive=True))
    assert entries == sorted(entries, key=entry_sort_key)
    assert {e.path for e in entries} == files | folders
    top = list(backend.list(""))
    assert {e.path for e in top} == {p for p in files | folders if "/" not in p}
    for folder in folders:
        sub = [e.path for e in backend.list(folder, recursive=True, base=folder)]
        expected = {p[len(folder) + 1 :] for p in files | folders if p.startswith(folder + "/")}
        assert set(sub) == expected and len(sub) == len(expected)


# -- threads -------------------------------------------------------------------------


def test_many_threads_keep_a_consistent_state(backend: MemoryBackend) -> None:
    # spec: MEM-020
    threads, rounds = 12, 150
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(t: int) -> None:
        rng = random.Random(t)
        try:
            for i in range(rounds):
                key = f"w{t}/{rng.randrange(20)}"
                action = rng.random()
                if action < 0.5:
                    backend.write(key, f"{t}:{i}".encode(), overwrite=True)
                elif action < 0.7:
                    try:
                        backend.delete(key)
                    except NotFound:
                        pass
                elif action < 0.85:
                    try:
                        backend.move(key, f"w{t}/moved", overwrite=True)
                    except NotFound:
                        pass
                else:
                    try:
                        backend.copy(key, f"shared/{t}", overwrite=True)
                    except NotFound:
                        pass
            backend.write(f"w{t}/done", b"done")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                entries = list(backend.list("", recursive=True))
                assert entries == sorted(entries, key=entry_sort_key)
                for e in entries:
                    if isinstance(e, FileInfo):
                        try:
                            data = backend.open_read(e.path).read()
                        except NotFound:
                            continue  # deleted after the snapshot: fine
                        assert b":" in data or data == b"done"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in pool + readers:
        t.start()
    for t in pool:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    for n in range(threads):
        assert backend.open_read(f"w{n}/done").read() == b"done"
    files = [e for e in backend.list("", recursive=True) if isinstance(e, FileInfo)]
    for info in files:
        assert backend.open_read(info.path).read() != b""
        assert info.size == len(backend.open_read(info.path).read())


def test_concurrent_moves_never_lose_or_duplicate_a_file(backend: MemoryBackend) -> None:
    # spec: MEM-020, MEM-010
    slots = [f"slot{i}" for i in range(8)]
    backend.write(slots[0], b"token")
    barrier = threading.Barrier(8)

    def mover(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(300):
            src, dst = rng.sample(slots, 2)
            try:
                backend.move(src, dst)
            except (NotFound, AlreadyExists):
                pass

    pool = [threading.Thread(target=mover, args=(s,)) for s in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    present = [e.path for e in backend.list("") if isinstance(e, FileInfo)]
    assert len(present) == 1
    assert backend.open_read(present[0]).read() == b"token"


def _listing(backend: MemoryBackend, prefix: str, base: str = "") -> list[tuple[str, int]]:
    return [
        (e.path, e.size if isinstance(e, FileInfo) else -1)
        for e in backend.list(prefix, recursive=True, base=base)
    ]


def test_listing_after_each_kind_of_change(backend: MemoryBackend) -> None:
    # spec: MEM-016, MEM-017 - a folder keeps its order and entries only until it changes
    backend.write("r/d/a", b"1")
    backend.write("r/d/b", b"22")
    backend.write("r/d/sub/c", b"333")
    expected = [("d/a", 1), ("d/b", 2), ("d/sub", -1), ("d/sub/c", 3)]
    assert _listing(backend, "r/d", base="r") == expected
    first = list(backend.list("r/d", base="r"))
    assert list(backend.list("r/d", base="r")) == first  # unchanged: the same entries
    a4, b2, c3, sub = ("d/a", 4), ("d/b", 2), ("d/c", 3), ("d/sub", -1)
    changes: list[tuple[Callable[[], object], list[tuple[str, int]]]] = [
        (lambda: backend.write("r/d/a", b"four", overwrite=True), [a4, b2, sub]),
        (lambda: backend.write("r/d/aa", b"x"), [a4, ("d/aa", 1), b2, sub]),
        (lambda: backend.delete("r/d/aa"), [a4, b2, sub]),
        (lambda: backend.move("r/d/b", "r/d/sub/b"), [a4, sub]),
        (lambda: backend.copy("r/d/sub/c", "r/d/c"), [a4, c3, sub]),
        (lambda: backend.remove_folder("r/d/sub", recursive=True), [a4, c3]),
        (lambda: backend.write("r/d/sub/new", b"55555"), [a4, c3, sub]),
    ]
    for change, top in changes:
        change()
        listed = [(p, s) for p, s in _listing(backend, "r/d", base="r") if p.count("/") == 1]
        assert listed == top, change
    assert _listing(backend, "r/d/sub", base="r") == [("d/sub/new", 5)]
    # The same folder under another store root: paths of that root, not the cached ones.
    assert [e.path for e in backend.list("r/d")] == ["r/d/a", "r/d/c", "r/d/sub"]
    assert [e.path for e in backend.list("r/d", base="r")] == ["d/a", "d/c", "d/sub"]
    assert not backend.exists("r/d/sub/c") and not backend.exists("r/d/b")
    assert backend.exists("r/d/sub/new") and backend.is_folder("r/d/sub")


def test_index_follows_folder_removal_and_moves(backend: MemoryBackend) -> None:
    # spec: MEM-017
    for key in ("x/y/z/1", "x/y/2", "x/3"):
        backend.write(key, b"v")
    backend.remove_folder("x/y", recursive=True)
    for gone in ("x/y", "x/y/z", "x/y/z/1", "x/y/2"):
        assert not backend.exists(gone)
        with pytest.raises(NotFound):
            backend.stat(gone)
    backend.write("x/y", b"now a file")  # the name is free again, as a file
    with pytest.raises(InvalidPath, match="parent"):
        backend.write("x/y/under", b"v")
    with pytest.raises(InvalidPath):
        backend.exists("x//y")  # a malformed key is refused even where nothing is
    assert sorted(str(e.path) for e in backend.list("x")) == ["x/3", "x/y"]
