"""``docs/dagster.md`` is runnable: its Python blocks run in order and must not raise.

They run in a fresh interpreter (``page_blocks.run_blocks``), so Dagster captures
the real stdout for the compute-log block and the page finds its own
``./storeroom.toml``; what the page says the blocks print is what they print.
"""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_walkthrough_runs(tmp_path: Path) -> None:
    # spec: DAGSTER-050
    blocks = page_blocks("dagster.md")
    assert len(blocks) >= 10
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="dagster.md", timeout=300)
    assert done.returncode == 0, f"a block of docs/dagster.md failed:\n{done.stderr}"
    printed = done.stdout.splitlines()
    for shown in (
        "['assets/sales/orders.parquet', 'assets/totals.json', 'exports/orders.csv']",
        "['region', 'amount']",
        "(3, 2)",
        "26",
        "3",
    ):
        assert shown in printed, f"the page shows {shown!r}; the blocks printed {printed}"
    # the blocks ran against real files in the temporary folder
    assert (work / "data" / "lake" / "assets" / "sales" / "orders.parquet").is_file()
    assert sorted(p.name for p in (work / "data" / "lake" / "assets" / "daily").iterdir()) == [
        "2024-01-01.pkl",
        "2024-01-02.pkl",
        "2024-01-03.pkl",
    ]
