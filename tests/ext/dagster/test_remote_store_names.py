"""remote-store's Dagster names over storeroom's resource, IO manager and log manager: real runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest
from dagster_support import files

from storeroom import Store
from storeroom.backends import LocalBackend
from storeroom.errors import InvalidArgument
from storeroom.ext.dagster import (
    DagsterStoreResource,
    JsonSerializer,
    ParquetSerializer,
    PickleSerializer,
    RemoteStoreComputeLogManager,
    RemoteStoreIOManager,
    Serializer,
    StoreComputeLogManager,
    StoreIOManager,
    StoreResource,
    dagster_dataset_io_manager,
    dagster_io_manager,
)


def _run(assets: list[Any], io: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, resources={"io_manager": io}, instance=dg.DagsterInstance.ephemeral()
    )


@dg.asset
def numbers() -> dict[str, Any]:
    return {"values": [1, 2, 3]}


def test_remote_store_io_manager_fields_build_the_store(tmp_path: Path) -> None:
    """spec: COMPAT-021"""
    seen: dict[str, Any] = {}

    @dg.asset
    def total(numbers: dict[str, Any]) -> int:
        seen["numbers"] = numbers
        return sum(numbers["values"])

    io = RemoteStoreIOManager(
        backend_type="local",
        backend_options={"root": str(tmp_path)},
        root_path="pipeline",
        serializer="json",
    )
    assert isinstance(io, StoreIOManager) and io.format == "json"
    assert _run([numbers, total], io).success
    store = Store(LocalBackend(root=str(tmp_path / "pipeline")))
    assert files(store) == ["numbers.json", "total.pkl"]  # json holds dicts and lists only
    assert json.loads(store.read_bytes("numbers.json")) == {"values": [1, 2, 3]}
    assert seen["numbers"] == {"values": [1, 2, 3]}


def test_unknown_serializer_is_refused() -> None:
    """spec: COMPAT-021"""
    with pytest.raises(Exception, match="unknown serializer 'yaml'"):
        RemoteStoreIOManager(backend_type="memory", serializer="yaml")
    with pytest.raises(InvalidArgument):
        dagster_io_manager(Store(LocalBackend(root="/tmp")), serializer=42)  # type: ignore[arg-type]


def test_dagster_io_manager_over_a_store_you_keep(tmp_path: Path) -> None:
    """spec: COMPAT-021"""
    store = Store(LocalBackend(root=str(tmp_path)))
    assert _run([numbers], dagster_io_manager(store)).success
    assert files(store) == ["numbers.pkl"]
    assert store.exists("numbers.pkl")  # the store is still open: the caller owns it

    class Upper:
        extension = ".txt"

        def serialize(self, obj: Any) -> bytes:
            return json.dumps(obj).upper().encode()

        def deserialize(self, data: bytes) -> Any:
            return json.loads(data.decode().lower())

    got: dict[str, Any] = {}

    @dg.asset
    def echo(numbers: dict[str, Any]) -> None:
        got.update(numbers)

    assert isinstance(Upper(), Serializer)
    custom = dagster_io_manager(store.child("custom"), serializer=Upper())
    assert _run([numbers, echo], custom).success
    assert store.read_text("custom/numbers.txt") == '{"VALUES": [1, 2, 3]}'
    assert got == {"values": [1, 2, 3]}


def test_dataset_io_manager_writes_parquet(tmp_path: Path) -> None:
    """spec: COMPAT-021"""

    @dg.asset
    def table() -> pa.Table:
        return pa.table({"a": [1, 2]})

    store = Store(LocalBackend(root=str(tmp_path)))
    assert _run([table], dagster_dataset_io_manager(store)).success
    assert files(store) == ["table.parquet"]


def test_serializers_round_trip() -> None:
    """spec: COMPAT-021"""
    assert PickleSerializer().deserialize(PickleSerializer().serialize({1, 2})) == {1, 2}
    assert JsonSerializer().serialize({"a": 1}) == b'{"a": 1}'
    assert JsonSerializer().deserialize(b'{"a": 1}') == {"a": 1}
    table = pa.table({"x": [1.5, 2.5]})
    back = ParquetSerializer().deserialize(ParquetSerializer().serialize(table))
    assert back.equals(table)
    assert (PickleSerializer.extension, ParquetSerializer.extension) == (".pkl", ".parquet")


def test_dagster_store_resource_fields(tmp_path: Path) -> None:
    """spec: COMPAT-021"""
    seen: dict[str, bytes] = {}

    @dg.asset
    def uses_store(storage: DagsterStoreResource) -> None:
        store = storage.get_store()
        store.write("hello.txt", b"hi", overwrite=True)
        seen["read"] = store.read_bytes("hello.txt")

    resource = DagsterStoreResource(
        backend_type="local", backend_options={"root": str(tmp_path)}, root_path="r"
    )
    assert isinstance(resource, StoreResource)
    result = dg.materialize(
        [uses_store], resources={"storage": resource}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success and seen["read"] == b"hi"
    assert (tmp_path / "r" / "hello.txt").read_bytes() == b"hi"


@dg.op
def chatty() -> int:
    print("hello from a remote-store style config")
    return 1


@dg.job
def talk() -> None:
    chatty()


def test_remote_store_compute_log_manager_from_dagster_yaml(tmp_path: Path) -> None:
    """spec: COMPAT-021"""
    logs = tmp_path / "logs"
    settings = {
        "compute_logs": {
            "module": "storeroom.ext.dagster",
            "class": "RemoteStoreComputeLogManager",
            "config": {
                "backend_type": "local",
                "backend_options": {"root": str(logs)},
                "prefix": "runs",
            },
        }
    }
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home), overrides=settings) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, RemoteStoreComputeLogManager)
        assert isinstance(manager, StoreComputeLogManager)
        assert talk.execute_in_process(instance=instance).success
        store = Store(LocalBackend(root=str(logs)))
        out = [f for f in files(store) if f.endswith(".out")]
        assert len(out) == 1 and out[0].startswith("runs/")
        assert "hello from a remote-store style config" in store.read_text(out[0])
