"""Listings and glob: order, store-relative paths, depth and pattern filters, streaming."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storeroom.backend import entry_sort_key
from storeroom.capabilities import Capability as C
from storeroom.errors import InvalidArgument, InvalidPath
from storeroom.models import FileInfo, FolderEntry
from storeroom.path import RemotePath
from storeroom.store import Store
from storeroom.testing.conformance._helpers import paths, write_tree
from storeroom.testing.conformance._support import requires, requires_flat, requires_real_folders

__all__ = ["GlobSuite", "ListingSuite"]

TREE = {
    "a.txt": b"a",
    "b-x.txt": b"bx",
    "b/c.txt": b"ccc",
    "b/d/e.txt": b"eeee",
    "b/d/f.bin": b"fffff",
    "b.txt": b"b.",
    "g.txt": b"g",
    "z/y/x/w.txt": b"w",
}


def _all_files() -> list[str]:
    return sorted(TREE)


@requires(C.WRITE, C.LIST)
class ListingSuite:
    """``list_files``, ``list_folders`` and ``iter_children``."""

    # spec: STORE-021, STORE-024
    def test_list_files_direct_children_only(self, store: Store) -> None:
        write_tree(store, TREE)
        assert paths(store.list_files()) == ["a.txt", "b-x.txt", "b.txt", "g.txt"]
        assert paths(store.list_files("b")) == ["b/c.txt"]
        assert paths(store.list_files("b/d")) == ["b/d/e.txt", "b/d/f.bin"]

    # spec: STORE-021, STORE-024
    def test_list_files_recursive_is_sorted_by_path(self, store: Store) -> None:
        write_tree(store, TREE)
        listed = paths(store.list_files(recursive=True))
        assert listed == _all_files()
        assert paths(store.list_files("b", recursive=True)) == ["b/c.txt", "b/d/e.txt", "b/d/f.bin"]
        assert paths(store.list_files("/b//", recursive=True)) == [
            "b/c.txt",
            "b/d/e.txt",
            "b/d/f.bin",
        ]

    # spec: STORE-024, PATH-010
    def test_file_entries_are_store_relative_and_complete(self, store: Store) -> None:
        write_tree(store, TREE)
        for info in store.list_files(recursive=True):
            assert type(info) is FileInfo
            assert isinstance(info.path, RemotePath)
            assert not info.path.startswith("/")
            assert store.root_path not in info.path
            assert info.name == info.path.rpartition("/")[2]
            assert info.size == len(TREE[info.path])

    # spec: STORE-021
    @pytest.mark.parametrize(
        ("path", "depth", "expected"),
        [
            ("", 0, ["a.txt", "b-x.txt", "b.txt", "g.txt"]),
            ("", 1, ["a.txt", "b-x.txt", "b.txt", "b/c.txt", "g.txt"]),
            ("", 2, ["a.txt", "b-x.txt", "b.txt", "b/c.txt", "b/d/e.txt", "b/d/f.bin", "g.txt"]),
            ("", 10, sorted(TREE)),
            ("b", 0, ["b/c.txt"]),
            ("b", 1, ["b/c.txt", "b/d/e.txt", "b/d/f.bin"]),
            ("z", 1, []),
            ("z", 2, ["z/y/x/w.txt"]),
        ],
    )
    def test_list_files_max_depth(
        self, store: Store, path: str, depth: int, expected: list[str]
    ) -> None:
        write_tree(store, TREE)
        assert paths(store.list_files(path, max_depth=depth)) == expected
        # max_depth wins over recursive
        assert paths(store.list_files(path, recursive=True, max_depth=depth)) == expected
        assert paths(store.list_files(path, recursive=False, max_depth=depth)) == expected

    # spec: STORE-021
    def test_list_files_pattern_matches_names(self, store: Store) -> None:
        write_tree(store, TREE)
        assert paths(store.list_files(pattern="*.txt")) == ["a.txt", "b-x.txt", "b.txt", "g.txt"]
        assert paths(store.list_files(recursive=True, pattern="*.bin")) == ["b/d/f.bin"]
        assert paths(store.list_files(recursive=True, pattern="b*")) == ["b-x.txt", "b.txt"]
        assert paths(store.list_files(recursive=True, pattern="[ce].txt")) == [
            "b/c.txt",
            "b/d/e.txt",
        ]
        assert paths(store.list_files(recursive=True, pattern="?.TXT")) == []
        assert paths(store.list_files(max_depth=1, pattern="?.txt")) == [
            "a.txt",
            "b.txt",
            "b/c.txt",
            "g.txt",
        ]

    # spec: STORE-021, STORE-022
    @pytest.mark.parametrize("bad", [-1, 1.5, "1"])
    def test_invalid_max_depth_is_invalid_argument(self, store: Store, bad: object) -> None:
        with pytest.raises(InvalidArgument):
            list(store.list_files(max_depth=bad))  # type: ignore[arg-type]
        with pytest.raises(InvalidArgument):
            list(store.list_folders(max_depth=bad))  # type: ignore[arg-type]

    # spec: STORE-022
    def test_list_folders(self, store: Store) -> None:
        write_tree(store, TREE)
        assert paths(store.list_folders()) == ["b", "z"]
        assert paths(store.list_folders("b")) == ["b/d"]
        assert paths(store.list_folders(max_depth=1)) == ["b", "b/d", "z", "z/y"]
        assert paths(store.list_folders(max_depth=5)) == ["b", "b/d", "z", "z/y", "z/y/x"]
        assert paths(store.list_folders(max_depth=5, pattern="[dx]")) == ["b/d", "z/y/x"]
        assert paths(store.list_folders("b/d")) == []
        for entry in store.list_folders(max_depth=5):
            assert type(entry) is FolderEntry
            assert entry.name == entry.path.rpartition("/")[2]

    # spec: STORE-023, STORE-024
    def test_iter_children_mixes_files_and_folders_in_order(self, store: Store) -> None:
        write_tree(store, TREE)
        children = list(store.iter_children())
        assert [(type(e).__name__, str(e.path)) for e in children] == [
            ("FileInfo", "a.txt"),
            ("FileInfo", "b-x.txt"),
            ("FileInfo", "b.txt"),
            ("FolderEntry", "b"),
            ("FileInfo", "g.txt"),
            ("FolderEntry", "z"),
        ]
        assert children == sorted(children, key=entry_sort_key)
        assert paths(store.iter_children("b")) == ["b/c.txt", "b/d"]

    # spec: STORE-024
    def test_order_is_by_code_point_with_tricky_names(self, store: Store) -> None:
        names = ["a", "a b", "a-b", "a.b", "a0", "aa", "B", "é", "z", "a/b", "a b/c", "a-/x"]
        for name in names:
            store.write(name if "/" in name else f"{name}.f", b"")
        listed = paths(store.list_files(recursive=True))
        assert listed == sorted(listed)
        assert len(listed) == len(names)
        children = list(store.iter_children())
        assert children == sorted(children, key=entry_sort_key)

    # spec: STORE-026
    def test_missing_folder_or_file_lists_nothing(self, store: Store) -> None:
        write_tree(store, TREE)
        for path in ("missing", "b/missing", "a.txt", "b/c.txt"):
            assert list(store.list_files(path)) == []
            assert list(store.list_files(path, recursive=True)) == []
            assert list(store.list_folders(path)) == []
            assert list(store.iter_children(path)) == []

    # spec: STORE-026
    def test_empty_store_lists_nothing(self, store: Store) -> None:
        assert list(store.list_files(recursive=True)) == []
        assert list(store.list_folders(max_depth=3)) == []
        assert list(store.iter_children()) == []

    # spec: STORE-026
    @requires(C.DELETE)
    @requires_real_folders
    def test_emptied_real_folder_lists_empty(self, store: Store) -> None:
        store.write("d/f.txt", b"f")
        store.delete("d/f.txt")
        assert store.is_folder("d")
        assert list(store.list_files("d", recursive=True)) == []
        assert paths(store.list_folders()) == ["d"]
        assert paths(store.iter_children()) == ["d"]

    # spec: STORE-026
    @requires(C.DELETE)
    @requires_flat
    def test_emptied_flat_folder_disappears(self, store: Store) -> None:
        store.write("d/f.txt", b"f")
        store.delete("d/f.txt")
        assert not store.is_folder("d")
        assert list(store.list_folders()) == []

    # spec: STORE-035
    @requires(C.DELETE)
    def test_list_after_write_and_delete_is_consistent(self, store: Store) -> None:
        for i in range(5):
            store.write(f"c/{i}.txt", b"x")
            assert paths(store.list_files("c")) == [f"c/{j}.txt" for j in range(i + 1)]
        store.delete("c/2.txt")
        assert paths(store.list_files("c")) == ["c/0.txt", "c/1.txt", "c/3.txt", "c/4.txt"]

    # spec: STORE-025
    def test_listings_are_lazy_iterators(self, store: Store) -> None:
        write_tree(store, TREE)
        calls = [
            store.list_files(recursive=True),
            store.list_files(),
            store.list_folders(max_depth=3),
            store.iter_children(),
        ]
        for listing in calls:
            assert isinstance(listing, Iterator)
            assert not isinstance(listing, list | tuple)
        first = next(store.list_files(recursive=True))
        assert first.path == "a.txt"

    # spec: STORE-025
    def test_backend_list_primitive_streams(self, store: Store) -> None:
        write_tree(store, TREE)
        raw = store.backend.list(store.root_path, recursive=True, base=store.root_path)
        assert isinstance(raw, Iterator)
        assert not isinstance(raw, list | tuple)

    # spec: STORE-021, STORE-036
    def test_child_store_lists_relative_to_its_root(self, store: Store) -> None:
        write_tree(store, TREE)
        child = store.child("b")
        assert paths(child.list_files(recursive=True)) == ["c.txt", "d/e.txt", "d/f.bin"]
        assert paths(child.list_folders()) == ["d"]
        assert paths(child.iter_children()) == ["c.txt", "d"]

    # spec: STORE-024
    def test_many_files_list_in_order(self, store: Store) -> None:
        names = [f"many/{i % 7}/{i:04d}-{(i * 7919) % 1000}.bin" for i in range(150)]
        for name in names:
            store.write(name, b"")
        assert paths(store.list_files("many", recursive=True)) == sorted(names)


@requires(C.WRITE, C.LIST, C.GLOB)
class GlobSuite:
    """``glob`` with ``*``, ``?``, ``[..]`` and ``**``."""

    # spec: STORE-027
    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("*.txt", ["a.txt", "b-x.txt", "b.txt", "g.txt"]),
            ("?.txt", ["a.txt", "b.txt", "g.txt"]),
            ("[ab].txt", ["a.txt", "b.txt"]),
            ("[!ab].txt", ["g.txt"]),
            ("b*", ["b-x.txt", "b.txt"]),
            ("b/*", ["b/c.txt"]),
            ("b/*/*", ["b/d/e.txt", "b/d/f.bin"]),
            ("*/*.txt", ["b/c.txt"]),
            ("b/d/*.bin", ["b/d/f.bin"]),
            (
                "**/*.txt",
                ["a.txt", "b-x.txt", "b.txt", "b/c.txt", "b/d/e.txt", "g.txt", "z/y/x/w.txt"],
            ),
            ("**/*.bin", ["b/d/f.bin"]),
            ("b/**", ["b/c.txt", "b/d/e.txt", "b/d/f.bin"]),
            ("b/**/e.txt", ["b/d/e.txt"]),
            ("**", sorted(TREE)),
            ("z/**/w.txt", ["z/y/x/w.txt"]),
            ("b/c.txt", ["b/c.txt"]),
            ("b", []),
            ("nothing*", []),
            ("missing/**", []),
            ("/b//*", ["b/c.txt"]),
        ],
    )
    def test_glob_patterns(self, store: Store, pattern: str, expected: list[str]) -> None:
        write_tree(store, TREE)
        assert paths(store.glob(pattern)) == expected

    # spec: STORE-027
    def test_glob_yields_file_infos_lazily(self, store: Store) -> None:
        write_tree(store, TREE)
        result = store.glob("**")
        assert isinstance(result, Iterator)
        for info in result:
            assert type(info) is FileInfo
            assert info.size == len(TREE[info.path])

    # spec: STORE-027, PATH-004
    def test_glob_rejects_dotdot(self, store: Store) -> None:
        with pytest.raises(InvalidPath):
            list(store.glob("../*"))

    # spec: STORE-027, STORE-036
    def test_glob_in_child_is_relative(self, store: Store) -> None:
        write_tree(store, TREE)
        assert paths(store.child("b").glob("**/*.txt")) == ["c.txt", "d/e.txt"]
