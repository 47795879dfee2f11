"""``examples/dagster``: the real ``dagster asset materialize`` CLI on the app's storeroom.toml."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_support import files

from storeroom import Registry, RegistryConfig

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "dagster"
APP_CONFIG = ROOT / "examples" / "storeroom.toml"


def test_cli_materializes_into_the_apps_stores(tmp_path: Path) -> None:
    # spec: DAGSTER-050
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(EXAMPLE / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STOREROOM_CONFIG": str(APP_CONFIG),
        "STOREROOM_DEMO_ROOT": str(tmp_path / "demo"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "asset", "materialize", "-f", str(EXAMPLE / "definitions.py")]
    done = subprocess.run(
        [*command, "--select", "*"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "RUN_SUCCESS" in done.stderr

    config = RegistryConfig.from_toml(APP_CONFIG, environ=env)
    with Registry(config) as registry:
        reports = registry.get_store("reports")
        assert files(reports) == [
            "dagster/assets/orders.parquet",
            "dagster/assets/totals.json",
            "dagster/published/summary.csv",
        ]
        totals = json.loads(reports.read_bytes("dagster/assets/totals.json"))
        assert totals == {
            "by_region": {"east": 9.0, "north": 15.25, "south": 7.5},
            "total": 31.75,
        }
        assert reports.read_text("dagster/published/summary.csv").splitlines() == [
            "region,total",
            "east,9.0",
            "north,15.25",
            "south,7.5",
        ]
        # dagster.yaml sent each step's stdout/stderr to the SQLite-backed cache store
        logs = [f for f in files(registry.get_store("cache")) if f.endswith(".err")]
        assert logs and all(f.startswith("dagster/compute-logs/") for f in logs)
        step_logs = " ".join(registry.get_store("cache").read_text(f) for f in logs)
        assert 'Finished execution of step "published_summary"' in step_logs
