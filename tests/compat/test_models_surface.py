"""remote-store's model shapes and backend methods on storeroom: real backends, real servers."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from every_backend import registry_on
from storeroom import (
    Capability,
    ContentDigest,
    FileInfo,
    FolderEntry,
    FolderInfo,
    PathEntry,
    RemotePath,
    Store,
    WriteResult,
)
from storeroom.backends import MemoryBackend, S3Backend, S3PyArrowBackend
from storeroom.errors import CapabilityNotSupported, InvalidArgument
from storeroom.ext.dagster import dagster_io_manager
from storeroom.testing.conformance.targets import registered_targets

WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def test_entries_take_and_keep_extra() -> None:
    # spec: COMPAT-200
    info = FileInfo(RemotePath("a/b.csv"), "b.csv", 3, WHEN, extra={"tier": "hot"})
    folder = FolderInfo(RemotePath("a"), 1, 3, extra={"tier": "hot"})
    assert info.extra == {"tier": "hot"} and folder.extra == {"tier": "hot"}
    assert FileInfo(RemotePath("x"), "x", 0, None).extra == {}
    assert FolderInfo(RemotePath("x"), 0, 0).extra == {}
    store = Store(MemoryBackend())
    store.write("f.txt", b"f")
    (entry,) = store.list_files("")
    assert entry.extra == {}
    with pytest.raises(TypeError):
        entry.extra["x"] = 1  # type: ignore[index]  # shared empty mapping stays empty


def test_entries_compare_by_value_and_hash_by_path() -> None:
    # spec: COMPAT-201, MODEL-001
    a = FileInfo(RemotePath("d/a"), "a", 1, WHEN)
    b = FileInfo(RemotePath("d/a"), "a", 99, None, etag="e")
    assert a != b and hash(a) == hash(b) and len({a, b}) == 2
    assert a == FileInfo(RemotePath("d/a"), "a", 1, WHEN) and a.path == b.path
    assert a != FileInfo(RemotePath("d/b"), "b", 1, WHEN)
    assert FolderEntry(RemotePath("d"), "d") != FolderEntry(RemotePath("d"), "other")
    assert FolderInfo(RemotePath("d"), 1, 10) != FolderInfo(RemotePath("d"), 9, 99)
    assert FolderInfo(RemotePath("d"), 1, 10) == FolderInfo(RemotePath("d"), 1, 10)
    assert FolderEntry(RemotePath("d"), "d") != FolderInfo(RemotePath("d"), 0, 0)
    assert a != "d/a"
    written = WriteResult(RemotePath("d/a"), 1)
    assert written != WriteResult(RemotePath("d/a"), 2)
    assert written == dataclasses.replace(written)


def test_folder_info_has_a_name_and_is_a_path_entry() -> None:
    # spec: COMPAT-202
    assert FolderInfo(RemotePath("a/b"), 0, 0).name == "b"
    assert FolderInfo(RemotePath.ROOT, 0, 0).name == ""
    entries: list[PathEntry] = [
        FileInfo(RemotePath("a/f"), "f", 0, None),
        FolderEntry(RemotePath("a/g"), "g"),
        FolderInfo(RemotePath("a/h"), 0, 0),
    ]
    assert all(isinstance(e, PathEntry) for e in entries)
    assert [e.name for e in entries] == ["f", "g", "h"]


def test_root_path_is_one_object() -> None:
    # spec: COMPAT-203
    assert RemotePath("") is RemotePath.ROOT and RemotePath("/") is RemotePath.ROOT
    assert pickle.loads(pickle.dumps(RemotePath(""))) is RemotePath.ROOT
    store = Store(MemoryBackend())
    store.write("r.txt", b"r")
    store.write("sub/n.txt", b"nn")
    info = store.get_folder_info("", max_depth=0)
    assert (info.file_count, info.total_size) == (1, 1) and info.path is RemotePath.ROOT


def test_write_result_source_and_metadata_shape() -> None:
    # spec: COMPAT-204
    plain = WriteResult(RemotePath("a"), 1)
    assert plain.source == "basic" and plain.metadata is None
    assert WriteResult(RemotePath("a"), 1, etag="e").source == "native"
    assert WriteResult(RemotePath("a"), 1, etag="e", source="basic").source == "basic"
    assert WriteResult(RemotePath("a"), 1, metadata={}).metadata is None
    assert WriteResult(RemotePath("a"), 1, metadata={"k": "v"}).metadata == {"k": "v"}
    with pytest.raises(ValueError, match="'native', 'basic' or 'sidecar'"):
        WriteResult(RemotePath("a"), 1, source="server")  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["memory", "local", "sql-sqlite", "s3"])
def test_writes_and_head_report_their_source(backend: str, tmp_path: Path) -> None:
    # spec: COMPAT-204
    store = registry_on(backend, tmp_path).get_store("s")
    done = store.write("w.bin", b"abc")
    rich = done.etag or done.version_id or done.last_modified
    assert done.source == ("native" if rich else "basic") and done.metadata is None
    if backend == "s3":
        assert done.source == "native"  # S3 answers a PUT with its ETag
    if store.supports(Capability.USER_METADATA):
        tagged = store.write("m.bin", b"m", metadata={"owner": "ana"})
        assert tagged.metadata == {"owner": "ana"}
    head = store.head("w.bin")
    assert head.source == "sidecar" and head.size == 3 and head.metadata is None


def test_messages_name_what_remote_store_names() -> None:
    # spec: COMPAT-205
    with pytest.raises(ValueError, match="value must not be empty"):
        ContentDigest("sha256", "  ")
    with pytest.raises(ValueError, match="must be hexadecimal"):
        ContentDigest("sha256", "xyz")
    store = Store(MemoryBackend())
    store.write("d/a.txt", b"a")
    for call in (store.list_files, store.list_folders, store.get_folder_info):
        with pytest.raises(InvalidArgument, match="max_depth must be >= 0"):
            list(call("d", max_depth=-1))  # type: ignore[operator]


@pytest.mark.parametrize("backend", ["memory", "local", "sql-sqlite", "s3", "azure", "sftp"])
def test_backend_list_files_and_check_health(backend: str, tmp_path: Path) -> None:
    # spec: COMPAT-206, BACKEND-018
    registry = registry_on(backend, tmp_path)
    store = registry.get_store("s")
    for name in ("d/a.txt", "d/s/b.txt", "d/s/t/c.txt"):
        store.write(name, b"x")
    raw = registry.get_backend("b")
    raw.check_health()
    key = f"{registry.config.stores['s'].root_path}/d"  # the backend key of store folder "d"

    def names(**kw: object) -> list[str]:
        return sorted(f.path.rsplit("/", 1)[-1] for f in raw.list_files(key, **kw))  # type: ignore[arg-type]

    assert names() == ["a.txt"]
    assert names(recursive=False, max_depth=5) == ["a.txt"]
    assert names(recursive=True) == ["a.txt", "b.txt", "c.txt"]
    assert names(recursive=True, max_depth=0) == ["a.txt"]
    assert names(recursive=True, max_depth=1) == ["a.txt", "b.txt"]
    assert all(isinstance(f, FileInfo) for f in raw.list_files(key, recursive=True))
    with pytest.raises(InvalidArgument, match="max_depth must be >= 0"):
        names(recursive=True, max_depth=-1)


def test_unwrap_returns_the_sdk_objects(tmp_path: Path) -> None:
    # spec: COMPAT-207
    import s3fs  # type: ignore[import-untyped]
    import sqlalchemy as sa
    from azure.storage.blob import ContainerClient
    from azure.storage.filedatalake import FileSystemClient

    s3 = registry_on("s3", tmp_path).get_backend("b")
    fs = s3.unwrap(s3fs.S3FileSystem)
    assert isinstance(fs, s3fs.S3FileSystem) and fs.ls(s3.describe()["bucket"]) is not None
    engine = registry_on("sql-sqlite", tmp_path).get_backend("b").unwrap(sa.Engine)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
    s3_store = registry_on("s3", tmp_path).get_store("s")
    assert isinstance(s3_store.unwrap(s3fs.S3FileSystem), s3fs.S3FileSystem)  # through layers
    with pytest.raises(InvalidArgument, match="nor among its SDK objects"):
        s3_store.unwrap(sa.Engine)
    azure = registry_on("azure", tmp_path).get_backend("b")
    container = azure.unwrap(ContainerClient)
    assert container.exists()
    assert isinstance(azure.unwrap(FileSystemClient), FileSystemClient)
    with pytest.raises(CapabilityNotSupported, match="no native object of type Engine") as err:
        MemoryBackend().unwrap(sa.Engine)
    assert err.value.capability == "unwrap"


def test_pyarrow_engine_unwraps_both_file_systems(tmp_path: Path) -> None:
    # spec: COMPAT-207
    import s3fs
    from pyarrow.fs import FileSystem, S3FileSystem

    options = registered_targets()["s3"].backend_table(tmp_path)["options"]
    with S3PyArrowBackend(**options) as backend:
        arrow = backend.unwrap(S3FileSystem)
        assert isinstance(arrow, S3FileSystem) and backend.unwrap(FileSystem) is arrow
        assert isinstance(backend.unwrap(s3fs.S3FileSystem), s3fs.S3FileSystem)
        assert arrow.get_file_info(options["bucket"]).type.name == "Directory"
    with pytest.raises(CapabilityNotSupported, match="type S3FileSystem"):
        S3Backend(**options).unwrap(S3FileSystem)


def test_io_manager_loads_with_a_context_built_without_a_type() -> None:
    # spec: COMPAT-208
    store = Store(MemoryBackend())
    manager = dagster_io_manager(store)
    out = dg.build_output_context(asset_key=dg.AssetKey(["raw", "users"]))
    manager.handle_output(out, {"users": ["ana"]})
    loaded = manager.load_input(
        dg.build_input_context(asset_key=dg.AssetKey(["raw", "users"]), upstream_output=out)
    )
    assert loaded == {"users": ["ana"]}
