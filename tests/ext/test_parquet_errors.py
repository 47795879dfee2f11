"""Parquet datasets: manifest checking, argument errors, capabilities, the pyarrow
requirement, remote-store interoperability (spec PARQUET-001..006, 015..017, 020..025,
030..032)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import storeroom
from storeroom import Store
from storeroom.backend import Backend, Forwarding, Source
from storeroom.backends.local import LocalBackend
from storeroom.backends.memory import MemoryBackend
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    ConfigError,
    InvalidArgument,
    InvalidPath,
    ManifestCorrupted,
    NotFound,
    StoreroomError,
)
from storeroom.ext.parquet import DatasetManifest, ParquetDatasetStore
from storeroom.models import WriteResult


def table(rows: int = 30) -> pa.Table:
    return pa.table(
        {
            "k": pa.array([i % 3 for i in range(rows)], pa.int16()),
            "day": pa.array([f"2024-01-0{1 + i % 2}" for i in range(rows)]).cast(pa.date32()),
            "x": pa.array([float(i) for i in range(rows)]),
        }
    )


@pytest.fixture
def pds() -> ParquetDatasetStore:
    return ParquetDatasetStore(Store(MemoryBackend()), max_rows_per_file=7)


def good_manifest(pds: ParquetDatasetStore) -> dict[str, Any]:
    pds.write_dataset(table(), "d", partition_cols=["k"])
    data: dict[str, Any] = json.loads(pds.store.read_text("d/manifest.json"))
    return data


def broken(data: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> str:
    copy = json.loads(json.dumps(data))
    change(copy)
    return json.dumps(copy)


BAD: dict[str, Callable[[dict[str, Any]], object]] = {
    "row_count bool": lambda d: d.update(row_count=True),
    "row_count negative": lambda d: d.update(row_count=-1),
    "parts missing": lambda d: d.pop("parts"),
    "part escapes": lambda d: d["parts"].__setitem__(0, "../other/p.parquet"),
    "part absolute": lambda d: d["parts"].__setitem__(0, "/etc/passwd"),
    "part is manifest": lambda d: d["parts"].__setitem__(0, "manifest.json"),
    "files disagree": lambda d: d["files"].pop(),
    "schema garbage": lambda d: d.update(schema="@@@"),
    "schema not arrow": lambda d: d.update(schema=base64.b64encode(b"nope").decode()),
    "partition col unknown": lambda d: d.update(partition_cols=["nope"]),
    "metadata not strings": lambda d: d.update(metadata={"a": 1}),
    "rows negative": lambda d: d["files"][0].update(rows=-3),
    "top level list": lambda d: d.clear(),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_manifests_are_manifest_corrupted(case: str, pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-031
    data = good_manifest(pds)
    text = "[]" if case == "top level list" else broken(data, BAD[case])
    pds.store.write("d/manifest.json", text.encode(), overwrite=True)
    with pytest.raises(ManifestCorrupted) as info:
        pds.read_dataset("d")
    err = info.value
    assert isinstance(err, StoreroomError) and isinstance(err, ValueError)
    assert err.path == "d/manifest.json" and err.backend == "memory" and err.reason
    assert err.operation == "read_dataset" and "'d'" in err.message and err.hint
    with pytest.raises(ManifestCorrupted):
        pds.read_manifest("d")


def test_manifest_round_trips_through_json(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-016
    manifest = pds.write_dataset(table(), "d", partition_cols=["day", "k"], run_id="r1")
    assert DatasetManifest.from_json(manifest.to_json()) == manifest
    assert manifest.partition_cols == ["day", "k"] and manifest.run_id == "r1"
    assert {f.partition["day"] for f in manifest.files} == {"2024-01-01", "2024-01-02"}
    assert manifest.schema is not None and manifest.schema.equals(table().schema)


def test_date_and_int16_partitions_keep_types_and_prune(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-004, PARQUET-020, PARQUET-022
    pds.write_dataset(table(), "d", partition_cols=["day", "k"])
    back = pds.read_dataset("d")
    assert back.schema.equals(table().schema)
    assert back.sort_by("x").equals(table())
    import datetime

    got = pds.read_dataset(
        "d", filters=[[("k", "=", 1)], [("day", "<", datetime.date(2024, 1, 2))]]
    )
    expected = [float(i) for i in range(30) if i % 3 == 1 or i % 2 == 0]
    assert sorted(got["x"].to_pylist()) == expected
    only = pds.read_dataset("d", columns=["k"], filters=pc.field("x") > 27)
    assert only.column_names == ["k"] and sorted(only["k"].to_pylist()) == [1, 2]


def test_null_partition_values_round_trip(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-004
    data = pa.table({"tag": ["a", None, "a", None], "v": [1, 2, 3, 4]})
    manifest = pds.write_dataset(data, "n", partition_cols=["tag"])
    assert any("tag=__HIVE_DEFAULT_PARTITION__/" in p for p in manifest.parts)
    assert sorted(pds.read_dataset("n", filters=pc.field("tag").is_null())["v"].to_pylist()) == [
        2,
        4,
    ]
    assert pds.read_dataset("n").sort_by("v").equals(data)


def test_empty_table_keeps_its_schema(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-020
    empty = table(0)
    manifest = pds.write_dataset(empty, "e", partition_cols=["k"])
    assert manifest.parts == [] and manifest.row_count == 0
    back = pds.read_dataset("e", columns=["x", "k"], filters=[("k", "=", 1)])
    assert back.num_rows == 0 and back.column_names == ["x", "k"]
    assert pds.read_dataset("e").schema.equals(empty.schema)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"partition_cols": ["nope"]}, "not in the table"),
        ({"partition_cols": ["x"]}, "has type double"),
        ({"partition_cols": ["k", "k"]}, "repeats"),
        ({"partition_cols": "k"}, "list of column names"),
        ({"max_rows_per_file": 0}, "positive integer"),
        ({"row_group_size": -1}, "positive integer"),
        ({"compression": "nonsense-codec"}, "cannot write Parquet"),
        ({"metadata": {"a": 1}}, "strings"),
    ],
)
def test_bad_write_arguments(kwargs: dict[str, Any], needle: str, pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-004, PARQUET-005
    with pytest.raises(InvalidArgument, match=needle):
        pds.write_dataset(table(), "w", **kwargs)
    assert not pds.dataset_exists("w")
    assert not pds.store.exists("w/_parts") or not list(pds.store.list_folders("w/_parts"))


def test_bad_inputs_and_keys(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-003, PARQUET-006, PARQUET-021, PARQUET-022, PARQUET-032
    with pytest.raises(InvalidArgument, match="pyarrow Table, a pandas or a polars"):
        pds.write_dataset([{"a": 1}], "w")
    with pytest.raises(InvalidPath):
        pds.write_dataset(table(), "")
    with pytest.raises(InvalidArgument, match="every column"):
        pds.write_dataset(table().select(["k", "day"]), "w", partition_cols=["k", "day"])
    with pytest.raises(InvalidPath):
        pds.read_dataset("../up")
    pds.write_dataset(table(), "r")
    with pytest.raises(InvalidArgument, match="no such column: 'zz'"):
        pds.read_dataset("r", columns=["x", "zz"])
    with pytest.raises(InvalidArgument, match="malformed filters"):
        pds.read_dataset("r", filters=[("x", "~~", 1)])
    with pytest.raises(InvalidArgument, match="do not fit"):
        pds.read_dataset("r", filters=pc.field("zz") == 1)
    with pytest.raises(InvalidArgument, match="list or an expression"):
        pds.read_dataset("r", filters="x > 1")
    with pytest.raises(NotFound) as info:
        pds.read_dataset("absent")
    assert info.value.path == "absent" and info.value.backend == "memory"
    with pytest.raises(NotFound):
        pds.read_manifest("absent")
    assert pds.list_datasets("absent") == []
    with pytest.raises(InvalidArgument):
        ParquetDatasetStore("not a store")  # type: ignore[arg-type]


class NoAtomic(Forwarding):
    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        # Without atomic moves the Store cannot derive atomic writes either.
        self.capabilities = inner.capabilities - {Capability.ATOMIC_WRITE, Capability.ATOMIC_MOVE}


def test_atomic_write_capability_required() -> None:
    # spec: PARQUET-017
    inner = MemoryBackend()
    pds = ParquetDatasetStore(Store(NoAtomic(inner)))
    with pytest.raises(CapabilityNotSupported) as info:
        pds.write_dataset(table(), "c")
    assert info.value.capability == "atomic_write" and info.value.path == "c"
    assert not Store(inner).exists("c")


class RaceOnFirstPart(Forwarding):
    """Another writer publishes the same key while this one writes its first part."""

    def __init__(self, inner: Backend, race: Callable[[], object]) -> None:
        super().__init__(inner)
        self.race: Callable[[], object] | None = race

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        if self.race is not None and key.endswith(".parquet"):
            race, self.race = self.race, None
            race()
        return super().write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)


def test_losing_a_create_race_is_already_exists_and_leaves_no_parts() -> None:
    # spec: PARQUET-015
    inner = MemoryBackend()
    winner = ParquetDatasetStore(Store(inner, owns_backend=False))
    racer = RaceOnFirstPart(inner, lambda: winner.write_dataset(table(5), "c"))
    loser = ParquetDatasetStore(Store(racer))
    with pytest.raises(AlreadyExists):
        loser.write_dataset(table(), "c")
    won = winner.read_manifest("c")
    staged = [e.name for e in Store(inner).list_folders("c/_parts")]
    assert staged == [won.version]
    assert winner.read_dataset("c").num_rows == 5


def test_reads_and_replaces_a_remote_store_dataset(tmp_path: Path) -> None:
    # spec: PARQUET-001, PARQUET-025
    from remote_store import Store as RemoteStore
    from remote_store.backends import LocalBackend as RemoteLocal
    from remote_store.ext.parquet import ParquetDatasetStore as RemoteParquet

    theirs = RemoteParquet(RemoteStore(RemoteLocal(str(tmp_path))), max_rows_per_file=10)
    theirs.write_dataset(table(), "legacy", metadata={"from": "remote-store"})
    ours = ParquetDatasetStore(Store(LocalBackend(root=str(tmp_path))))
    assert ours.dataset_exists("legacy") and ours.list_datasets() == ["legacy"]
    assert ours.read_manifest("legacy").metadata == {"from": "remote-store"}
    assert ours.read_dataset("legacy").equals(table())
    got = ours.read_dataset("legacy", columns=["x"], filters=[("k", "=", 0)])
    assert got["x"].to_pylist() == [float(i) for i in range(0, 30, 3)]

    ours.write_dataset(table(12), "legacy", overwrite=True)  # removes their loose parts
    names = sorted(p.name for p in (tmp_path / "legacy").iterdir())
    assert names == ["_SUCCESS", "_parts", "manifest.json"]
    assert theirs.read_dataset("legacy").equals(table(12))  # and they can read ours


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    src = str(Path(storeroom.__file__).parents[1])
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
        timeout=60,
    )


def test_missing_pyarrow_is_a_config_error_with_the_install_line() -> None:
    # spec: PARQUET-002
    code = (
        "import sys\n"
        "sys.modules['pyarrow'] = None\n"
        "from storeroom.errors import ConfigError\n"
        "try:\n"
        "    import storeroom.ext.parquet\n"
        "except ConfigError as exc:\n"
        "    print(type(exc).__name__, exc.hint)\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == 'ConfigError pip install "storeroom[arrow]"', result.stderr
    assert issubclass(ConfigError, StoreroomError)


def test_import_storeroom_loads_neither_pyarrow_nor_this_module() -> None:
    # spec: PARQUET-001
    code = (
        "import sys, storeroom, storeroom.errors\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pyarrow', 'pandas', 'polars',"
        " 'storeroom.ext.parquet'))))\n"
    )
    result = run_python(code)
    assert result.stdout.strip() == "[]", result.stderr


def test_a_corrupted_dataset_is_repaired_by_overwriting(pds: ParquetDatasetStore) -> None:
    # spec: PARQUET-015, PARQUET-031
    pds.write_dataset(table(), "d")
    pds.store.write("d/manifest.json", b"[]", overwrite=True)
    with pytest.raises(AlreadyExists):
        pds.write_dataset(table(3), "d")  # a manifest file is there, valid or not
    fixed = pds.write_dataset(table(3), "d", overwrite=True)
    assert [e.name for e in pds.store.list_folders("d/_parts")] == [fixed.version]
    assert pds.read_dataset("d").equals(table(3))


def test_the_user_guide_snippets_run() -> None:
    # spec: PARQUET-001, PARQUET-022, PARQUET-040
    import re

    guide = Path(__file__).parents[2] / "docs" / "parquet.md"
    namespace: dict[str, Any] = {}
    for block in re.findall(r"```python\n(.*?)```", guide.read_text(), re.S):
        exec(compile(block, str(guide), "exec"), namespace)
    assert namespace["eu"].to_pydict() == {"id": [3], "amount": [3.25]}
    assert sorted(namespace["big"]["id"].to_pylist()) == [2, 4]
    assert namespace["pds"].list_datasets() == ["silver/orders"]
