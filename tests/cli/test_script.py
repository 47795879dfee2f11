"""The command as a real process: ``python -m storeroom.cli`` and import cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import Env


def _run(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "STOREROOM_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "storeroom.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_end_to_end_in_a_subprocess(env: Env) -> None:
    # spec: CLI-001, CLI-030, CLI-060, CLI-061, CLI-071
    cwd = Path.cwd()
    cfg = str(env.plain_config)
    put = _run("--config", cfg, "put", "-", "data:e2e/hello.txt", cwd=cwd, stdin=b"hi there")
    assert put.returncode == 0, put.stderr
    assert b"-> data:e2e/hello.txt (8 bytes)" in put.stdout
    cat = _run("--config", cfg, "cat", "data:e2e/hello.txt", cwd=cwd)
    assert cat.returncode == 0 and cat.stdout == b"hi there"
    ls = _run("--config", cfg, "--json", "ls", "-r", "data:", cwd=cwd)
    assert [e["path"] for e in json.loads(ls.stdout)] == ["e2e/hello.txt"]
    get = _run("--config", cfg, "get", "data:e2e/hello.txt", "copy.txt", cwd=cwd)
    assert get.returncode == 0
    assert (cwd / "copy.txt").read_bytes() == b"hi there"
    missing = _run("--config", cfg, "cat", "data:nope", cwd=cwd)
    assert missing.returncode == 3
    assert missing.stdout == b""
    assert missing.stderr.decode().startswith("storeroom: error: ")
    assert b"Traceback" not in missing.stderr
    no_config = _run("ls", "data:", cwd=cwd)
    assert no_config.returncode == 4


def test_installed_console_script(env: Env) -> None:
    # spec: CLI-001
    script = Path(sys.executable).with_name("storeroom")
    if not script.exists():
        pytest.skip("console script not installed next to this interpreter")
    proc = subprocess.run(
        [str(script), "--config", str(env.plain_config), "ping", "data"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"ok    data")


def test_broken_pipe_exits_quietly(env: Env) -> None:
    # spec: CLI-030
    env.put_file("big.bin", b"y" * (4 * 1024 * 1024))
    argv = [sys.executable, "-m", "storeroom.cli", "--config", str(env.plain_config)]
    with subprocess.Popen(
        [*argv, "cat", "data:big.bin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(10) == b"y" * 10
        proc.stdout.close()
        err = proc.stderr.read()
        assert proc.wait(timeout=120) == 141
    assert err == b""


def test_help_imports_no_rich_and_no_sdk() -> None:
    # spec: CLI-003
    code = (
        "import sys, io, contextlib\n"
        "from storeroom.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['--help'])\n"
        "heavy = ('rich', 'boto3', 'botocore', 's3fs', 'fsspec', 'paramiko', 'azure',\n"
        "         'sqlalchemy', 'pyarrow', 'storeroom.backends.local.backend',\n"
        "         'storeroom.cli.transfer', 'storeroom.cli.commands')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy)\n"
        "print(rc, loaded)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=120, check=False, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "0 []"
