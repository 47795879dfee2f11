"""StoreComputeLogManager: a real run's step logs land in the store (dagster.yaml settings)."""

import json
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.compute_log_manager import ComputeIOType
from dagster_support import BACKENDS, config_file, files

from storeroom.ext.dagster import StoreComputeLogManager


@dg.op
def chatty() -> int:
    print("hello from the step")
    import sys

    print("a warning line", file=sys.stderr)
    return 1


@dg.job
def talk() -> None:
    chatty()


@pytest.mark.parametrize("backend", BACKENDS)
def test_step_logs_land_in_the_store(backend: str, tmp_path: Path) -> None:
    # spec: DAGSTER-040, DAGSTER-041
    path, registry = config_file(backend, tmp_path)
    settings = {
        "compute_logs": {
            "module": "storeroom.ext.dagster",
            "class": "StoreComputeLogManager",
            "config": {"config": str(path), "store": "s", "prefix": "logs"},
        }
    }
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home), overrides=settings) as instance:
        manager = instance.compute_log_manager
        assert isinstance(manager, StoreComputeLogManager)
        result = talk.execute_in_process(instance=instance)
        assert result.success
        store = registry.get_store("s")
        logged = files(store)
        out = [f for f in logged if f.endswith(".out")]
        err = [f for f in logged if f.endswith(".err")]
        assert len(out) == 1 and len(err) == 1, logged
        assert "hello from the step" in store.read_text(out[0])
        assert "a warning line" in store.read_text(err[0])
        # the manager reads them back through the store (local staging is gone)
        log_key = out[0].removeprefix("logs/").removesuffix(".out").split("/")
        assert manager.is_capture_complete(log_key)
        data, _ = manager.get_log_data_for_type(log_key, ComputeIOType.STDOUT, 0, None)
        assert data is not None and b"hello from the step" in data
        meta = manager.get_log_metadata(log_key)
        assert meta.stdout_location == f"storeroom://s/{out[0]}"
        keys = manager.get_log_keys_for_log_key_prefix(log_key[:-1], ComputeIOType.STDOUT)
        assert keys == [log_key]
        manager.delete_logs(log_key=log_key)
        assert files(store) == []
    registry.close()


@dg.op
def quiet() -> int:
    return 1


@dg.job
def hush() -> None:
    quiet()


def test_skip_empty_files_and_env_from_dagster_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: DAGSTER-040
    path, registry = config_file("local", tmp_path)
    # the file names its root through a placeholder that dagster.yaml fills from the environment
    data = json.loads(path.read_text())
    root = data["backends"]["b"]["options"]["root"]
    data["backends"]["b"]["options"]["root"] = "${LOGS_ROOT}"
    path.write_text(json.dumps(data))
    monkeypatch.setenv("DG_TEST_LOGS_ROOT", root)
    config = {
        "config": str(path),
        "store": "s",
        "skip_empty_files": True,
        "env": {"LOGS_ROOT": {"env": "DG_TEST_LOGS_ROOT"}},
    }
    settings = {
        "compute_logs": {
            "module": "storeroom.ext.dagster",
            "class": "StoreComputeLogManager",
            "config": config,
        }
    }
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home), overrides=settings) as instance:
        assert hush.execute_in_process(instance=instance).success
    logged = files(registry.get_store("s"))
    assert [f.rsplit(".", 1)[1] for f in logged] == ["err"]
    assert logged[0].startswith("compute-logs/")


def test_upload_interval_uploads_partial_logs_while_the_step_runs(tmp_path: Path) -> None:
    # spec: DAGSTER-040
    path, registry = config_file("local", tmp_path)
    store = registry.get_store("s")
    seen: dict[str, list[str]] = {}

    @dg.op
    def slow() -> None:
        print("started", flush=True)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            partial = [f for f in files(store) if f.endswith(".out.partial")]
            if partial:
                seen["partial"] = partial
                seen["text"] = [store.read_text(partial[0])]
                return
            time.sleep(0.1)

    @dg.job
    def long_step() -> None:
        slow()

    config = {"config": str(path), "store": "s", "upload_interval": 1}
    settings = {
        "compute_logs": {
            "module": "storeroom.ext.dagster",
            "class": "StoreComputeLogManager",
            "config": config,
        }
    }
    home = tmp_path / "home"
    home.mkdir()
    with dg.DagsterInstance.local_temp(str(home), overrides=settings) as instance:
        assert long_step.execute_in_process(instance=instance).success
    assert seen["partial"] and "started" in seen["text"][0]
    # once complete, the full log replaced the partial one
    logged = files(store)
    assert not [f for f in logged if f.endswith(".partial")]
    out = [f for f in logged if f.endswith(".out")]
    assert len(out) == 1 and "started" in store.read_text(out[0])
