"""``docs/dagster.md`` is runnable: its Python blocks run in order and must not raise."""

import re
from pathlib import Path
from typing import Any

import pytest

PAGE = Path(__file__).resolve().parents[2] / "docs" / "dagster.md"

# Dagster marks partition mappings and backfill policies as beta
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the page's ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.S | re.M)


def test_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: DAGSTER-050
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(PAGE.read_text())
    assert len(blocks) >= 10
    printed: list[str] = []

    def recording_print(*args: Any, **kwargs: Any) -> None:
        # keep what the page prints (pytest's capture must stay as it is: the
        # compute-log block relies on Dagster capturing the real stdout)
        printed.append(" ".join(str(a) for a in args))
        print(*args, **kwargs)

    namespace: dict[str, object] = {"__name__": "__docs__", "print": recording_print}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{PAGE.name} python block {number}", "exec")
        exec(code, namespace)
    # what the page says the blocks print is what they print
    for shown in (
        "['assets/sales/orders.parquet', 'assets/totals.json', 'exports/orders.csv']",
        "['region', 'amount']",
        "(3, 2)",
        "26",
        "3",
    ):
        assert shown in printed
    # the blocks ran against real files in the temporary folder
    assert (tmp_path / "data" / "lake" / "assets" / "sales" / "orders.parquet").is_file()
    assert sorted(p.name for p in (tmp_path / "data" / "lake" / "assets" / "daily").iterdir()) == [
        "2024-01-01.pkl",
        "2024-01-02.pkl",
        "2024-01-03.pkl",
    ]
