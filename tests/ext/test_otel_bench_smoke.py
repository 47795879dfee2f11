"""The otel benchmark runs (tiny sizes) in its own interpreter, where no SDK is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_otel.py"


def test_bench_otel_runs_and_reports_each_operation() -> None:
    # spec: OTEL-070
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run(
        [sys.executable, str(BENCH), "--rounds", "2", "--sample-ms", "0.2"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for op in ("exists", "get_file_info", "read_bytes"):
        assert f"{op}: added µs per call" in done.stdout
    assert "target ≤ 5 µs" in done.stdout
