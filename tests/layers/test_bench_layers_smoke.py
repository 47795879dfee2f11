"""The layer benchmark runs (tiny sizes); its numbers are checked by running it for real."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_bench_layers_runs() -> None:
    # spec: LAYER-091
    sys.path.insert(0, str(BENCH))
    try:
        import bench_layers

        result = bench_layers.run(rounds=2, sample_ms=0.2)
    finally:
        sys.path.remove(str(BENCH))
    assert "bare" in result["rows"] and "full stack (miss)" in result["rows"]
    assert {c["name"] for c in result["checks"]} == {
        "full stack (hit): added µs per stat",
        "full stack (miss): added µs per stat",
    }
