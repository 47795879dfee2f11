"""The Store's shortcuts for repeated calls behave exactly like the first call.

A Store remembers paths it already validated (path -> backend key) and checks
its capability gate by method name; these tests pin that a remembered path
gives the same key, that bad input is refused every time with the same typed
error, and that the memory is bounded (spec PERF-020).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from every_backend import registry_on
from storeroom import Store
from storeroom._store_core import KEY_CACHE_MAX
from storeroom.backends import MemoryBackend
from storeroom.errors import CapabilityNotSupported, InvalidPath
from storeroom.layers.readonly import ReadOnlyLayer
from storeroom.path import RemotePath


class LooksLikeAPath:
    """Hashes and compares equal to a str, but is not one: never a valid path."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __hash__(self) -> int:
        return hash(self.text)

    def __eq__(self, other: object) -> bool:
        return other == self.text


@pytest.mark.parametrize("backend", ["local", "memory", "sql-sqlite"])
def test_remembered_paths_give_the_same_results(backend: str, tmp_path: Path) -> None:
    # spec: PERF-020
    with registry_on(backend, tmp_path) as registry:
        store = registry.get_store("s")
        for _ in range(3):  # the first call validates, the later ones remember
            store.write("a//b/./c.txt", b"x", overwrite=True)
            assert store.exists("a/b/c.txt") and store.exists("a//b/./c.txt")
            assert store.read_bytes("a/b//c.txt") == b"x"
            assert [str(f.path) for f in store.list_files("a/b")] == ["a/b/c.txt"]
            assert store.get_file_info(RemotePath("a/b/c.txt")).path == "a/b/c.txt"
        for _ in range(2):  # a refused path is refused every time, with the store's context
            with pytest.raises(InvalidPath) as info:
                store.exists("a/../../etc")
            assert info.value.store == "s" and info.value.operation == "exists"
            with pytest.raises(InvalidPath) as info:
                store.write("", b"x")
            assert info.value.operation == "write"
            with pytest.raises(InvalidPath):
                store.read_bytes(LooksLikeAPath("a/b/c.txt"))  # type: ignore[arg-type]
        # The store root is never remembered as a file path.
        assert store.exists("") and store.exists("/")
        with pytest.raises(InvalidPath):
            store.read_bytes("/")


def test_remembered_paths_are_bounded() -> None:
    # spec: PERF-020
    store = Store(MemoryBackend(), "root")
    for i in range(KEY_CACHE_MAX + 50):
        assert not store.exists(f"f{i}")
    assert 0 < len(store._keys) <= KEY_CACHE_MAX
    store.write("f1", b"1")  # still correct after the cache was emptied
    assert store.exists("f1") and store.backend.exists("root/f1")


def test_gate_by_name_refuses_like_before() -> None:
    # spec: PERF-020
    store = Store(ReadOnlyLayer(MemoryBackend()))
    for _ in range(2):
        with pytest.raises(CapabilityNotSupported) as info:
            store.write("a.txt", b"x")
        assert info.value.operation == "write" and info.value.path == "a.txt"
    assert not store.exists("a.txt")
