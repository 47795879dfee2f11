"""StoreIOManager with real Dagster runs on local disk, SQLite and the S3 test server."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from dagster_support import BACKENDS, config_file, files, materialization_metadata

from storeroom.errors import CapabilityNotSupported, InvalidArgument, NotFound, UnexpectedError
from storeroom.ext.dagster import StoreIOManager


def _run(assets: list[Any], io: StoreIOManager, **kw: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets, resources={"io_manager": io}, instance=dg.DagsterInstance.ephemeral(), **kw
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_assets_round_trip_by_type(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-020, DAGSTER-021, DAGSTER-022, DAGSTER-024
    path, registry = config_file(backend, tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset(key_prefix=["sales"])
    def orders() -> pd.DataFrame:
        return pd.DataFrame({"id": [1, 2, 3], "amount": [9.5, 3.0, 1.25]})

    @dg.asset(metadata={"storeroom/format": "json"})
    def summary() -> dict[str, Any]:
        return {"regions": ["eu", "us"], "total": 13.75}

    @dg.asset
    def model() -> set[int]:
        return {1, 2}

    @dg.asset(ins={"orders": dg.AssetIn(key=["sales", "orders"])})
    def report(orders: pd.DataFrame, summary: dict[str, Any], model: set[int]) -> int:
        seen.update(orders=orders, summary=summary, model=model)
        return len(orders)

    io = StoreIOManager(config=str(path), store="s", prefix="dg")
    result = _run([orders, summary, model, report], io)
    assert result.success
    store = registry.get_store("s")
    assert files(store) == [
        "dg/model.pkl",
        "dg/report.pkl",
        "dg/sales/orders.parquet",
        "dg/summary.json",
    ]
    pd.testing.assert_frame_equal(seen["orders"], orders())
    assert seen["summary"] == summary() and seen["model"] == {1, 2}
    assert store.read_text("dg/summary.json").startswith('{"regions"')
    meta = materialization_metadata(result, "sales__orders")
    assert meta["path"] == "dg/sales/orders.parquet"
    assert meta["uri"] == "storeroom://s/dg/sales/orders.parquet"
    assert meta["size"] == store.get_file_info("dg/sales/orders.parquet").size > 0
    assert meta["row_count"] == 3
    assert [c.name for c in meta["dagster/column_schema"].columns] == ["id", "amount"]
    if backend == "s3":
        assert meta["etag"]
    registry.close()


def test_tables_in_every_kind_and_csv_override(tmp_path: Path) -> None:
    # spec: DAGSTER-022, DAGSTER-023
    path, registry = config_file("local", tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset
    def eager() -> pl.DataFrame:
        return pl.DataFrame({"a": [1, 2]})

    @dg.asset
    def lazy() -> pl.LazyFrame:
        return pl.DataFrame({"b": ["x", "y", "z"]}).lazy()

    @dg.asset
    def arrow() -> pa.Table:
        return pa.table({"c": [1.0]})

    @dg.asset(metadata={"storeroom/format": "csv"})
    def sheet() -> pd.DataFrame:
        return pd.DataFrame({"d": [4, 5]})

    @dg.asset
    def unannotated(eager, lazy, arrow) -> None:  # type: ignore[no-untyped-def]
        seen.update(eager=eager, lazy=lazy, arrow=arrow)

    @dg.asset
    def as_pandas(eager: pd.DataFrame, sheet: pd.DataFrame, arrow: pl.DataFrame) -> None:
        seen.update(eager_pd=eager, sheet=sheet, arrow_pl=arrow)

    io = StoreIOManager(config=str(path), store="s")
    assert _run([eager, lazy, arrow, sheet, unannotated, as_pandas], io).success
    store = registry.get_store("s")
    assert files(store) == ["arrow.parquet", "eager.parquet", "lazy.parquet", "sheet.csv"]
    assert store.read_text("sheet.csv").splitlines() == ['"d"', "4", "5"]
    # without an annotation each table comes back as the kind that was written
    assert isinstance(seen["eager"], pl.DataFrame) and seen["eager"]["a"].to_list() == [1, 2]
    assert isinstance(seen["lazy"], pl.LazyFrame)
    assert seen["lazy"].collect()["b"].to_list() == ["x", "y", "z"]
    assert isinstance(seen["arrow"], pa.Table) and seen["arrow"].column("c").to_pylist() == [1.0]
    # an annotation converts
    assert isinstance(seen["eager_pd"], pd.DataFrame) and list(seen["eager_pd"]["a"]) == [1, 2]
    assert list(seen["sheet"]["d"]) == [4, 5]
    assert isinstance(seen["arrow_pl"], pl.DataFrame)


def test_format_field_json_applies_to_dicts_only(tmp_path: Path) -> None:
    # spec: DAGSTER-022
    path, registry = config_file("local", tmp_path)

    @dg.asset
    def settings() -> dict[str, int]:
        return {"a": 1}

    @dg.asset
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @dg.asset
    def other() -> tuple[int, int]:
        return (1, 2)

    io = StoreIOManager(config=str(path), store="s", format="json")
    assert _run([settings, frame, other], io).success
    assert files(registry.get_store("s")) == ["frame.parquet", "other.pkl", "settings.json"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("pickle", ["frame.pkl", "other.pkl", "settings.pkl"]),
        ("csv", ["frame.csv", "other.pkl", "settings.pkl"]),
        ("parquet", ["frame.parquet", "other.pkl", "settings.pkl"]),
    ],
)
def test_format_field_choices(fmt: str, expected: list[str], tmp_path: Path) -> None:
    # spec: DAGSTER-022
    path, registry = config_file("local", tmp_path)

    @dg.asset
    def settings() -> dict[str, int]:
        return {"a": 1}

    @dg.asset
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})

    @dg.asset
    def other() -> tuple[int, int]:
        return (1, 2)

    assert _run([settings, frame, other], StoreIOManager(config=str(path), store="s", format=fmt))
    assert files(registry.get_store("s")) == expected


def test_unknown_format_is_a_typed_error(tmp_path: Path) -> None:
    # spec: DAGSTER-022
    path, registry = config_file("local", tmp_path)

    @dg.asset
    def one() -> int:
        return 1

    with pytest.raises(InvalidArgument, match="unknown format 'yaml'") as info:
        _run([one], StoreIOManager(config=str(path), store="s", format="yaml"))
    assert info.value.hint == "use one of auto, pickle, json, parquet, csv"
    assert files(registry.get_store("s")) == []


def test_explicit_format_that_cannot_hold_the_value_is_a_typed_error(tmp_path: Path) -> None:
    # spec: DAGSTER-023
    path, _ = config_file("local", tmp_path)

    @dg.asset(metadata={"storeroom/format": "parquet"})
    def bad() -> int:
        return 1

    io = StoreIOManager(config=str(path), store="s")
    with pytest.raises(InvalidArgument, match="format 'parquet' cannot store a int"):
        _run([bad], io)


def test_readonly_store_fails_at_first_output(tmp_path: Path) -> None:
    # spec: DAGSTER-026
    path, registry = config_file("local", tmp_path)
    registry.get_store("s").write("keep.txt", b"x")
    data = json.loads(path.read_text())
    data["stores"]["s"]["layers"] = [{"type": "readonly"}]
    path.write_text(json.dumps(data))

    @dg.asset
    def a() -> int:
        return 1

    io = StoreIOManager(config=str(path), store="s")
    with pytest.raises(CapabilityNotSupported, match="store 's' is read-only") as info:
        _run([a], io)
    assert info.value.hint and "writable store" in info.value.hint
    assert files(registry.get_store("s")) == ["keep.txt"]


def test_failed_encode_leaves_previous_value(tmp_path: Path) -> None:
    # spec: DAGSTER-025
    path, registry = config_file("local", tmp_path)
    flip = {"fail": False}

    class Bomb:
        def __reduce__(self) -> Any:
            if flip["fail"]:
                raise RuntimeError("cannot pickle")
            return (int, (7,))

    @dg.asset
    def value() -> Any:
        return Bomb()

    io = StoreIOManager(config=str(path), store="s")
    assert _run([value], io).success
    before = registry.get_store("s").read_bytes("value.pkl")
    flip["fail"] = True
    with pytest.raises(
        InvalidArgument, match="asset 'value': cannot store a Bomb as pickle"
    ) as info:
        _run([value], io)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert files(registry.get_store("s")) == ["value.pkl"]
    assert registry.get_store("s").read_bytes("value.pkl") == before


def test_missing_upstream_is_not_found_with_a_hint(tmp_path: Path) -> None:
    # spec: DAGSTER-027
    path, _ = config_file("local", tmp_path)

    @dg.asset
    def up() -> int:
        return 1

    @dg.asset
    def down(up: int) -> int:
        return up

    io = StoreIOManager(config=str(path), store="s")
    with pytest.raises(NotFound, match="asset 'up' has nothing stored in store 's'") as info:
        _run([up.to_source_asset(), down], io, selection=["down"])
    assert info.value.hint == "materialize the upstream asset (or that partition) first"


@pytest.mark.parametrize("backend", BACKENDS)
def test_op_job_dynamic_outputs_get_distinct_files(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-028
    path, registry = config_file(backend, tmp_path)

    @dg.op(out=dg.DynamicOut())
    def fan_out():  # type: ignore[no-untyped-def]
        for name in ("a", "b", "c"):
            yield dg.DynamicOutput(name * 2, mapping_key=name)

    @dg.op
    def shout(text: str) -> str:
        return text.upper()

    @dg.op
    def join_all(parts: list[str]) -> str:
        return ",".join(sorted(parts))

    @dg.job(resource_defs={"io_manager": StoreIOManager(config=str(path), store="s")})
    def pipeline() -> None:
        join_all(fan_out().map(shout).collect())

    result = pipeline.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success and result.output_for_node("join_all") == "AA,BB,CC"
    run = result.run_id
    store = registry.get_store("s")
    assert files(store) == [
        f"runs/{run}/fan_out/result/a.pkl",
        f"runs/{run}/fan_out/result/b.pkl",
        f"runs/{run}/fan_out/result/c.pkl",
        f"runs/{run}/join_all/result.pkl",
        f"runs/{run}/shout%5Ba%5D/result.pkl",
        f"runs/{run}/shout%5Bb%5D/result.pkl",
        f"runs/{run}/shout%5Bc%5D/result.pkl",
    ]
    assert pickle.loads(store.read_bytes(f"runs/{run}/shout%5Bb%5D/result.pkl")) == "BB"


def _with_layers(path: Path, layers: list[dict[str, Any]]) -> None:
    data = json.loads(path.read_text())
    data["stores"]["s"]["layers"] = layers
    path.write_text(json.dumps(data))


def test_retry_layer_in_config_retries_the_outputs_writes(tmp_path: Path) -> None:
    # spec: DAGSTER-029
    path, registry = config_file("local", tmp_path)
    fault = {"type": "fault", "rates": {"write": 1.0}, "max_faults": 2}
    _with_layers(path, [{"type": "retry", "attempts": 3, "base_delay_s": 0.01}, fault])

    @dg.asset
    def flaky() -> list[int]:
        return [1, 2]

    assert _run([flaky], StoreIOManager(config=str(path), store="s")).success
    assert pickle.loads(registry.get_store("s").read_bytes("flaky.pkl")) == [1, 2]


def test_write_dropped_mid_transfer_leaves_the_previous_value(tmp_path: Path) -> None:
    # spec: DAGSTER-025
    path, registry = config_file("local", tmp_path)
    state = {"n": 1}

    @dg.asset
    def big() -> bytes:
        return bytes([state["n"]]) * 100_000

    io = StoreIOManager(config=str(path), store="s")
    assert _run([big], io).success
    _with_layers(path, [{"type": "fault", "fail_after_bytes": 50_000, "max_faults": 1}])
    state["n"] = 2
    with pytest.raises(Exception, match="injected") as info:
        _run([big], StoreIOManager(config=str(path), store="s"))
    assert files(registry.get_store("s")) == ["big.pkl"]
    assert pickle.loads(registry.get_store("s").read_bytes("big.pkl")) == b"\x01" * 100_000
    assert info.type.__module__.startswith("storeroom")


def test_load_asset_value_outside_a_run(tmp_path: Path) -> None:
    # spec: DAGSTER-024
    path, _ = config_file("local", tmp_path)

    @dg.asset
    def frame() -> pd.DataFrame:
        return pd.DataFrame({"a": [1, 2]})

    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-03")

    @dg.asset(partitions_def=days)
    def daily(context) -> str:  # type: ignore[no-untyped-def]
        return context.partition_key

    io = StoreIOManager(config=str(path), store="s")
    defs = dg.Definitions(assets=[frame, daily], resources={"io_manager": io})
    instance = dg.DagsterInstance.ephemeral()
    assert _run([frame], io).success
    assert _run([daily], io, partition_key="2024-01-02").success
    loaded = defs.load_asset_value("frame", instance=instance)
    assert isinstance(loaded, pd.DataFrame) and list(loaded["a"]) == [1, 2]
    assert defs.load_asset_value("daily", partition_key="2024-01-02", instance=instance) == (
        "2024-01-02"
    )


def test_value_json_cannot_encode_is_a_typed_error(tmp_path: Path) -> None:
    # spec: DAGSTER-023
    path, registry = config_file("local", tmp_path)

    @dg.asset(metadata={"storeroom/format": "json"})
    def when() -> dict[str, Any]:
        return {"at": object()}

    with pytest.raises(InvalidArgument, match="asset 'when': cannot store a dict as json") as info:
        _run([when], StoreIOManager(config=str(path), store="s"))
    assert info.value.hint and "storeroom/format" in info.value.hint
    assert files(registry.get_store("s")) == []


def test_undecodable_file_is_a_typed_error(tmp_path: Path) -> None:
    # spec: DAGSTER-027
    path, registry = config_file("local", tmp_path)
    registry.get_store("s").write("up.parquet", b"not parquet at all")

    @dg.asset
    def up() -> pd.DataFrame:
        return pd.DataFrame()

    @dg.asset
    def down(up: pd.DataFrame) -> None:
        pass

    io = StoreIOManager(config=str(path), store="s")
    with pytest.raises(UnexpectedError, match=r"asset 'up': cannot read up\.parquet as parquet"):
        _run([up.to_source_asset(), down], io)
