"""Zarr 3 arrays and groups on storeroom:// URLs (real calls), on every writable backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
from fsspec_support import fs_on
from zarr.storage import FsspecStore

from every_backend import WRITABLE
from storeroom import Store
from storeroom.backends import MemoryBackend
from storeroom.ext.fsspec import StoreroomFileSystem

GRID = np.arange(12 * 10, dtype="int32").reshape(12, 10)


@pytest.mark.parametrize("backend", WRITABLE)
def test_zarr_array_round_trip(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-073
    with fs_on(backend, tmp_path) as fs:
        opts = {"config": fs.registry_config}
        url = "storeroom://s/grids/a.zarr"
        z = zarr.open_array(
            url, mode="w", shape=(12, 10), chunks=(5, 5), dtype="int32", storage_options=opts
        )
        z[:] = GRID
        # One metadata document and one object per chunk (3 x 2), as a key below the URL.
        keys = fs.find("s/grids/a.zarr")
        assert "s/grids/a.zarr/zarr.json" in keys and len(keys) == 1 + 6

        back = zarr.open_array(url, mode="r", storage_options=opts)
        assert back.shape == (12, 10) and back.dtype == np.dtype("int32")
        np.testing.assert_array_equal(back[:], GRID)
        np.testing.assert_array_equal(back[4:7, 3:9], GRID[4:7, 3:9])  # chunks 4, partly

        # mode="w" replaces an existing array: old chunks go, unwritten ones read as fill.
        z2 = zarr.open_array(
            url, mode="w", shape=(4,), chunks=(2,), dtype="float64", fill_value=-1.0,
            storage_options=opts,
        )  # fmt: skip
        z2[:2] = [0.5, 1.5]
        again = zarr.open_array(url, mode="r", storage_options=opts)
        np.testing.assert_array_equal(again[:], [0.5, 1.5, -1.0, -1.0])
        assert sorted(fs.find("s/grids/a.zarr")) == [
            "s/grids/a.zarr/c/0",
            "s/grids/a.zarr/zarr.json",
        ]


@pytest.mark.parametrize("backend", ["local", "sql-sqlite", "s3"])
def test_zarr_group_members_and_attributes(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-073
    with fs_on(backend, tmp_path) as fs:
        store = FsspecStore.from_url(
            "storeroom://s/g.zarr", storage_options={"config": fs.registry_config}
        )
        # zarr wraps the (synchronous) filesystem in fsspec's AsyncFileSystemWrapper.
        assert isinstance(store.fs, AsyncFileSystemWrapper)
        assert isinstance(store.fs.sync_fs, StoreroomFileSystem)
        root = zarr.open_group(store, mode="w")
        root.attrs["title"] = "run 7"
        root.create_array("temp", shape=(3,), dtype="float32")[:] = [1.0, 2.0, 3.0]
        root.create_group("meta").create_array("ids", shape=(2,), dtype="int64")[:] = [7, 8]

        back = zarr.open_group(
            "storeroom://s/g.zarr", mode="r", storage_options={"config": fs.registry_config}
        )
        assert back.attrs["title"] == "run 7"
        assert sorted(name for name, _ in back.members()) == ["meta", "temp"]
        np.testing.assert_array_equal(back["temp"][:], [1.0, 2.0, 3.0])
        np.testing.assert_array_equal(back["meta/ids"][:], [7, 8])
        with pytest.raises(FileNotFoundError):
            zarr.open_array(
                "storeroom://s/nothing.zarr", mode="r",
                storage_options={"config": fs.registry_config},
            )  # fmt: skip


def test_zarr_on_one_store_and_its_mapper() -> None:
    # spec: FSSPEC-074, MAP-014
    store = Store(MemoryBackend())
    # zarr 3 takes a dict or an fsspec FSMap, not any MutableMapping: store.mapper() is refused.
    with pytest.raises(TypeError, match="StoreMapper"):
        zarr.open_array(store.mapper("a.zarr"), mode="w", shape=(2,), dtype="int8")
    # The fsspec mapper of a filesystem wrapping the Store is accepted.
    fs_map = StoreroomFileSystem(store=store).get_mapper("a.zarr")
    z = zarr.open_array(fs_map, mode="w", shape=(6,), chunks=(3,), dtype="int8")
    z[:] = [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(zarr.open_array(fs_map, mode="r")[2:5], [3, 4, 5])
    # What zarr wrote are plain files, so store.mapper() reads them as bytes.
    m = store.mapper("a.zarr")
    assert sorted(m) == ["c/0", "c/1", "zarr.json"]
    assert b'"zarr_format": 3' in m["zarr.json"]
