"""StoreResource: the application's Store inside Dagster, one Registry per run process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_support import config_file, files

from storeroom.errors import ConfigError
from storeroom.ext.dagster import StoreIOManager, StoreResource
from storeroom.ext.dagster import _registry as shared

SRC = str(Path(__file__).resolve().parents[3] / "src")


def test_resource_gives_the_store_and_shares_then_closes_the_registry(tmp_path: Path) -> None:
    # spec: DAGSTER-010, DAGSTER-011
    path, registry = config_file("local", tmp_path)
    seen: dict[str, Any] = {}

    @dg.asset
    def written(lake: StoreResource) -> int:
        result = lake.get_store().write("notes/hello.txt", b"hello")
        seen["open"] = dict(shared._open)
        return result.size

    resources = {
        "lake": StoreResource(config=str(path), store="s"),
        "io_manager": StoreIOManager(config=str(path), store="s", prefix="io"),
    }
    result = dg.materialize([written], resources=resources, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert files(registry.get_store("s")) == ["io/written.pkl", "notes/hello.txt"]
    # both resources used one Registry during the run, and it was closed afterwards
    mine = [n for lease, (_, n) in seen["open"].items() if lease[0] == str(path.resolve())]
    assert mine == [2]
    assert all(lease[0] != str(path.resolve()) for lease in shared._open)


def test_config_defaults_to_env_var_then_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: DAGSTER-012
    path, registry = config_file("local", tmp_path)
    monkeypatch.setenv("STOREROOM_CONFIG", str(path))
    resource = StoreResource(store="s")
    resource.get_store().write("x.txt", b"1")
    assert registry.get_store("s").read_bytes("x.txt") == b"1"
    monkeypatch.delenv("STOREROOM_CONFIG")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"StoreResource\(config=\.\.\.\) was not given"):
        StoreResource(store="s").get_store()


def test_unknown_store_names_the_known_ones(tmp_path: Path) -> None:
    # spec: DAGSTER-012
    path, _ = config_file("local", tmp_path)
    with pytest.raises(ConfigError, match="'nope'") as info:
        StoreResource(config=str(path), store="nope").get_store()
    assert "s" in str(info.value)
    assert all(lease[0] != str(path.resolve()) for lease in shared._open)  # lease given back


def test_secret_from_dagster_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: DAGSTER-013
    secret = os.environ["STOREROOM_TEST_S3_SECRET"]
    path, registry = config_file("s3", tmp_path, placeholders={"DG_LAKE_SECRET": secret})
    assert secret not in path.read_text() and "${DG_LAKE_SECRET}" in path.read_text()
    monkeypatch.setenv("DG_PIPELINE_SECRET", secret)
    env = {"DG_LAKE_SECRET": dg.EnvVar("DG_PIPELINE_SECRET")}

    @dg.asset
    def stored(lake: StoreResource) -> None:
        lake.get_store().write("secret-ok.txt", b"yes")

    resources = {"lake": StoreResource(config=str(path), store="s", env=env)}
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([stored], resources=resources, instance=instance)
    assert result.success
    assert registry.get_store("s").read_bytes("secret-ok.txt") == b"yes"
    assert secret not in repr(resources["lake"])
    # even a plain value (not an EnvVar) stays out of reprs
    plain = StoreIOManager(config=str(path), store="s", env={"DG_LAKE_SECRET": secret})
    assert secret not in repr(plain) and secret not in str(plain)
    logged = " ".join(str(e) for e in instance.all_logs(result.run_id))
    assert secret not in logged


def test_import_without_dagster_names_the_extra(tmp_path: Path) -> None:
    # spec: DAGSTER-001
    code = (
        "import sys; sys.modules['dagster'] = None\n"
        "import storeroom\n"
        "try:\n"
        "    import storeroom.ext.dagster\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.startswith("ConfigError ")
    assert 'pip install "storeroom[dagster]"' in out


def test_import_storeroom_does_not_import_dagster() -> None:
    # spec: DAGSTER-001
    code = "import storeroom, sys; print('dagster' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert out.strip() == "False"
