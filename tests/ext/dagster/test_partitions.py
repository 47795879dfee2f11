"""Partitioned assets through StoreIOManager: static, time-window, dynamic, multi; backfills."""

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster import AssetExecutionContext
from dagster_support import BACKENDS, config_file, files, materialization_metadata

from storeroom.errors import InvalidArgument, NotFound
from storeroom.ext.dagster import StoreIOManager

# Dagster marks partition mappings and backfill policies as beta
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

REGIONS = dg.StaticPartitionsDefinition(["eu", "us", "a/b"])
DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-05")
GRID = dg.MultiPartitionsDefinition({"region": REGIONS, "date": DAYS})


def _materialize(assets: list[Any], io: StoreIOManager, instance: dg.DagsterInstance, **kw: Any):  # type: ignore[no-untyped-def]
    return dg.materialize(assets, resources={"io_manager": io}, instance=instance, **kw)


@pytest.mark.parametrize("backend", BACKENDS)
def test_static_partitions_and_fan_in_as_dict(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-030, DAGSTER-033
    path, registry = config_file(backend, tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset(partitions_def=REGIONS)
    def sales(context: AssetExecutionContext) -> dict[str, str]:
        return {"region": context.partition_key}

    @dg.asset
    def combined(sales: dict[str, dict[str, str]]) -> None:
        seen["sales"] = sales

    io = StoreIOManager(config=str(path), store="s", prefix="p")
    instance = dg.DagsterInstance.ephemeral()
    for key in ("eu", "us", "a/b"):
        assert _materialize([sales], io, instance, partition_key=key).success
    assert _materialize([sales.to_source_asset(), combined], io, instance).success
    store = registry.get_store("s")
    assert files(store) == ["p/sales/a%2Fb.pkl", "p/sales/eu.pkl", "p/sales/us.pkl"]
    assert seen["sales"] == {k: {"region": k} for k in ("eu", "us", "a/b")}
    registry.close()


def test_time_window_partitions_load_a_range(tmp_path: Path) -> None:
    # spec: DAGSTER-030, DAGSTER-033
    path, registry = config_file("local", tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset(partitions_def=DAYS)
    def daily(context: AssetExecutionContext) -> int:
        return int(context.partition_key[-2:])

    @dg.asset(
        partitions_def=DAYS,
        ins={"daily": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))},
    )
    def rolling(daily: dict[str, int]) -> int:
        seen["daily"] = daily
        return sum(daily.values())

    io = StoreIOManager(config=str(path), store="s")
    instance = dg.DagsterInstance.ephemeral()
    for day in ("2024-01-01", "2024-01-02"):
        assert _materialize([daily], io, instance, partition_key=day).success
    assert _materialize(
        [daily.to_source_asset(), rolling], io, instance, partition_key="2024-01-02"
    ).success
    assert seen["daily"] == {"2024-01-01": 1, "2024-01-02": 2}
    assert registry.get_store("s").exists("rolling/2024-01-02.pkl")


def test_dynamic_partitions(tmp_path: Path) -> None:
    # spec: DAGSTER-030
    path, registry = config_file("local", tmp_path)
    files_def = dg.DynamicPartitionsDefinition(name="uploads")

    @dg.asset(partitions_def=files_def)
    def upload(context: AssetExecutionContext) -> str:
        return context.partition_key.upper()

    io = StoreIOManager(config=str(path), store="s")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("uploads", ["report.csv", "x:y"])
    for key in ("report.csv", "x:y"):
        assert _materialize([upload], io, instance, partition_key=key).success
    assert files(registry.get_store("s")) == ["upload/report.csv.pkl", "upload/x%3Ay.pkl"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_multi_partitions_one_folder_per_dimension(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-031, DAGSTER-033
    path, registry = config_file(backend, tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset(partitions_def=GRID)
    def cells(context: AssetExecutionContext) -> str:
        return str(context.partition_key)

    @dg.asset(
        partitions_def=REGIONS,
        ins={
            "cells": dg.AssetIn(
                partition_mapping=dg.MultiToSingleDimensionPartitionMapping("region")
            )
        },
    )
    def per_region(cells: dict[str, str]) -> None:
        seen["cells"] = cells

    io = StoreIOManager(config=str(path), store="s")
    instance = dg.DagsterInstance.ephemeral()
    for key in ("2024-01-01|eu", "2024-01-02|eu", "2024-01-01|us"):
        done = _materialize([cells], io, instance, partition_key=key)
        assert done.success
    store = registry.get_store("s")
    assert files(store) == [
        "cells/date=2024-01-01/region=eu.pkl",
        "cells/date=2024-01-01/region=us.pkl",
        "cells/date=2024-01-02/region=eu.pkl",
    ]
    assert materialization_metadata(done, "cells")["path"] == "cells/date=2024-01-01/region=us.pkl"
    # region eu spans four dates; two were never materialized, and the input allows that
    missing_ok = {"cells": dg.AssetIn(metadata={"allow_missing_partitions": True})}
    per_region_lenient = dg.asset(
        partitions_def=REGIONS,
        name="per_region",
        ins={**missing_ok},
    )(per_region.op.compute_fn.decorated_fn)  # type: ignore[union-attr]
    assert _materialize(
        [cells.to_source_asset(), per_region_lenient], io, instance, partition_key="eu"
    ).success
    assert seen["cells"] == {"2024-01-01|eu": "2024-01-01|eu", "2024-01-02|eu": "2024-01-02|eu"}
    # without the metadata a missing partition is NotFound
    with pytest.raises(NotFound, match="asset 'cells' has nothing stored"):
        _materialize([cells.to_source_asset(), per_region], io, instance, partition_key="eu")
    registry.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_single_run_backfill_writes_each_partition(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-032
    path, registry = config_file(backend, tmp_path)

    @dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
    def bulk(context: AssetExecutionContext) -> dict[str, list[int]]:
        return {key: [int(key[-2:])] * 2 for key in context.partition_keys}

    io = StoreIOManager(config=str(path), store="s")
    instance = dg.DagsterInstance.ephemeral()
    tags = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-01-03",
    }
    result = _materialize([bulk], io, instance, tags=tags)
    assert result.success
    store = registry.get_store("s")
    assert files(store) == [
        "bulk/2024-01-01.pkl",
        "bulk/2024-01-02.pkl",
        "bulk/2024-01-03.pkl",
    ]
    meta = materialization_metadata(result, "bulk")
    assert meta["path"] == "bulk" and meta["partitions"] == 3
    assert meta["size"] == sum(store.get_file_info(f).size for f in files(store))
    # the written partitions load back one by one
    loaded: dict[str, Any] = {}

    @dg.asset(partitions_def=DAYS)
    def after(bulk: list[int]) -> None:
        loaded["v"] = bulk

    assert _materialize(
        [bulk.to_source_asset(), after], io, instance, partition_key="2024-01-02"
    ).success
    assert loaded["v"] == [2, 2]
    registry.close()


def test_single_run_backfill_needs_a_dict_per_partition(tmp_path: Path) -> None:
    # spec: DAGSTER-032
    path, registry = config_file("local", tmp_path)

    @dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
    def lumped() -> list[int]:
        return [1, 2, 3]

    io = StoreIOManager(config=str(path), store="s")
    tags = {
        "dagster/asset_partition_range_start": "2024-01-01",
        "dagster/asset_partition_range_end": "2024-01-02",
    }
    with pytest.raises(InvalidArgument, match="covers 2 partitions in this run") as info:
        _materialize([lumped], io, dg.DagsterInstance.ephemeral(), tags=tags)
    assert info.value.hint and "one value per partition key" in info.value.hint
    assert files(registry.get_store("s")) == []
