"""Reading and writing: content kinds, text, ranges, seeking, overwrite rules, atomic writes."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import AlreadyExists, InvalidArgument, InvalidPath, NotFound
from storeroom.path import RemotePath
from storeroom.store import Store
from storeroom.testing.conformance._helpers import Boom, failing_chunks, paths, tree
from storeroom.testing.conformance._support import (
    Profile,
    RegistryFactory,
    probe_layer,
    requires,
    requires_real_folders,
)
from storeroom.testing.conformance.targets import Target

__all__ = ["AtomicSuite", "OverwriteSuite", "ReadWriteSuite"]

DATA = bytes(range(256)) * 4  # 1024 bytes, every byte value


def _backend_declares_atomic(target: Target, profile: Profile) -> bool:
    return C.ATOMIC_WRITE in profile.backend_capabilities


#: Plain ``write`` must be all-or-nothing only where the backend itself declares
#: ATOMIC_WRITE; ``write_atomic`` wherever the store offers it (derived or native).
ATOMIC_METHODS = [
    pytest.param("write", marks=requires(when=_backend_declares_atomic), id="write"),
    pytest.param("write_atomic", id="write_atomic"),
]


def _content(kind: str, data: bytes) -> Any:
    half = len(data) // 2
    return {
        "bytes": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "bytesio": io.BytesIO(data),
        "buffered": io.BufferedReader(io.BytesIO(data)),
        "list": [data[:half], data[half:]],
        "tuple": (data[:half], b"", data[half:]),
        "generator": (data[i : i + 100] for i in range(0, len(data), 100)),
        "memoryview-chunks": [memoryview(data[:half]), bytearray(data[half:])],
    }[kind]


@requires(C.READ, C.WRITE)
class ReadWriteSuite:
    """Round trips for every accepted content kind; streaming, ranged and seekable reads."""

    # spec: STORE-007, STORE-035
    @pytest.mark.parametrize(
        "kind",
        [
            "bytes",
            "bytearray",
            "memoryview",
            "bytesio",
            "buffered",
            "list",
            "tuple",
            "generator",
            "memoryview-chunks",
        ],
    )
    def test_write_accepts_content_kind(self, store: Store, kind: str) -> None:
        result = store.write(f"kinds/{kind}.bin", _content(kind, DATA))
        assert result.size == len(DATA)
        assert store.read_bytes(f"kinds/{kind}.bin") == DATA

    # spec: STORE-007
    def test_write_accepts_real_binary_file(self, store: Store, tmp_path: Path) -> None:
        source = tmp_path / "source.bin"
        source.write_bytes(DATA)
        with open(source, "rb") as fh:
            store.write("from-file.bin", fh)
        assert store.read_bytes("from-file.bin") == DATA

    # spec: STORE-007
    @pytest.mark.parametrize("empty", [b"", bytearray(), [], iter(()), io.BytesIO()])
    def test_empty_content_round_trips(self, store: Store, empty: Any) -> None:
        result = store.write("empty.bin", empty)
        assert result.size == 0
        assert store.read_bytes("empty.bin") == b""
        assert store.is_file("empty.bin")

    # spec: STORE-007, STORE-003
    def test_large_content_streams_both_ways(self, store: Store) -> None:
        data = os.urandom(3 * 1024 * 1024 + 17)
        chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
        assert store.write("big/blob.bin", chunks).size == len(data)
        with store.read("big/blob.bin") as stream:
            parts = []
            while block := stream.read(100_000):
                assert len(block) <= 100_000
                parts.append(block)
        assert b"".join(parts) == data
        assert store.read_bytes("big/blob.bin") == data

    # spec: STORE-007
    @pytest.mark.parametrize(
        "bad",
        ["text", io.StringIO("text"), 42, None, 3.5, object()],
        ids=["str", "text-file", "int", "none", "float", "object"],
    )
    def test_write_rejects_non_binary_content(self, store: Store, bad: Any) -> None:
        with pytest.raises(InvalidArgument):
            store.write("rejected.txt", bad)
        assert not store.exists("rejected.txt")

    # spec: STORE-007
    @pytest.mark.parametrize(
        "bad", [["a", "b"], {"key": b"v"}, [b"ok", 3]], ids=["strs", "dict", "int-chunk"]
    )
    def test_write_rejects_iterable_of_non_bytes(self, store: Store, bad: Any) -> None:
        with pytest.raises(InvalidArgument):
            store.write("rejected.txt", bad)

    # spec: STORE-009, PATH-010
    def test_write_result_has_store_relative_path_and_size(self, store: Store) -> None:
        result = store.write("//dir/./sub\\file.bin/", b"12345")
        assert result.path == "dir/sub/file.bin"
        assert isinstance(result.path, RemotePath)
        assert result.size == 5
        assert store.root_path not in result.path

    # spec: STORE-003
    def test_read_returns_a_closable_binary_stream(self, store: Store) -> None:
        store.write("stream.bin", DATA)
        stream = store.read("stream.bin")
        try:
            assert stream.read(10) == DATA[:10]
            assert stream.read(6) == DATA[10:16]
            assert stream.read() == DATA[16:]
            assert stream.read() == b""
        finally:
            stream.close()

    # spec: STORE-010, STORE-004
    def test_text_round_trip(self, store: Store) -> None:
        text = "héllo wörld ✓ — 日本語\nsecond line\n"
        result = store.write_text("notes/t.txt", text)
        assert result.size == len(text.encode("utf-8"))
        assert store.read_text("notes/t.txt") == text
        assert store.read_bytes("notes/t.txt") == text.encode("utf-8")

    # spec: STORE-010, STORE-004
    def test_text_with_explicit_encoding(self, store: Store) -> None:
        store.write_text("latin.txt", "café", encoding="latin-1")
        assert store.read_bytes("latin.txt") == "café".encode("latin-1")
        assert store.read_text("latin.txt", encoding="latin-1") == "café"

    # spec: STORE-010
    def test_write_text_rejects_bytes(self, store: Store) -> None:
        with pytest.raises(InvalidArgument):
            store.write_text("t.txt", b"bytes")  # type: ignore[arg-type]
        assert not store.exists("t.txt")

    # spec: STORE-004
    def test_read_text_undecodable_is_invalid_argument(self, store: Store) -> None:
        store.write("bad.txt", b"\xff\xfe\xfa")
        with pytest.raises(InvalidArgument):
            store.read_text("bad.txt")

    # spec: STORE-005
    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (0, 10),
            (0, None),
            (100, 200),
            (1000, 1024),
            (1000, 5000),
            (1023, None),
            (5, 5),
            (1024, None),
            (1024, 2000),
            (3000, 4000),
            (0, 1024),
        ],
    )
    def test_read_range_matches_slicing(self, store: Store, start: int, end: int | None) -> None:
        store.write("range.bin", DATA)
        assert store.read_range("range.bin", start, end) == DATA[start:end]

    # spec: STORE-005
    @pytest.mark.parametrize(
        ("start", "end"), [(-1, 5), (5, 4), (0, -1), ("0", 3), (1.0, 3), (0, 2.5)]
    )
    def test_read_range_rejects_invalid_ranges(self, store: Store, start: Any, end: Any) -> None:
        store.write("range.bin", DATA)
        with pytest.raises(InvalidArgument):
            store.read_range("range.bin", start, end)

    # spec: STORE-005
    @pytest.mark.parametrize(("start", "end"), [(0, 10), (0, 0), (4, None)])
    def test_read_range_of_missing_file_is_not_found(
        self, store: Store, start: int, end: int | None
    ) -> None:
        with pytest.raises(NotFound):
            store.read_range("missing.bin", start, end)

    # spec: STORE-006
    def test_read_seekable_seeks_anywhere(self, store: Store) -> None:
        store.write("seek.bin", DATA)
        with store.read_seekable("seek.bin") as f:
            assert f.seekable()
            assert f.read(4) == DATA[:4]
            assert f.tell() == 4
            assert f.seek(700) == 700
            assert f.read(10) == DATA[700:710]
            assert f.seek(-24, io.SEEK_END) == len(DATA) - 24
            assert f.read() == DATA[-24:]
            assert f.read() == b""
            f.seek(3)
            assert f.read(2) == DATA[3:5]
            assert f.seek(10, io.SEEK_CUR) == 15
            assert f.read(5) == DATA[15:20]
            f.seek(len(DATA) + 100)
            assert f.read(10) == b""
            f.seek(0)
            assert f.read() == DATA

    # spec: STORE-006
    def test_read_seekable_empty_file(self, store: Store) -> None:
        store.write("empty.bin", b"")
        with store.read_seekable("empty.bin") as f:
            assert f.read() == b""
            assert f.seek(0, io.SEEK_END) == 0

    # spec: STORE-012
    def test_parent_folders_are_created(self, store: Store) -> None:
        store.write("a/b/c/d.txt", b"deep")
        for folder in ("a", "a/b", "a/b/c"):
            assert store.is_folder(folder)
            assert store.exists(folder)
            assert not store.is_file(folder)
        assert store.read_bytes("a/b/c/d.txt") == b"deep"

    # spec: STORE-035
    def test_read_after_write_and_overwrite_is_consistent(self, store: Store) -> None:
        for i in range(5):
            store.write("c.bin", str(i).encode() * (i + 1), overwrite=True)
            assert store.read_bytes("c.bin") == str(i).encode() * (i + 1)

    # spec: STORE-013
    @requires_real_folders
    def test_write_below_a_file_is_invalid_path(self, store: Store) -> None:
        store.write("f", b"file")
        for path in ("f/g", "f/g/h.txt"):
            with pytest.raises(InvalidPath):
                store.write(path, b"x")
            with pytest.raises(InvalidPath):
                store.write(path, b"x", overwrite=True)
        with pytest.raises(InvalidPath):
            store.write_text("f/t.txt", "x")
        assert store.read_bytes("f") == b"file"
        assert paths(store.list_files(recursive=True)) == ["f"]

    # spec: STORE-013
    @requires_real_folders
    def test_write_onto_a_folder_is_invalid_path(self, store: Store) -> None:
        store.write("d/inner.txt", b"inner")
        for overwrite in (False, True):
            with pytest.raises(InvalidPath):
                store.write("d", b"x", overwrite=overwrite)
        assert store.is_folder("d")
        assert tree(store) == {"d/inner.txt": b"inner"}

    # spec: STORE-013
    @requires_real_folders
    def test_reading_a_folder_as_a_file_is_invalid_path(self, store: Store) -> None:
        store.write("d/inner.txt", b"inner")
        with pytest.raises(InvalidPath):
            store.read_bytes("d")
        with pytest.raises(InvalidPath):
            store.read_text("d")
        with pytest.raises(InvalidPath):
            store.read("d").close()
        with pytest.raises(InvalidPath):
            store.read_range("d", 0, 10)
        with pytest.raises(InvalidPath):
            store.read_seekable("d").close()


@requires(C.READ, C.WRITE)
class OverwriteSuite:
    """Create-only writes by default; ``overwrite=True`` replaces the whole file."""

    # spec: STORE-011
    @pytest.mark.parametrize("new", [b"", b"x", DATA * 3], ids=["empty", "short", "long"])
    def test_write_onto_existing_raises_and_keeps_content(self, store: Store, new: bytes) -> None:
        store.write("keep.bin", DATA)
        with pytest.raises(AlreadyExists) as info:
            store.write("keep.bin", new)
        assert isinstance(info.value, FileExistsError)
        assert store.read_bytes("keep.bin") == DATA

    # spec: STORE-011
    def test_failed_create_does_not_consume_a_streaming_source_into_the_file(
        self, store: Store
    ) -> None:
        store.write("keep.bin", DATA)
        with pytest.raises(AlreadyExists):
            store.write("keep.bin", iter([b"new", b"content"]))
        with pytest.raises(AlreadyExists):
            store.write("keep.bin", io.BytesIO(b"other"))
        assert store.read_bytes("keep.bin") == DATA

    # spec: STORE-011, STORE-010
    def test_write_text_onto_existing_raises(self, store: Store) -> None:
        store.write_text("t.txt", "old")
        with pytest.raises(AlreadyExists):
            store.write_text("t.txt", "new")
        assert store.read_text("t.txt") == "old"

    # spec: STORE-011
    def test_overwrite_replaces_whole_content(self, store: Store) -> None:
        store.write("o.bin", DATA)
        store.write("o.bin", b"short", overwrite=True)
        assert store.read_bytes("o.bin") == b"short"
        store.write("o.bin", DATA * 2, overwrite=True)
        assert store.read_bytes("o.bin") == DATA * 2
        store.write("o.bin", b"", overwrite=True)
        assert store.read_bytes("o.bin") == b""
        store.write_text("o.bin", "text", overwrite=True)
        assert store.read_text("o.bin") == "text"

    # spec: STORE-011
    def test_overwrite_true_creates_missing_file(self, store: Store) -> None:
        store.write("new/n.bin", b"n", overwrite=True)
        assert store.read_bytes("new/n.bin") == b"n"

    # spec: STORE-011, PATH-003
    def test_overwrite_protection_applies_to_every_spelling(self, store: Store) -> None:
        store.write("a/b.bin", b"orig")
        for spelling in ("/a/b.bin", "a//b.bin", "./a/./b.bin", "a\\b.bin", "a/b.bin/"):
            with pytest.raises(AlreadyExists):
                store.write(spelling, b"other")
        assert store.read_bytes("a/b.bin") == b"orig"


@requires(C.READ, C.WRITE, C.ATOMIC_WRITE)
class AtomicSuite:
    """``write_atomic``, ``open_atomic`` and failed writes on ATOMIC_WRITE backends."""

    # spec: STORE-014
    def test_write_atomic_round_trip(self, store: Store) -> None:
        result = store.write_atomic("at/a.bin", iter([DATA, DATA]))
        assert result.path == "at/a.bin"
        assert result.size == 2 * len(DATA)
        assert store.read_bytes("at/a.bin") == DATA * 2
        assert paths(store.list_files(recursive=True)) == ["at/a.bin"]

    # spec: STORE-014, STORE-011
    def test_write_atomic_overwrite_rules(self, store: Store) -> None:
        store.write_atomic("a.bin", b"one")
        with pytest.raises(AlreadyExists):
            store.write_atomic("a.bin", b"two")
        assert store.read_bytes("a.bin") == b"one"
        store.write_atomic("a.bin", b"three", overwrite=True)
        assert store.read_bytes("a.bin") == b"three"
        assert paths(store.list_files(recursive=True)) == ["a.bin"]

    # spec: STORE-015, STORE-008
    @pytest.mark.parametrize("method", ATOMIC_METHODS)
    def test_failed_write_leaves_no_file(self, store: Store, method: str) -> None:
        store.write("d/other.bin", b"other")
        with pytest.raises(Boom):
            getattr(store, method)("d/new.bin", failing_chunks(DATA))
        assert not store.exists("d/new.bin")
        assert tree(store) == {"d/other.bin": b"other"}

    # spec: STORE-015, STORE-008
    @pytest.mark.parametrize("method", ATOMIC_METHODS)
    def test_failed_overwrite_keeps_old_content(self, store: Store, method: str) -> None:
        store.write("d/f.bin", b"old content")
        with pytest.raises(Boom):
            getattr(store, method)("d/f.bin", failing_chunks(DATA), overwrite=True)
        assert tree(store) == {"d/f.bin": b"old content"}

    # spec: STORE-016
    def test_open_atomic_commits_on_clean_exit_only(self, store: Store) -> None:
        with store.open_atomic("oa/f.bin") as fh:
            fh.write(DATA)
            fh.write(b"tail")
            assert not store.exists("oa/f.bin"), "content is visible before commit"
        assert store.read_bytes("oa/f.bin") == DATA + b"tail"
        assert paths(store.list_files(recursive=True)) == ["oa/f.bin"]

    # spec: STORE-016
    def test_open_atomic_discards_on_exception(self, store: Store) -> None:
        with pytest.raises(Boom), store.open_atomic("oa/f.bin") as fh:
            fh.write(DATA)
            raise Boom("inside the block")
        assert not store.exists("oa/f.bin")
        assert list(store.list_files(recursive=True)) == []

    # spec: STORE-016
    def test_open_atomic_exception_keeps_old_content(self, store: Store) -> None:
        store.write("f.bin", b"old")
        with pytest.raises(Boom), store.open_atomic("f.bin", overwrite=True) as fh:
            fh.write(b"new")
            raise Boom("inside the block")
        assert tree(store) == {"f.bin": b"old"}

    # spec: STORE-016, STORE-011
    def test_open_atomic_existing_raises_before_the_block(self, store: Store) -> None:
        store.write("f.bin", b"old")
        entered = False
        with pytest.raises(AlreadyExists), store.open_atomic("f.bin"):
            entered = True
        assert not entered
        assert store.read_bytes("f.bin") == b"old"

    # spec: STORE-016
    def test_open_atomic_overwrite_replaces(self, store: Store) -> None:
        store.write("f.bin", b"old content that is longer")
        with store.open_atomic("f.bin", overwrite=True) as fh:
            fh.write(b"new")
        assert store.read_bytes("f.bin") == b"new"

    # spec: STORE-002a, STORE-014, STORE-015, STORE-016
    @requires(C.LIST, C.MOVE, C.ATOMIC_MOVE)
    def test_derived_atomic_write_via_rename(self, registry_factory: RegistryFactory) -> None:
        store = registry_factory.store(layers=[probe_layer(drop=["atomic_write"])])
        assert C.ATOMIC_WRITE not in store.backend.capabilities
        assert store.supports(C.ATOMIC_WRITE)
        store.write_atomic("d/f.bin", iter([DATA, DATA]))
        assert store.read_bytes("d/f.bin") == DATA * 2
        with pytest.raises(Boom):
            store.write_atomic("d/g.bin", failing_chunks(DATA))
        with pytest.raises(Boom):
            store.write_atomic("d/f.bin", failing_chunks(DATA), overwrite=True)
        with pytest.raises(AlreadyExists):
            store.write_atomic("d/f.bin", b"x")
        with store.open_atomic("d/h.bin") as fh:
            fh.write(b"h")
        store.write_atomic("d/h.bin", b"hh", overwrite=True)
        assert tree(store) == {"d/f.bin": DATA * 2, "d/h.bin": b"hh"}
