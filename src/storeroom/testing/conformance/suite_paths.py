"""The path model at the Store boundary: normalisation, invalid paths, root confinement."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import InvalidPath
from storeroom.path import RemotePath, normalize
from storeroom.store import GATES, Store
from storeroom.testing.conformance._helpers import no_calls, paths, probe_of, tree
from storeroom.testing.conformance._support import RegistryFactory, probe_layer, requires

__all__ = ["PathSuite"]

CANONICAL = [
    ("a/b", "a/b"),
    ("/a//b/", "a/b"),
    ("./a/./b/.", "a/b"),
    ("a\\b\\c", "a/b/c"),
    ("\\a\\\\b\\", "a/b"),
    ("a/\\/b", "a/b"),
    ("", ""),
    (".", ""),
    ("/", ""),
    ("//./\\", ""),
    ("..a/a../...", "..a/a../..."),
    (" a / b ", " a / b "),
]
DOTDOT = ["..", "../x", "a/../b", "a/..", "..\\x", "a\\..\\b", "/../etc/passwd", "a/./../.."]
ROOT_SPELLINGS = ["", "/", ".", "./", "//", "\\", "/./"]


def _file_calls(store: Store, path: Any) -> list[tuple[str, Callable[[], object]]]:
    """Every file method of ``store`` (that it supports) applied to ``path``."""

    def enter_open_atomic() -> None:
        with store.open_atomic(path):
            pass

    calls: list[tuple[str, Callable[[], object]]] = [
        ("read", lambda: store.read(path).close()),
        ("read_bytes", lambda: store.read_bytes(path)),
        ("read_text", lambda: store.read_text(path)),
        ("read_range", lambda: store.read_range(path, 0, 1)),
        ("read_seekable", lambda: store.read_seekable(path).close()),
        ("write", lambda: store.write(path, b"x")),
        ("write_text", lambda: store.write_text(path, "x")),
        ("write_atomic", lambda: store.write_atomic(path, b"x")),
        ("open_atomic", enter_open_atomic),
        ("delete", lambda: store.delete(path)),
        ("move", lambda: store.move(path, "elsewhere.bin")),
        ("copy", lambda: store.copy("elsewhere.bin", path)),
        ("get_file_info", lambda: store.get_file_info(path)),
        ("head", lambda: store.head(path)),
    ]
    return [(name, call) for name, call in calls if GATES[name] in store.capabilities]


def _any_path_calls(store: Store, path: Any) -> list[tuple[str, Callable[[], object]]]:
    calls: list[tuple[str, Callable[[], object]]] = [
        ("exists", lambda: store.exists(path)),
        ("is_file", lambda: store.is_file(path)),
        ("is_folder", lambda: store.is_folder(path)),
        ("child", lambda: store.child(path)),
        ("resolve", lambda: store.resolve(path)),
        ("list_files", lambda: list(store.list_files(path))),
        ("list_folders", lambda: list(store.list_folders(path))),
        ("iter_children", lambda: list(store.iter_children(path))),
        ("glob", lambda: list(store.glob(f"{path}/*" if isinstance(path, str) else path))),
        ("delete_folder", lambda: store.delete_folder(path, recursive=True)),
        ("get_folder_info", lambda: store.get_folder_info(path)),
    ]
    return [
        (name, call)
        for name, call in calls
        if name not in GATES or GATES[name] in store.capabilities
    ]


def _expect_invalid(calls: list[tuple[str, Callable[[], object]]]) -> None:
    """Run every call; each must raise InvalidPath. Reports all offenders at once."""
    wrong = []
    for name, call in calls:
        try:
            call()
        except InvalidPath:
            continue
        except Exception as exc:
            wrong.append(f"{name}: raised {type(exc).__name__}: {exc}")
        else:
            wrong.append(f"{name}: did not raise")
    assert not wrong, "expected InvalidPath from:\n" + "\n".join(wrong)


class PathSuite:
    """PATH-*: one normalisation for every method, and no way out of the root."""

    # spec: PATH-002, PATH-003, PATH-007
    @pytest.mark.parametrize(("raw", "canonical"), CANONICAL)
    def test_normalize(self, raw: str, canonical: str) -> None:
        assert normalize(raw) == canonical
        assert normalize(canonical) == canonical
        assert RemotePath(raw) == canonical

    # spec: PATH-002, PATH-003, STORE-037
    @pytest.mark.parametrize(("raw", "canonical"), CANONICAL)
    def test_store_resolves_every_spelling(self, store: Store, raw: str, canonical: str) -> None:
        assert store.resolve(raw).store_path == canonical

    # spec: PATH-002, PATH-003
    @requires(C.READ, C.WRITE, C.LIST)
    def test_spellings_reach_the_same_file(self, store: Store) -> None:
        store.write("\\x\\\\y/./z.txt/", b"same")
        for spelling in ("x/y/z.txt", "/x/y/z.txt", "x//y//z.txt", "./x/y/./z.txt", "x\\y\\z.txt"):
            assert store.read_bytes(spelling) == b"same"
            assert store.is_file(spelling)
        assert paths(store.list_files(recursive=True)) == ["x/y/z.txt"]

    # spec: PATH-004
    @pytest.mark.parametrize("bad", DOTDOT)
    def test_dotdot_is_invalid_everywhere(self, store: Store, bad: str) -> None:
        _expect_invalid([*_file_calls(store, bad), *_any_path_calls(store, bad)])

    # spec: PATH-004
    @requires(C.READ, C.WRITE, C.LIST)
    @pytest.mark.parametrize("name", ["..a", "a..", "...", ".hidden", "a.b.c", "a . b"])
    def test_dotted_names_are_ordinary(self, store: Store, name: str) -> None:
        store.write(f"d/{name}", name.encode(), overwrite=True)
        assert store.read_bytes(f"d/{name}") == name.encode()
        assert paths(store.list_files("d")) == [f"d/{name}"]

    # spec: PATH-005
    @pytest.mark.parametrize("bad", ["a\x00b", "\x00", "dir/\x00/f", "f.txt\x00"])
    def test_nul_is_invalid_everywhere(self, store: Store, bad: str) -> None:
        _expect_invalid([*_file_calls(store, bad), *_any_path_calls(store, bad)])

    # spec: PATH-001
    @pytest.mark.parametrize(
        "bad", [b"a.txt", 3, None, ["a"]], ids=["bytes", "int", "none", "list"]
    )
    def test_non_string_paths_are_invalid(self, store: Store, bad: Any) -> None:
        _expect_invalid([*_file_calls(store, bad), *_any_path_calls(store, bad)])

    # spec: PATH-006
    @pytest.mark.parametrize("root", ROOT_SPELLINGS)
    def test_file_methods_reject_the_root(self, store: Store, root: str) -> None:
        _expect_invalid(_file_calls(store, root))

    # spec: PATH-012
    @requires(C.WRITE, C.LIST, C.METADATA)
    @pytest.mark.parametrize("root", ROOT_SPELLINGS)
    def test_folder_methods_accept_the_root(self, store: Store, root: str) -> None:
        store.write("r.txt", b"r")
        assert store.exists(root)
        assert store.is_folder(root)
        assert not store.is_file(root)
        assert paths(store.list_files(root)) == ["r.txt"]
        assert store.get_folder_info(root).file_count == 1

    # spec: PATH-006, PATH-013
    def test_invalid_path_errors_name_the_input(self, store: Store) -> None:
        with pytest.raises(InvalidPath) as info:
            store.exists("a/../b")
        assert info.value.path == "a/../b"
        assert isinstance(info.value, ValueError)

    # spec: PATH-009
    @requires(C.READ, C.WRITE, C.LIST)
    @pytest.mark.parametrize(
        "path",
        [
            "ünïcödé/日本語 ファイル.txt",
            "with space/a b .txt",
            "MiXeD/Case.TXT",
            "emoji/🎉.bin",
            "nfd/" + unicodedata.normalize("NFD", "é.txt"),
            "nfc/" + unicodedata.normalize("NFC", "é.txt"),
            "symbols/a+b=c&d#e%f@g!h~i(j)k'l,m;n$.txt",
            " leading space",
        ],
    )
    def test_names_are_kept_verbatim(self, store: Store, path: str) -> None:
        store.write(path, path.encode())
        assert store.read_bytes(path) == path.encode()
        assert paths(store.list_files(recursive=True)) == [path]
        assert next(iter(store.list_files(recursive=True))).name == path.rpartition("/")[2]

    # spec: PATH-008, STORE-040
    @requires(C.READ, C.WRITE, C.LIST)
    def test_stores_with_other_roots_are_isolated(self, store: Store, other_store: Store) -> None:
        store.write("shared-name.txt", b"mine")
        assert not other_store.exists("shared-name.txt")
        assert list(other_store.list_files(recursive=True)) == []
        other_store.write("shared-name.txt", b"theirs")
        assert store.read_bytes("shared-name.txt") == b"mine"
        assert other_store.read_bytes("shared-name.txt") == b"theirs"

    # spec: PATH-008, STORE-036
    @requires(C.READ, C.WRITE, C.LIST)
    def test_child_is_confined_to_its_subfolder(self, store: Store) -> None:
        store.write("top.txt", b"top")
        child = store.child("/sub//dir/")
        assert child.root_path == f"{store.root_path}/sub/dir"
        child.write("inner.txt", b"inner")
        assert store.read_bytes("sub/dir/inner.txt") == b"inner"
        assert not child.exists("top.txt")
        assert paths(child.list_files(recursive=True)) == ["inner.txt"]
        assert tree(store) == {"sub/dir/inner.txt": b"inner", "top.txt": b"top"}
        for bad in ("..", "../sub", "x/../..", "sub/.."):
            with pytest.raises(InvalidPath):
                child.child(bad)
            with pytest.raises(InvalidPath):
                child.read_bytes(f"{bad}/top.txt")
        assert store.child("") == store
        assert store.child("sub").child("dir") == child

    # spec: STORE-037, PATH-008
    def test_native_path_round_trips_and_outside_is_invalid(self, store: Store) -> None:
        native = store.native_path("a/b.txt")
        assert store.to_key(native) == "a/b.txt"
        assert store.to_key(store.native_path("")) == ""
        outside = store.child("x").native_path("")
        with pytest.raises(InvalidPath):
            store.child("y").to_key(outside)

    # spec: STORE-037, PATH-003
    def test_resolve_does_no_io(self, registry_factory: RegistryFactory) -> None:
        registry = registry_factory(layers=[probe_layer()])
        store = registry.get_store("s")
        with no_calls(probe_of(registry)):
            plan = store.resolve("/a//b.txt")
            store.native_path("a/b.txt")
        assert plan.store_path == "a/b.txt"
        assert plan.backend_type == store.backend.type_name
