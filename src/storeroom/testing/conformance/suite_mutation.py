"""Move, copy and delete: overwrite protection, self moves, missing files, folder deletes."""

from __future__ import annotations

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import (
    AlreadyExists,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
)
from storeroom.store import Store
from storeroom.testing.conformance._helpers import paths, tree, write_tree
from storeroom.testing.conformance._support import requires, requires_real_folders

__all__ = ["DeleteSuite", "MoveCopySuite"]

METHODS = [
    pytest.param("move", marks=requires(C.MOVE)),
    pytest.param("copy", marks=requires(C.COPY)),
]


@requires(C.READ, C.WRITE, C.LIST)
class MoveCopySuite:
    """``move`` and ``copy`` of single files."""

    # spec: STORE-028
    @requires(C.MOVE)
    def test_move_renames(self, store: Store) -> None:
        store.write("src/a.bin", b"payload")
        store.move("src/a.bin", "dst/deep/b.bin")
        assert not store.exists("src/a.bin")
        assert store.read_bytes("dst/deep/b.bin") == b"payload"
        assert paths(store.list_files(recursive=True)) == ["dst/deep/b.bin"]

    # spec: STORE-029
    @requires(C.COPY)
    def test_copy_duplicates(self, store: Store) -> None:
        data = bytes(range(256)) * 300
        store.write("src/a.bin", data)
        store.copy("src/a.bin", "dst/deep/b.bin")
        assert tree(store) == {"dst/deep/b.bin": data, "src/a.bin": data}
        store.write("src/a.bin", b"changed", overwrite=True)
        assert store.read_bytes("dst/deep/b.bin") == data

    # spec: STORE-028, STORE-029, STORE-011
    @pytest.mark.parametrize("method", METHODS)
    def test_onto_existing_raises_and_keeps_both(self, store: Store, method: str) -> None:
        store.write("src.bin", b"source")
        store.write("dst.bin", b"destination")
        with pytest.raises(AlreadyExists) as info:
            getattr(store, method)("src.bin", "dst.bin")
        assert info.value.path in ("src.bin", "dst.bin")
        assert tree(store) == {"dst.bin": b"destination", "src.bin": b"source"}

    # spec: STORE-028, STORE-029, STORE-011
    @pytest.mark.parametrize("method", METHODS)
    def test_overwrite_true_replaces(self, store: Store, method: str) -> None:
        store.write("src.bin", b"new")
        store.write("dst.bin", b"old and longer")
        getattr(store, method)("src.bin", "dst.bin", overwrite=True)
        assert store.read_bytes("dst.bin") == b"new"
        assert store.exists("src.bin") is (method == "copy")

    # spec: STORE-028, STORE-029
    @pytest.mark.parametrize("method", METHODS)
    def test_missing_source_is_not_found(self, store: Store, method: str) -> None:
        with pytest.raises(NotFound):
            getattr(store, method)("missing.bin", "dst.bin")
        with pytest.raises(NotFound):
            getattr(store, method)("missing.bin", "dst.bin", overwrite=True)
        assert not store.exists("dst.bin")

    # spec: STORE-030
    @pytest.mark.parametrize("method", METHODS)
    @pytest.mark.parametrize("spelling", ["d/f.bin", "/d//f.bin", "./d/./f.bin", "d\\f.bin"])
    def test_onto_itself_is_a_no_op(self, store: Store, method: str, spelling: str) -> None:
        store.write("d/f.bin", b"self")
        getattr(store, method)("d/f.bin", spelling)
        getattr(store, method)("d/f.bin", spelling, overwrite=True)
        assert tree(store) == {"d/f.bin": b"self"}

    # spec: STORE-030
    @pytest.mark.parametrize("method", METHODS)
    def test_onto_itself_still_needs_the_file(self, store: Store, method: str) -> None:
        with pytest.raises(NotFound):
            getattr(store, method)("missing.bin", "missing.bin")

    # spec: STORE-013
    @requires_real_folders
    @pytest.mark.parametrize("method", METHODS)
    def test_below_a_file_is_invalid_path(self, store: Store, method: str) -> None:
        store.write("src.bin", b"s")
        store.write("f", b"file")
        with pytest.raises(InvalidPath):
            getattr(store, method)("src.bin", "f/g.bin")
        assert tree(store) == {"f": b"file", "src.bin": b"s"}

    # spec: STORE-013
    @requires_real_folders
    @pytest.mark.parametrize("method", METHODS)
    def test_folder_as_source_is_invalid_path(self, store: Store, method: str) -> None:
        store.write("d/f.bin", b"f")
        with pytest.raises(InvalidPath):
            getattr(store, method)("d", "e")
        assert tree(store) == {"d/f.bin": b"f"}

    # spec: STORE-013, STORE-028, STORE-029
    @requires_real_folders
    @pytest.mark.parametrize("method", METHODS)
    def test_onto_a_folder_is_invalid_path(self, store: Store, method: str) -> None:
        store.write("src.bin", b"s")
        store.write("d/inner.bin", b"inner")
        for overwrite in (False, True):
            with pytest.raises(InvalidPath):
                getattr(store, method)("src.bin", "d", overwrite=overwrite)
        assert store.is_folder("d")
        assert tree(store) == {"d/inner.bin": b"inner", "src.bin": b"s"}

    # spec: STORE-028, STORE-036
    @requires(C.MOVE)
    def test_move_between_child_views(self, store: Store) -> None:
        store.write("x/a.bin", b"a")
        child = store.child("x")
        child.move("a.bin", "b/c.bin")
        assert tree(store) == {"x/b/c.bin": b"a"}


@requires(C.WRITE, C.DELETE)
class DeleteSuite:
    """``delete`` and ``delete_folder``; the root can never be deleted."""

    # spec: STORE-018, STORE-035
    @requires(C.READ)
    def test_delete_removes_the_file(self, store: Store) -> None:
        store.write("d/f.bin", b"f")
        store.write("d/g.bin", b"g")
        store.delete("d/f.bin")
        assert not store.exists("d/f.bin")
        assert not store.is_file("d/f.bin")
        with pytest.raises(NotFound):
            store.read_bytes("d/f.bin")
        assert store.read_bytes("d/g.bin") == b"g"

    # spec: STORE-018
    def test_delete_missing(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.delete("missing.bin")
        with pytest.raises(NotFound):
            store.delete("no/such/dir/missing.bin")
        store.delete("missing.bin", missing_ok=True)
        store.delete("no/such/dir/missing.bin", missing_ok=True)

    # spec: STORE-018, PERF-033
    def test_delete_missing_ok_deletes_an_existing_file(self, store: Store) -> None:
        store.write("d/here.bin", b"h")
        store.write("d/stay.bin", b"s")
        store.delete("d/here.bin", missing_ok=True)
        assert not store.exists("d/here.bin")
        assert store.read_bytes("d/stay.bin") == b"s"
        store.delete("d/here.bin", missing_ok=True)

    # spec: BACKEND-016, EXT-009
    @requires(C.READ, C.LIST)
    def test_delete_many_reports_each_key(self, store: Store) -> None:
        write_tree(store, {"m/a.bin": b"a", "m/b.bin": b"b", "m/sub/c.bin": b"c", "k.bin": b"k"})
        root = store.root_path

        def key(path: str) -> str:
            return f"{root}/{path}" if root else path

        a, b, gone, sub = key("m/a.bin"), key("m/b.bin"), key("m/gone.bin"), key("m/sub")
        backend = store.backend
        results = backend.delete_many([a, gone, sub, b, a])
        assert sorted(results) == sorted([a, b, gone, sub])
        assert results[a] is None
        assert results[b] is None
        missing = results[gone]
        assert isinstance(missing, NotFound)
        assert missing.path == gone
        # A folder fails exactly as ``delete`` fails on it: InvalidPath, or NotFound on
        # flat backends where a folder is only a prefix (BACKEND-016).
        with pytest.raises((InvalidPath, NotFound)) as info:
            backend.delete(sub)
        assert type(results[sub]) is type(info.value)
        assert tree(store) == {"k.bin": b"k", "m/sub/c.bin": b"c"}
        assert backend.delete_many([]) == {}

    # spec: EXT-009
    @requires(C.READ, C.LIST)
    def test_batch_delete_reports_each_path(self, store: Store) -> None:
        from storeroom.ext.batch import batch_delete

        write_tree(store, {f"bd/f{i:03d}.bin": b"x" for i in range(30)} | {"k.bin": b"k"})
        names = [f"bd/f{i:03d}.bin" for i in range(30)]
        result = batch_delete(store, [*names, "bd/missing.bin", "../escape"], chunk_size=7)
        assert [r.item for r in result] == [*names, "bd/missing.bin", "../escape"]
        assert [r.status for r in result] == ["ok"] * 30 + ["error", "error"]
        missing = result.items[30].error
        assert isinstance(missing, NotFound)
        assert missing.path == "bd/missing.bin"
        assert isinstance(result.items[31].error, InvalidPath)
        assert tree(store) == {"k.bin": b"k"}
        again = batch_delete(store, ["bd/missing.bin"], missing_ok=True)
        assert again.ok

    # spec: STORE-018, STORE-013
    @requires_real_folders
    def test_delete_of_a_folder_is_invalid_path(self, store: Store) -> None:
        store.write("d/f.bin", b"f")
        with pytest.raises(InvalidPath):
            store.delete("d")
        with pytest.raises(InvalidPath):
            store.delete("d", missing_ok=True)
        assert store.is_file("d/f.bin")

    # spec: STORE-019
    @requires(C.LIST)
    def test_delete_folder_non_empty_needs_recursive(self, store: Store) -> None:
        write_tree(store, {"d/f.bin": b"f", "d/e/g.bin": b"g", "keep.bin": b"k"})
        with pytest.raises(DirectoryNotEmpty) as info:
            store.delete_folder("d")
        assert isinstance(info.value, OSError)
        assert paths(store.list_files(recursive=True)) == ["d/e/g.bin", "d/f.bin", "keep.bin"]
        store.delete_folder("d", recursive=True)
        assert not store.exists("d")
        assert not store.is_folder("d")
        assert paths(store.list_files(recursive=True)) == ["keep.bin"]

    # spec: STORE-019
    @requires(C.LIST)
    def test_delete_folder_with_only_subfolders_needs_recursive(self, store: Store) -> None:
        store.write("d/e/f/g.bin", b"g")
        with pytest.raises(DirectoryNotEmpty):
            store.delete_folder("d")
        store.delete_folder("d/e", recursive=True)
        assert not store.exists("d/e/f/g.bin")
        assert list(store.list_files("d", recursive=True)) == []

    # spec: STORE-019
    def test_delete_folder_missing(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.delete_folder("missing")
        with pytest.raises(NotFound):
            store.delete_folder("missing", recursive=True)
        store.delete_folder("missing", missing_ok=True)
        store.delete_folder("missing", recursive=True, missing_ok=True)

    # spec: STORE-019
    @requires_real_folders
    def test_delete_empty_real_folder_without_recursive(self, store: Store) -> None:
        store.write("d/f.bin", b"f")
        store.delete("d/f.bin")
        assert store.is_folder("d")
        store.delete_folder("d")
        assert not store.exists("d")

    # spec: STORE-019
    @requires(C.READ)
    def test_delete_folder_of_a_file_fails_and_keeps_it(self, store: Store) -> None:
        store.write("f.bin", b"f")
        for recursive in (False, True):
            with pytest.raises((InvalidPath, NotFound)):
                store.delete_folder("f.bin", recursive=recursive)
        assert store.read_bytes("f.bin") == b"f"

    # spec: STORE-019
    @requires(C.LIST)
    def test_delete_folder_does_not_touch_prefix_siblings(self, store: Store) -> None:
        write_tree(store, {"d/f.bin": b"1", "d-x/f.bin": b"2", "dd/f.bin": b"3", "d.bin": b"4"})
        store.delete_folder("d", recursive=True)
        assert paths(store.list_files(recursive=True)) == ["d-x/f.bin", "d.bin", "dd/f.bin"]

    # spec: STORE-020
    @requires(C.LIST)
    @pytest.mark.parametrize("root", ["", "/", ".", "./", "//", "\\"])
    def test_root_cannot_be_deleted(self, store: Store, root: str) -> None:
        store.write("d/f.bin", b"f")
        for recursive in (False, True):
            with pytest.raises(InvalidPath):
                store.delete_folder(root, recursive=recursive)
            with pytest.raises(InvalidPath):
                store.delete_folder(root, recursive=recursive, missing_ok=True)
            with pytest.raises(InvalidPath):
                store.child("d").delete_folder(root, recursive=recursive)
        assert paths(store.list_files(recursive=True)) == ["d/f.bin"]
