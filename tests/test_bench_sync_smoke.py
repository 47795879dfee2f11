"""benchmarks/bench_sync.py runs on a tiny tree and reports a ratio (never asserts on speed)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"


def test_bench_sync_reports_the_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # spec: SYNC-080 (the script runs; speed is measured by running it, not here)
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import bench_sync

        out = tmp_path / "sync.json"
        status = bench_sync.main(
            ["--files=300", "--rounds=1", f"--tree-dir={tmp_path}", f"--json={out}"]
        )
    finally:
        sys.path.remove(str(BENCH_DIR))
    assert status == 0
    result = json.loads(out.read_text())
    assert result["files"] == 300 and result["median_s"]["storeroom"] > 0
    text = capsys.readouterr().out
    if shutil.which("rclone") is None:
        assert "rclone not installed" in text
    else:
        assert result["ratio"] > 0 and ("PASS" in text or "FAIL" in text)
