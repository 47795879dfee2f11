"""Backend classes without their extra, and ``config check`` listing what is missing.

Each test runs in a subprocess; where an extra must be missing, a
``sys.meta_path`` finder set up before storeroom is imported makes the SDK
imports fail for real (issue section 6).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "storeroom.toml"
    path.write_text(textwrap.dedent(text))
    return path


SDKS = ("boto3", "botocore", "aiobotocore", "s3fs", "paramiko", "azure", "sqlalchemy", "psycopg")
BLOCKER = f"""
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {SDKS!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked)", name=name)
        return None
sys.meta_path.insert(0, _Block())
"""
ALL_CLASSES = (
    "S3Backend, SFTPBackend, AzureBackend, SQLBlobBackend, HTTPBackend, LocalBackend, MemoryBackend"
)


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=False,
    )


# spec: REG-030
def test_importing_backend_classes_imports_no_sdk() -> None:
    code = f"""
import json, sys
from storeroom.backends import {ALL_CLASSES}
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in {SDKS!r})))
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


# spec: REG-031
def test_building_a_backend_without_its_extra_is_config_error_with_pip_line() -> None:
    code = (
        BLOCKER
        + f"""
import json
from storeroom.backends import {ALL_CLASSES}
from storeroom.errors import ConfigError
out = {{}}
for name, make in [
    ("s3", lambda: S3Backend(bucket="b")),
    ("sftp", lambda: SFTPBackend(host="127.0.0.1")),
    ("azure", lambda: AzureBackend(container="c", connection_string="x")),
    ("sql", lambda: SQLBlobBackend(url="sqlite://")),
]:
    try:
        make()
        out[name] = "built"
    except ConfigError as exc:
        out[name] = str(exc)
out["memory"] = type(MemoryBackend()).__name__
print(json.dumps(out))
"""
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    for extra in ("s3", "sftp", "azure", "sql"):
        assert f'pip install "storeroom[{extra}]"' in out[extra], out[extra]
    assert out["memory"] == "MemoryBackend"


# spec: REG-030
def test_stand_in_acts_as_the_real_class() -> None:
    from storeroom.backends import S3Backend
    from storeroom.backends.s3.backend import S3Backend as Real

    backend = S3Backend(bucket="b", endpoint_url="http://127.0.0.1:9")
    assert type(backend) is Real and isinstance(backend, S3Backend)
    assert S3Backend.from_options == Real.from_options

    class Mine(S3Backend):  # type: ignore[misc, valid-type]
        pass

    assert issubclass(Mine, Real) and issubclass(Mine, S3Backend)


# spec: CLI-025
def test_config_check_lists_every_missing_extra_and_driver(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        f"""
        [backends.bucket]
        type = "s3"
        options = {{ bucket = "b", endpoint_url = "http://127.0.0.1:9" }}
        [backends.ssh]
        type = "sftp"
        options = {{ host = "127.0.0.1", port = 9 }}
        [backends.blob]
        type = "azure"
        options = {{ container = "c", connection_string = "x" }}
        [backends.pg]
        type = "sql-blob"
        options = {{ url = "postgresql+psycopg://u:pw@127.0.0.1:9/db" }}
        [backends.disk]
        type = "local"
        options = {{ root = "{tmp_path}" }}
        """,
    )
    code = BLOCKER + "import sys\nfrom storeroom.cli import main\nsys.exit(main(sys.argv[1:]))"
    result = _python(code, "--config", str(path), "config", "check")
    assert result.returncode == 4, (result.stdout, result.stderr)
    err = result.stderr
    assert "backends.bucket (type 's3') needs s3fs" in err
    assert 'pip install "storeroom[s3]"' in err
    assert "backends.ssh (type 'sftp') needs paramiko" in err and "storeroom[sftp]" in err
    assert "backends.blob (type 'azure') needs azure.storage.blob" in err
    assert "storeroom[azure]" in err
    assert "backends.pg (type 'sql-blob') needs sqlalchemy" in err and "storeroom[sql]" in err
    assert "psycopg (the 'postgresql+psycopg' database driver)" in err
    assert 'pip install "psycopg[binary]"' in err
    assert "backends.disk" not in err
    # Unblocked, in this process: everything the test servers use is installed.
    unblocked = _python(
        "import sys\nfrom storeroom.cli import main\nsys.exit(main(sys.argv[1:]))",
        "--config",
        str(path),
        "config",
        "check",
    )
    assert unblocked.returncode == 0, unblocked.stderr
    assert "config OK" in unblocked.stdout


# spec: CLI-025
def test_config_check_reports_a_missing_driver_when_the_extra_is_installed(
    tmp_path: Path,
) -> None:
    path = _toml(
        tmp_path,
        """
        [backends.my]
        type = "sql-blob"
        options = { url = "mysql+pymysql://u@127.0.0.1:9/db" }
        """,
    )
    code = (
        "import sys\n"
        "class _B:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'pymysql':\n"
        "            raise ModuleNotFoundError(name, name=name)\n"
        "sys.meta_path.insert(0, _B())\n"
        "from storeroom.cli import main\nsys.exit(main(sys.argv[1:]))"
    )
    result = _python(code, "--config", str(path), "config", "check")
    assert result.returncode == 4, (result.stdout, result.stderr)
    assert "pymysql (the 'mysql+pymysql' database driver): pip install pymysql" in result.stderr
    assert "needs sqlalchemy" not in result.stderr
