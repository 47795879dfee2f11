"""Planted secrets never appear in any output of the ``storeroom`` command.

One config file plants a distinctive value in every credential shape (SQL URL
passwords with URL delimiters and in the query, HTTP credential headers, an
Azure SAS and URL user information, S3 endpoint user information, an SFTP
password); each command runs in text and ``--json`` mode against real servers
with wrong credentials and closed ports, and stdout and stderr are searched.
"""

from __future__ import annotations

import json
import os
import socket
import tomllib
from pathlib import Path

import pytest
from cli_support import Result, Runner

from services_support import services_disabled

# URL delimiters inside the password; each piece is distinctive on its own.
SQL_PIECES = ("PLANTEDclia1", "PLANTEDclib1", "PLANTEDclic1", "PLANTEDclid1")
SQL_DELIMITERS = "{}/{}#{}?{}".format(*SQL_PIECES)
SQL_QUERY = "PLANTEDcliq2"
SQL_MALFORMED = "PLANTEDclim3"
AUTH = "PLANTEDcliauth4"
COOKIE = "PLANTEDclicookie5"
API_KEY = "PLANTEDclikey6"
CUSTOM = "PLANTEDclicustom7"
SAS_SIG = "PLANTEDclisig8"
AZURE_USERINFO = "PLANTEDcliazui9"
S3_USERINFO = "PLANTEDclis3ui10"
SFTP_PASSWORD = "PLANTEDclisftp11"
PLANTED = (
    *SQL_PIECES,
    SQL_QUERY,
    SQL_MALFORMED,
    AUTH,
    COOKIE,
    API_KEY,
    CUSTOM,
    SAS_SIG,
    AZURE_USERINFO,
    S3_USERINFO,
    SFTP_PASSWORD,
)
STORES = ("pgclosed", "pgquery", "pgbad", "web", "azsas", "azuser", "s3user", "sftp")


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        if services_disabled():
            pytest.skip("STOREROOM_TEST_NO_SERVICES is set")
        pytest.fail(f'{name} is not set: eval "$(scripts/services up)"')
    return value


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _table(name: str, btype: str, options: dict[str, object]) -> str:
    lines = [f"[backends.{name}]", f'type = "{btype}"', f"[backends.{name}.options]"]
    for key, value in options.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    lines += [f"[stores.{name}]", f'backend = "{name}"', 'root_path = "planted"', ""]
    return "\n".join(lines)


@pytest.fixture
def planted_config(tmp_path: Path) -> Path:
    real_pg = _env("STOREROOM_TEST_SQL_URL")
    scheme, _, rest = real_pg.partition("://")
    pg_user, pg_host = rest.split("@", 1)[0].split(":", 1)[0], rest.split("@", 1)[1]
    azure = dict(
        p.split("=", 1) for p in _env("STOREROOM_TEST_AZURE_CONNECTION_STRING").split(";") if p
    )
    sas = f"sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig={SAS_SIG}"
    closed = _closed_port()
    tables = [
        _table(
            "pgclosed",
            "sql-blob",
            {
                "url": f"postgresql+psycopg://u:{SQL_DELIMITERS}@127.0.0.1:{closed}/db",
                "connect_timeout": 2,
            },
        ),
        _table(
            "pgquery",
            "sql-blob",
            {"url": f"{scheme}://{pg_user}@{pg_host}?password={SQL_QUERY}", "connect_timeout": 5},
        ),
        _table("pgbad", "sql-blob", {"url": f"postgresql+psycopg://u:{SQL_MALFORMED}@h:x/db"}),
        _table(
            "web",
            "http",
            {
                "base_url": _env("STOREROOM_TEST_HTTP_URL"),
                "headers": {
                    "Authorization": f"Bearer {AUTH}",
                    "Cookie": f"sid={COOKIE}",
                    "X-Api-Key": API_KEY,
                    "X-Custom-Auth": CUSTOM,
                    "Accept-Language": "en",
                },
                "secret_headers": ["X-Custom-Auth"],
                "timeout": 5,
            },
        ),
        _table(
            "azsas",
            "azure",
            {
                "container": "planted",
                "account_url": f"{azure['BlobEndpoint']}?{sas}",
                "hns": False,
                "connect_timeout": 5,
            },
        ),
        _table(
            "azuser",
            "azure",
            {
                "container": "planted",
                "account_url": f"http://acct:{AZURE_USERINFO}@127.0.0.1:{closed}/acct",
                "account_name": "acct",
                "account_key": "d3JvbmcK",
                "hns": False,
                "connect_timeout": 2,
            },
        ),
        _table(
            "s3user",
            "s3",
            {
                "bucket": "planted",
                "endpoint_url": f"http://user:{S3_USERINFO}@127.0.0.1:{closed}",
                "key": "k",
                "secret": "PLANTEDclis3secret12",
                "region_name": "us-east-1",
                "connect_timeout": 2,
            },
        ),
        _table(
            "sftp",
            "sftp",
            {
                "host": _env("STOREROOM_TEST_SFTP_HOST"),
                "port": int(_env("STOREROOM_TEST_SFTP_PORT")),
                "username": _env("STOREROOM_TEST_SFTP_USER"),
                "password": SFTP_PASSWORD,
                "known_hosts": _env("STOREROOM_TEST_SFTP_KNOWN_HOSTS"),
                "timeout": 5,
            },
        ),
        _table("disk", "local", {"root": str(tmp_path / "disk")}),
    ]
    path = tmp_path / "planted.toml"
    path.write_text("\n".join(tables))
    return path


def _clean(result: Result) -> Result:
    for secret in (*PLANTED, "PLANTEDclis3secret12"):
        assert secret not in result.out, f"{secret!r} on stdout:\n{result.out}"
        assert secret not in result.err, f"{secret!r} on stderr:\n{result.err}"
    return result


def test_no_cli_output_shows_a_planted_secret(cli: Runner, planted_config: Path) -> None:
    # spec: CLI-024, CLI-031, CLI-032, CONFIG-033, CONFIG-036, CONFIG-037
    toml_out = _clean(cli("config", "show", config=planted_config))
    assert toml_out.code == 0
    shown = tomllib.loads(toml_out.out.split("\n", 1)[1])
    web = shown["backends"]["web"]["options"]
    assert web["headers"]["Accept-Language"] == "en"  # not a credential: shown
    assert web["headers"]["Authorization"] == "Secret('***')"
    assert shown["backends"]["pgclosed"]["options"]["url"].startswith(
        "postgresql+psycopg://u:***@127.0.0.1:"
    )
    assert "sig=***" in shown["backends"]["azsas"]["options"]["account_url"]
    for args in (
        ("config", "show", "--format", "json"),
        ("--json", "config", "show"),
        ("config", "check"),
        ("--json", "config", "check"),
    ):
        result = _clean(cli(*args, config=planted_config))
        assert result.code == 0, result.err
    # Every store fails (wrong credentials, closed ports, a malformed URL) but "web",
    # where the headers are sent to the real server.
    ping = _clean(cli("ping", config=planted_config))
    assert ping.code != 0
    pinged = _clean(cli("--json", "ping", config=planted_config))
    rows = {row["store"]: row for row in json.loads(pinged.out)["stores"]}
    assert all(not rows[name]["ok"] for name in STORES if name != "web")
    for name in STORES:
        for args in (("ls", f"{name}:"), ("--json", "ls", f"{name}:")):
            result = _clean(cli(*args, config=planted_config))
            assert result.code != 0 or name == "web", (name, result.err)
