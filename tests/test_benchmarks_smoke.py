"""Smoke test of the benchmark harness: every case runs and yields numbers.

Tiny sizes and few repeats; speed is never asserted here (that is what
``python benchmarks/run.py --check`` is for).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import fsspec  # noqa: F401 - the dev extra installs these; missing means a broken setup
import obstore  # noqa: F401
import pytest
import remote_store  # noqa: F401

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def bench_run():
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import run  # benchmarks/run.py

        yield run
    finally:
        sys.path.remove(str(BENCH_DIR))


def _number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) and x >= 0


def test_quick_run_produces_every_case(bench_run, tmp_path, capsys):
    out_json, out_md = tmp_path / "out.json", tmp_path / "out.md"
    status = bench_run.main(
        [
            "--quick",
            "--quiet",
            "--rounds=3",
            "--sample-ms=0.2",
            "--import-runs=2",
            "--file-size=4096",
            "--list-count=20",
            "--tree-folders=3",
            "--tree-files=20",
            "--flat-files=50",
            f"--tree-dir={tmp_path / 'trees'}",
            f"--work-dir={tmp_path}",
            f"--json={out_json}",
            f"--markdown={out_md}",
        ]
    )
    assert status == 0  # without --check the exit status never depends on speed
    data = json.loads(out_json.read_text())

    timings = {t["id"]: t for t in data["timings"]}
    assert set(timings) == set(bench_run.CASE_IDS)
    for case in timings.values():
        results = case["results"]
        assert {"raw", "storeroom", "remote-store", "fsspec", "obstore"} <= set(results), case["id"]
        for stats in results.values():
            assert _number(stats["median"]) and stats["samples"] == 3
        for ratio in case["ratios"].values():
            assert _number(ratio)
    assert "pathlib" in timings["exists_hit"]["results"]
    assert "raw-unsorted" in timings["list_files"]["results"]
    assert {t["group"] for t in timings.values()} == {"local", "memory"}

    imp = data["import"]
    for key in ("wall_ms", "cpu_ms", "import_ms", "bare_ms", "importtime_ms"):
        assert isinstance(imp[key], int | float), key  # a difference may dip below 0 when tiny
    assert imp["module_count"] > 0
    assert isinstance(imp["sdks_on_import"], list)
    assert isinstance(imp["sdks_after_use"], list)

    memory = data["memory"]
    seen = {(m["layout"], m["contender"]) for m in memory}
    assert seen == {
        (layout, c)
        for layout in ("nested", "flat")
        for c in ("raw", "storeroom", "remote-store", "fsspec")
    }
    for m in memory:
        assert "error" not in m, m
        assert m["count"] == m["expected"] == (60 if m["layout"] == "nested" else 50)
        for key in ("seconds", "traced_peak_mib", "rss_growth_mib"):
            assert _number(m[key]), (m["contender"], key)

    names = [c["name"] for c in data["checks"]]
    # One check per timing case with a target (the memory listing after a change has
    # none), two for the local listing (sorted and unsorted baselines), three for the
    # import case, two for the nested listing's memory.
    assert len(names) == len(bench_run.CASE_IDS) - 1 + 1 + 3 + 2
    assert "memory: write 1 KiB, overwrite=True: storeroom" in names
    assert all(c["status"] in ("PASS", "FAIL") for c in data["checks"])

    text = capsys.readouterr().out
    assert "storeroom/raw" in text and "summary:" in text
    md = out_md.read_text()
    assert md.count("\n|") > 10 and "CPUs" in md and "Python" in md


def test_bench_ext_reports_every_row(tmp_path, capsys):
    """bench_ext.py: both helpers on local, memory and simulated latency, in tiny sizes."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import bench_ext

        out_json = tmp_path / "ext.json"
        status = bench_ext.main(
            [
                "--backends=local,memory,local+latency",
                "--latency-ms=0.5",
                "--rounds=1",
                "--delete-count=12",
                "--transfer-count=6",
                "--workers=4",
                f"--json={out_json}",
            ]
        )
    finally:
        sys.path.remove(str(BENCH_DIR))
    assert status == 0
    results = json.loads(out_json.read_text())["results"]
    assert [(r["backend"], r["case"].split()[0]) for r in results] == [
        (backend, case)
        for backend in ("local", "memory", "local+latency")
        for case in ("batch_delete", "transfer")
    ]
    for r in results:
        for key in ("sequential_s", "helper_s", "speedup", "sequential_cpu_s", "helper_cpu_s"):
            assert _number(r[key]), (key, r)
    assert "speed-up" in capsys.readouterr().out
