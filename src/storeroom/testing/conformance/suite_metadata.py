"""File and folder facts: ``exists``/``is_*``, file info, ``head``, folder stats, user metadata."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import CapabilityNotSupported, InvalidArgument, InvalidPath, NotFound
from storeroom.models import FileInfo, FolderInfo, WriteResult
from storeroom.path import RemotePath
from storeroom.store import Store
from storeroom.testing.conformance._helpers import write_tree
from storeroom.testing.conformance._support import requires, requires_real_folders

__all__ = ["MetadataSuite"]

USER_META = {"owner": "alice", "purpose": "conformance test", "empty": ""}


@requires(C.WRITE)
class MetadataSuite:
    """STORE-017 and STORE-031..034."""

    # spec: STORE-031
    def test_exists_is_file_is_folder(self, store: Store) -> None:
        store.write("d/e/f.bin", b"f")
        assert store.exists("d/e/f.bin") and store.is_file("d/e/f.bin")
        assert not store.is_folder("d/e/f.bin")
        for folder in ("d", "d/e", "/d/e/"):
            assert store.exists(folder) and store.is_folder(folder)
            assert not store.is_file(folder)
        for missing in ("x", "d/x", "d/e/f.bin/x", "d/e/f"):
            assert not store.exists(missing)
            assert not store.is_file(missing)
            assert not store.is_folder(missing)
        assert store.exists("") and store.is_folder("") and not store.is_file("")

    # spec: STORE-031, STORE-036
    def test_store_root_always_exists(self, store: Store) -> None:
        for root in (store, store.child("never/written")):
            assert root.exists("") and root.exists("/")
            assert root.is_folder("") and not root.is_file("")

    # spec: STORE-032, PATH-010
    @requires(C.METADATA)
    def test_get_file_info(self, store: Store) -> None:
        store.write("d/info.bin", b"12345")
        info = store.get_file_info("/d//info.bin")
        assert type(info) is FileInfo
        assert info.path == "d/info.bin" and isinstance(info.path, RemotePath)
        assert info.name == "info.bin"
        assert info.size == 5
        if info.modified_at is not None:
            offset = info.modified_at.utcoffset()
            assert offset == timedelta(0), "modified_at must be timezone-aware UTC"

    # spec: STORE-032
    @requires(C.METADATA, C.LIST)
    def test_get_file_info_agrees_with_listing(self, store: Store) -> None:
        store.write("d/a.bin", b"abc")
        (listed,) = store.list_files("d")
        info = store.get_file_info("d/a.bin")
        assert (listed.path, listed.name, listed.size) == (info.path, info.name, info.size)

    # spec: STORE-032
    @requires(C.METADATA)
    def test_get_file_info_missing_is_not_found(self, store: Store) -> None:
        with pytest.raises(NotFound):
            store.get_file_info("missing.bin")
        with pytest.raises(NotFound):
            store.head("missing.bin")

    # spec: STORE-032, STORE-013
    @requires(C.METADATA)
    @requires_real_folders
    def test_get_file_info_of_folder_is_invalid_path(self, store: Store) -> None:
        store.write("d/f.bin", b"f")
        with pytest.raises(InvalidPath):
            store.get_file_info("d")
        with pytest.raises(InvalidPath):
            store.head("d")

    # spec: STORE-033
    @requires(C.METADATA)
    def test_head(self, store: Store) -> None:
        written = store.write("h.bin", b"head!")
        head = store.head("h.bin")
        assert type(head) is WriteResult
        assert head.path == written.path == "h.bin"
        assert head.size == written.size == 5

    # spec: STORE-034
    @requires(C.METADATA, C.LIST)
    def test_get_folder_info(self, store: Store) -> None:
        write_tree(
            store, {"d/a.bin": b"1", "d/b.bin": b"22", "d/e/c.bin": b"333", "x.bin": b"4444"}
        )
        info = store.get_folder_info("d")
        assert type(info) is FolderInfo
        assert (info.path, info.file_count, info.total_size) == ("d", 3, 6)
        shallow = store.get_folder_info("d", max_depth=0)
        assert (shallow.file_count, shallow.total_size) == (2, 3)
        root = store.get_folder_info()
        assert (root.path, root.file_count, root.total_size) == ("", 4, 10)
        newest = max(
            (f.modified_at for f in store.list_files(recursive=True) if f.modified_at), default=None
        )
        assert root.modified_at == newest

    # spec: STORE-034
    @requires(C.METADATA, C.LIST)
    def test_get_folder_info_missing_is_not_found(self, store: Store) -> None:
        store.write("f.bin", b"f")
        with pytest.raises(NotFound):
            store.get_folder_info("missing")
        with pytest.raises((NotFound, InvalidPath)):
            store.get_folder_info("f.bin")

    # spec: STORE-034
    @requires(C.METADATA, C.LIST)
    def test_get_folder_info_of_empty_root(self, store: Store) -> None:
        info = store.get_folder_info("")
        assert (info.path, info.file_count, info.total_size) == ("", 0, 0)

    # spec: STORE-017
    @requires(C.METADATA, C.USER_METADATA)
    def test_user_metadata_round_trips(self, store: Store) -> None:
        store.write("m.bin", b"m", metadata=USER_META)
        info = store.get_file_info("m.bin")
        assert info.metadata is not None
        assert USER_META.items() <= dict(info.metadata).items()
        assert USER_META.items() <= dict(store.head("m.bin").metadata or {}).items()
        store.write("m.bin", b"m2", overwrite=True, metadata={"owner": "bob"})
        replaced = dict(store.get_file_info("m.bin").metadata or {})
        assert replaced.get("owner") == "bob"
        assert "purpose" not in replaced

    # spec: STORE-017
    @pytest.mark.parametrize(
        "bad", [{"k": 1}, {1: "v"}, {"k": None}, [("k", "v")]], ids=["int", "key", "none", "list"]
    )
    def test_metadata_must_map_str_to_str(self, store: Store, bad: object) -> None:
        with pytest.raises(InvalidArgument):
            store.write("m.bin", b"m", metadata=bad)  # type: ignore[arg-type]
        assert not store.exists("m.bin")

    # spec: STORE-017, STORE-002
    @requires(lacks=[C.USER_METADATA])
    def test_metadata_without_user_metadata_is_unsupported(self, store: Store) -> None:
        with pytest.raises(CapabilityNotSupported):
            store.write("m.bin", b"m", metadata={"owner": "alice"})
        assert not store.exists("m.bin")
