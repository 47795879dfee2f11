"""The crypt benchmark runs (tiny sizes); its numbers come from running it for real."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_bench_crypt_runs() -> None:
    # spec: CRYPT-060
    sys.path.insert(0, str(BENCH))
    try:
        import bench_crypt

        result = bench_crypt.bench(mib=4, rounds=1)
    finally:
        sys.path.remove(str(BENCH))
    assert set(result["rows"]) == {"plain", "crypt"}
    crypt = result["rows"]["crypt"]
    assert crypt["mib_per_s"] > 0 and 0 <= crypt["rss_growth_mib"] < 32
    assert result["ratio"] == crypt["mib_per_s"] / result["rows"]["plain"]["mib_per_s"]
