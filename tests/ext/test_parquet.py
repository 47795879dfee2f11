"""Parquet datasets on every writable backend (real servers): round trips, partitions
and pruning, overwrite, orphans, missing parts, corrupted manifests (spec PARQUET-*)."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import every_backend
from storeroom import Store
from storeroom.errors import (
    AlreadyExists,
    DatasetIncomplete,
    ManifestCorrupted,
    NotFound,
    StoreroomError,
)
from storeroom.ext.parquet import DatasetManifest, ParquetDatasetStore
from storeroom.layers.observe import ObserveLayer

ROWS = 3000
every_store = every_backend.every_store  # the fixture: a fresh Store on each backend


def sample(rows: int = ROWS, tag: int = 0) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "region": pa.array([("eu", "us", "a/b=c")[i % 3] for i in range(rows)]),
            "year": pa.array([2020 + i % 4 for i in range(rows)], pa.int32()),
            "value": pa.array([i * 0.5 + tag for i in range(rows)]),
        }
    )


def staged(store: Store, key: str) -> list[str]:
    return sorted(e.name for e in store.list_folders(f"{key}/_parts"))


def test_round_trip_with_partitions_and_pruning(every_store: Store) -> None:
    # spec: PARQUET-004, PARQUET-010, PARQUET-016, PARQUET-020, PARQUET-023, PARQUET-050
    table = sample()
    pds = ParquetDatasetStore(every_store, max_rows_per_file=400)
    manifest = pds.write_dataset(table, "sales", partition_cols=["year", "region"])
    assert manifest.row_count == ROWS and len(manifest.parts) == 12
    assert sum(f.rows or 0 for f in manifest.files) == ROWS
    assert all(f.size and f.size > 0 for f in manifest.files)
    assert all(f.path.startswith(f"_parts/{manifest.version}/year=") for f in manifest.files)
    assert any("region=a%2Fb%3Dc" in p for p in manifest.parts)  # Hive-escaped folder
    assert every_store.read_text("sales/_SUCCESS") == manifest.version
    assert DatasetManifest.from_json(every_store.read_bytes("sales/manifest.json")) == manifest

    back = pds.read_dataset("sales")
    assert back.schema.names == table.schema.names
    assert back.schema.field("year").type == pa.int32()
    assert back.sort_by("id").equals(table)

    # Count reads through an observe layer: pruned partitions are never opened.
    recorder = ObserveLayer(every_store.backend, log=False, record=10_000)
    counted = ParquetDatasetStore(Store(recorder, every_store.root_path, owns_backend=False))
    assert recorder.recorder is not None
    recorder.recorder.clear()
    got = counted.read_dataset(
        "sales", columns=["id", "year"], filters=[("year", "=", 2021), ("region", "=", "eu")]
    )
    reads = [e.key for e in recorder.recorder.of("open_read")]
    part_reads = [k for k in reads if k.endswith(".parquet")]
    assert len(part_reads) == 1 and "year=2021/region=eu/" in part_reads[0]
    assert got.column_names == ["id", "year"]
    assert sorted(got["id"].to_pylist()) == [i for i in range(ROWS) if i % 3 == 0 and i % 4 == 1]


def test_overwrite_replaces_and_sweeps_old_version(every_store: Store) -> None:
    # spec: PARQUET-011, PARQUET-014, PARQUET-015, PARQUET-040, PARQUET-050
    pds = ParquetDatasetStore(every_store)
    first = pds.write_dataset(sample(100), "t")
    with pytest.raises(AlreadyExists) as info:
        pds.write_dataset(sample(50), "t")
    assert info.value.path == "t" and info.value.backend
    assert staged(every_store, "t") == [first.version]  # the refused write staged nothing
    second = pds.write_dataset(sample(50, tag=1), "t", overwrite=True, metadata={"k": "v"})
    assert staged(every_store, "t") == [second.version]
    assert pds.read_dataset("t").equals(sample(50, tag=1))
    assert pds.read_manifest("t").metadata == {"k": "v"}
    assert pds.dataset_exists("t") and not pds.dataset_exists("nothing")
    pds.write_dataset(sample(10), "deep/er/u")
    assert pds.list_datasets() == ["deep/er/u", "t"]
    assert pds.list_datasets("deep") == ["deep/er/u"]


def test_orphans_of_an_interrupted_write_are_invisible_then_swept(every_store: Store) -> None:
    # spec: PARQUET-012, PARQUET-013, PARQUET-030, PARQUET-042, PARQUET-050
    pds = ParquetDatasetStore(every_store)
    # A first write that died after its parts: no manifest, so no dataset.
    every_store.write("d/_parts/19990101T000000000000Z-dead0000/part-00000.parquet", b"PAR1")
    with pytest.raises(DatasetIncomplete) as info:
        pds.read_dataset("d")
    assert info.value.path == "d" and info.value.backend and "cleanup" in str(info.value)
    assert not pds.dataset_exists("d")
    assert pds.cleanup("d") == ["d/_parts/19990101T000000000000Z-dead0000"]
    with pytest.raises(NotFound):
        pds.read_dataset("d")

    v1 = pds.write_dataset(sample(200), "d")
    every_store.write("d/_parts/29990101T000000000000Z-dead0001/part-00000.parquet", b"junk")
    assert pds.read_dataset("d").equals(sample(200))  # the orphan is never read
    v2 = pds.write_dataset(sample(20), "d", overwrite=True)  # the next write sweeps it
    assert staged(every_store, "d") == [v2.version] and v1.version != v2.version
    assert pds.read_dataset("d").equals(sample(20))


def test_missing_part_and_corrupted_manifest(every_store: Store) -> None:
    # spec: PARQUET-024, PARQUET-030, PARQUET-031, PARQUET-041, PARQUET-050
    pds = ParquetDatasetStore(every_store, max_rows_per_file=50)
    manifest = pds.write_dataset(sample(200), "m")
    every_store.delete(f"m/{manifest.parts[2]}")
    with pytest.raises(DatasetIncomplete) as info:
        pds.read_dataset("m")
    assert manifest.parts[2] in str(info.value) and info.value.path == "m"
    assert isinstance(info.value, StoreroomError) and info.value.hint

    every_store.write("m/manifest.json", b"{not json", overwrite=True)
    with pytest.raises(ManifestCorrupted) as bad:
        pds.read_dataset("m")
    assert bad.value.path == "m/manifest.json" and bad.value.reason == "invalid JSON"
    assert bad.value.backend and "overwrite=True" in str(bad.value)

    pds.delete_dataset("m")
    assert not every_store.exists("m")
    with pytest.raises(NotFound):
        pds.delete_dataset("m")


def test_pandas_and_polars_frames(every_store: Store) -> None:
    # spec: PARQUET-003, PARQUET-050
    pds = ParquetDatasetStore(every_store)
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    pds.write_dataset(frame, "pd", partition_cols=["b"])
    assert pds.read_dataset("pd").to_pandas().sort_values("a").reset_index(drop=True).equals(frame)
    polars_frame = pl.DataFrame({"a": [1, 2], "c": [True, False]})
    pds.write_dataset(polars_frame, "pl", partition_cols=["c"])
    back = pl.from_arrow(pds.read_dataset("pl", filters=pc.field("c")))
    assert isinstance(back, pl.DataFrame) and back.to_dicts() == [{"a": 1, "c": True}]


def test_manifest_json_keeps_remote_store_fields(every_store: Store) -> None:
    # spec: PARQUET-016, PARQUET-050
    pds = ParquetDatasetStore(every_store, compression="snappy")
    pds.write_dataset(sample(10), "j", run_id="run-7")
    data = json.loads(every_store.read_text("j/manifest.json"))
    for field in ("dataset_key", "parts", "row_count", "schema_hash", "compression"):
        assert field in data
    assert data["compression"] == "snappy" and data["run_id"] == "run-7"
    assert data["files"][0]["etag"] is None or isinstance(data["files"][0]["etag"], str)
