"""Real pyarrow, pandas and polars calls through ``arrow_filesystem`` on every backend (ARROW-*)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.dataset as ds
import pyarrow.feather as feather
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from every_backend import WRITABLE, registry_on
from storeroom import Store
from storeroom.errors import NotFound
from storeroom.ext.arrow import arrow_filesystem
from storeroom.layers import ObserveLayer, Recorder

ROWS = 3000


def table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "name": [f"n{i}" for i in range(ROWS)],
            "year": [2020 + i % 3 for i in range(ROWS)],
            "value": [i * 0.5 for i in range(ROWS)],
        }
    )


@pytest.fixture(params=WRITABLE)
def observed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Recorder]]:
    """A fresh store on each backend with an observe layer recording every primitive call."""
    registry = registry_on(request.param, tmp_path)
    plain = registry.get_store("s")
    recorder = Recorder()
    store = Store(
        ObserveLayer(registry.get_backend("b"), log=False, sinks=[recorder]),
        plain.root_path,
        name="s",
        owns_backend=False,
    )
    try:
        yield store, recorder
    finally:
        try:
            whole = Store(registry.get_backend("b"), owns_backend=False)
            whole.delete_folder(plain.root_path, recursive=True, missing_ok=True)
        except Exception:  # cleanup only
            pass
        registry.close()


def opened(recorder: Recorder) -> set[str]:
    """Store-relative paths of the files read (one ``open_read`` per ranged read)."""
    return {str(e.key).rpartition("/")[2] for e in recorder.of("open_read")}


def test_parquet_write_read_columns_and_footer_reads(observed: tuple[Store, Recorder]) -> None:
    # spec: ARROW-001, ARROW-020, ARROW-021, ARROW-030, ARROW-040
    store, recorder = observed
    fs = arrow_filesystem(store)
    pq.write_table(table(), "data/t.parquet", filesystem=fs)
    assert store.get_file_info("data/t.parquet").size > 0
    info = fs.get_file_info("data/t.parquet")
    assert info.type == pafs.FileType.File
    assert info.size == store.get_file_info("data/t.parquet").size
    assert info.mtime is not None
    recorder.clear()
    got = pq.read_table("data/t.parquet", filesystem=fs, columns=["id", "value"])
    assert got.column_names == ["id", "value"]
    assert got.equals(table().select(["id", "value"]))
    # the size came from get_file_info: one stat for the whole read, then bounded ranged reads
    assert len(recorder.of("stat")) == 1
    reads = [e.bytes or 0 for e in recorder.of("read_stream")]
    assert 1 <= len(reads) <= 4
    assert sum(reads) <= 2 * info.size
    # overwrite like Arrow's own filesystems
    pq.write_table(table().slice(0, 10), "data/t.parquet", filesystem=fs)
    assert pq.read_table("data/t.parquet", filesystem=fs).num_rows == 10


def test_dataset_hive_partitioning_prunes_and_writes(observed: tuple[Store, Recorder]) -> None:
    # spec: ARROW-010, ARROW-011, ARROW-041, ARROW-042
    store, recorder = observed
    fs = arrow_filesystem(store)
    ds.write_dataset(
        table(),
        "sales",
        filesystem=fs,
        format="parquet",
        partitioning=["year"],
        partitioning_flavor="hive",
        basename_template="part-{i}.parquet",
    )
    names = sorted(str(f.path) for f in store.list_files("sales", recursive=True))
    assert names == [f"sales/year={y}/part-0.parquet" for y in (2020, 2021, 2022)]
    dataset = ds.dataset("sales", filesystem=fs, format="parquet", partitioning="hive")
    assert sorted(dataset.files) == names
    recorder.clear()
    got = dataset.to_table(filter=ds.field("year") == 2021)
    assert got.num_rows == ROWS // 3
    keys = {str(e.key) for e in recorder.of("open_read")}
    assert keys and all("year=2021/" in k for k in keys), keys
    # existing_data_behavior: refuse, then replace the touched partitions
    with pytest.raises(pa.ArrowInvalid):
        ds.write_dataset(
            table(),
            "sales",
            filesystem=fs,
            format="parquet",
            partitioning=["year"],
            partitioning_flavor="hive",
            existing_data_behavior="error",
        )
    ds.write_dataset(
        table().slice(0, 3),
        "sales",
        filesystem=fs,
        format="parquet",
        partitioning=["year"],
        partitioning_flavor="hive",
        basename_template="new-{i}.parquet",
        existing_data_behavior="delete_matching",
    )
    again = ds.dataset("sales", filesystem=fs, format="parquet", partitioning="hive")
    assert again.to_table().num_rows == 3
    assert all("/new-0.parquet" in f for f in again.files)


def test_pandas_and_polars(observed: tuple[Store, Recorder]) -> None:
    # spec: ARROW-043
    store, _ = observed
    fs = arrow_filesystem(store)
    frame = table().to_pandas()
    frame.to_parquet("pd/f.parquet", filesystem=fs, index=False)
    back = pd.read_parquet("pd/f.parquet", filesystem=fs, columns=["id", "name"])
    pd.testing.assert_frame_equal(back, frame[["id", "name"]])

    pl.from_arrow(table()).write_parquet(buf := io.BytesIO())
    with fs.open_output_stream("pl/f.parquet") as out:
        out.write(buf.getvalue())
    with fs.open_input_file("pl/f.parquet") as f:
        read = pl.read_parquet(f, columns=["id"])
    assert read["id"].to_list() == list(range(ROWS))
    with fs.open_input_file("pl/f.parquet") as f:
        scanned = pl.scan_parquet(f).filter(pl.col("year") == 2020).select("id").collect()
    assert scanned["id"].to_list() == list(range(0, ROWS, 3))
    lazy = pl.scan_pyarrow_dataset(ds.dataset("pl", filesystem=fs, format="parquet"))
    assert lazy.filter(pl.col("year") == 2022).select(pl.len()).collect().item() == ROWS // 3
    with fs.open_output_stream("pl/w.parquet") as out:
        pl.DataFrame({"x": [1, 2, 3]}).write_parquet(out)
    assert pq.read_table("pl/w.parquet", filesystem=fs)["x"].to_pylist() == [1, 2, 3]


def test_csv_and_feather(observed: tuple[Store, Recorder]) -> None:
    # spec: ARROW-044, ARROW-031
    store, _ = observed
    fs = arrow_filesystem(store)
    with fs.open_output_stream("c/t.csv") as out:
        pcsv.write_csv(table(), out)
    with fs.open_input_stream("c/t.csv") as f:
        assert pcsv.read_csv(f).num_rows == ROWS
    with fs.open_output_stream("c/t.feather") as out:
        feather.write_feather(table(), out)
    with fs.open_input_file("c/t.feather") as f:
        assert feather.read_table(f, columns=["name"]).column("name").to_pylist()[:2] == [
            "n0",
            "n1",
        ]
    csv_ds = ds.dataset("c/t.csv", filesystem=fs, format="csv")
    assert csv_ds.to_table().num_rows == ROWS


def test_folders_follow_the_backend(observed: tuple[Store, Recorder]) -> None:
    # spec: ARROW-012, ARROW-013, ARROW-014, ARROW-015
    store, _ = observed
    fs = arrow_filesystem(store)
    fs.create_dir("empty/inner", recursive=True)
    real = store.backend.real_folders
    kind = fs.get_file_info("empty/inner").type
    assert kind == (pafs.FileType.Directory if real else pafs.FileType.NotFound)
    if real:
        with pytest.raises(NotFound):
            fs.create_dir("none/inner", recursive=False)
    else:
        fs.create_dir("none/inner", recursive=False)  # flat: nothing to create, no parent
    assert fs.get_file_info("none/inner").type == pafs.FileType.NotFound
    store.write("file.txt", b"1")
    with pytest.raises(FileExistsError):
        fs.create_dir("file.txt", recursive=True)
    store.write("a/b/c.txt", b"xyz")
    assert fs.get_file_info("a").type == pafs.FileType.Directory
    assert fs.get_file_info("a/b/c.txt").size == 3
    listed = fs.get_file_info(pafs.FileSelector("a", recursive=True))
    assert [(i.path, i.type) for i in listed] == [
        ("a/b", pafs.FileType.Directory),
        ("a/b/c.txt", pafs.FileType.File),
    ]
    assert fs.get_file_info(pafs.FileSelector("nope", allow_not_found=True)) == []
    with pytest.raises(NotFound):
        fs.get_file_info(pafs.FileSelector("nope"))
    fs.copy_file("a/b/c.txt", "a/d.txt")
    fs.move("a/b", "m/b")
    assert store.read_bytes("m/b/c.txt") == b"xyz"
    assert not store.exists("a/b/c.txt")
    fs.delete_dir_contents("a")
    assert not store.exists("a/d.txt")
    emptied = pafs.FileType.Directory if real else pafs.FileType.NotFound
    assert fs.get_file_info("a").type == emptied
    fs.delete_dir("m")
    assert not store.exists("m")
    fs.delete_file  # noqa: B018 - attribute exists on every PyFileSystem
    with pytest.raises(NotFound) as err:
        fs.delete_file("m/b/c.txt")
    assert err.value.path == "m/b/c.txt"
    assert err.value.backend == store.backend.type_name
