"""A Dagster project on the application's own storeroom config (``examples/storeroom.toml``).

Materialize everything with the Dagster CLI:

    export DAGSTER_HOME=$(mktemp -d)
    dagster asset materialize -f examples/dagster/definitions.py --select '*'

Asset values go to the ``reports`` store under ``dagster/`` (Parquet for
tables, JSON for the summary); ``published_summary`` writes a CSV the
application reads. Point ``STOREROOM_CONFIG`` at another file to run the same
code against other storage: nothing here names a backend.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from storeroom.ext.dagster import StoreIOManager, StoreResource

HERE = Path(__file__).resolve().parent
#: The same file the application reads (``$STOREROOM_CONFIG`` wins when set).
CONFIG = os.environ.get("STOREROOM_CONFIG") or str(HERE.parent / "storeroom.toml")


@dg.asset
def orders() -> pa.Table:
    """Today's orders (a stand-in for an extract from a source system)."""
    return pa.table(
        {
            "region": ["north", "south", "north", "east"],
            "amount": [12.0, 7.5, 3.25, 9.0],
        }
    )


@dg.asset(metadata={"storeroom/format": "json"})
def totals(orders: pa.Table) -> dict[str, Any]:
    """Revenue per region, kept as JSON."""
    grouped = orders.group_by("region").aggregate([("amount", "sum")])
    pairs = zip(grouped["region"].to_pylist(), grouped["amount_sum"].to_pylist(), strict=True)
    total = pc.sum(orders["amount"]).as_py()
    return {"by_region": dict(sorted(pairs)), "total": total}


@dg.asset
def published_summary(totals: dict[str, Any], reports: StoreResource) -> None:
    """Publish a CSV the application reads from its ``reports`` store, atomically."""
    lines = ["region,total"] + [f"{k},{v}" for k, v in totals["by_region"].items()]
    reports.get_store().write_atomic(
        "dagster/published/summary.csv", ("\n".join(lines) + "\n").encode(), overwrite=True
    )


defs = dg.Definitions(
    assets=[orders, totals, published_summary],
    resources={
        "io_manager": StoreIOManager(config=CONFIG, store="reports", prefix="dagster/assets"),
        "reports": StoreResource(config=CONFIG, store="reports"),
    },
    # one process for the whole run: the Registry is built once and shared
    executor=dg.in_process_executor,
)
