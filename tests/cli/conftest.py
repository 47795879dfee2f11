"""Fixtures for the CLI tests: a temp config with local and memory stores, and a runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Env, Result, Runner, toml_str

from storeroom.cli import main

CONFIG_TEMPLATE = """\
[backends.disk]
type = "local"
options = {{ root = {disk_root} }}

[backends.disk2]
type = "local"
options = {{ root = {other_root} }}

[backends.mem]
type = "memory"

[stores.data]
backend = "disk"
root_path = "data"

[stores.alias]
backend = "disk"
root_path = "data"

[stores.other]
backend = "disk2"

[stores.scratch]
backend = "mem"
"""

# A store behind a test-only layer: in-process tests only (subprocesses use plain_config).
RO_STORE = """
[stores.ro]
backend = "disk"
root_path = "data"
layers = [{ type = "clitest-readonly" }]
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    disk_root = tmp_path / "disk"
    other_root = tmp_path / "other"
    (disk_root / "data").mkdir(parents=True)
    other_root.mkdir()
    text = CONFIG_TEMPLATE.format(disk_root=toml_str(disk_root), other_root=toml_str(other_root))
    plain = tmp_path / "plain.toml"
    plain.write_text(text)
    config = tmp_path / "storeroom.toml"
    config.write_text(text + RO_STORE)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("STOREROOM_CONFIG", raising=False)
    return Env(
        tmp=tmp_path,
        config=config,
        plain_config=plain,
        disk=disk_root / "data",
        other=other_root,
    )


@pytest.fixture
def cli(env: Env, capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run ``storeroom --config <env config> ARGS`` in-process; returns code, stdout, stderr."""

    def run(*args: str, config: Path | bool | None = True) -> Result:
        argv: list[str] = []
        if config is True:
            argv = ["--config", str(env.config)]
        elif isinstance(config, Path):
            argv = ["--config", str(config)]
        capsys.readouterr()
        code = main([*argv, *args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
