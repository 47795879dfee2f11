"""``storeroom url``: prints the signed URL of ``Store.url`` (spec SIGN-080..082)."""

from __future__ import annotations

import json
import sys
import urllib.request
import uuid
from pathlib import Path

from cli_support import Env, Runner

from storeroom import Registry, RegistryConfig


def s3_config(env: Env) -> tuple[Path, Registry]:
    """A JSON config with store ``cloud`` on the moto test server, and its Registry."""
    target = sys.modules["storeroom_service_target_s3"]
    target.ensure_bucket(target.ENV)
    data = {
        "backends": {
            "s3": {"type": "s3", "options": target.options(target.ENV)},
            "disk": {"type": "local", "options": {"root": str(env.tmp / "disk")}},
        },
        "stores": {
            "cloud": {"backend": "s3", "root_path": f"cli-{uuid.uuid4().hex[:10]}"},
            "data": {"backend": "disk"},
        },
    }
    path = env.tmp / "signing.json"
    path.write_text(json.dumps(data))
    return path, Registry(RegistryConfig.from_dict(data))


def test_url_prints_a_get_url_that_downloads_the_file(cli: Runner, env: Env) -> None:
    # spec: SIGN-080
    config, registry = s3_config(env)
    with registry:
        registry.get_store("cloud").write("r/report.csv", b"x,y\n")
        result = cli("url", "--expires", "120", "cloud:r/report.csv", config=config)
        assert result.code == 0, result.err
        url = result.out.strip()
        assert "\n" not in url and "X-Amz-Expires=120" in url
        assert urllib.request.urlopen(url, timeout=30).read() == b"x,y\n"


def test_url_put_and_json(cli: Runner, env: Env) -> None:
    # spec: SIGN-081
    config, registry = s3_config(env)
    with registry:
        result = cli("--json", "url", "--put", "cloud:in/new.bin", config=config)
        assert result.code == 0, result.err
        record = result.json()
        assert record["method"] == "PUT" and record["path"] == "in/new.bin"
        assert record["store"] == "cloud" and record["expires_s"] == 3600
        assert "X-Amz-Signature=***" not in record["url"]  # the result itself, unmasked
        request = urllib.request.Request(
            record["url"],
            data=b"via the CLI",
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        urllib.request.urlopen(request, timeout=30).close()
        assert registry.get_store("cloud").read_bytes("in/new.bin") == b"via the CLI"


def test_url_on_a_store_without_signed_urls_exits_not_supported(cli: Runner, env: Env) -> None:
    # spec: SIGN-082
    from storeroom.cli.errors import ExitCode

    config, registry = s3_config(env)
    with registry:
        result = cli("url", "data:a.txt", config=config)
    assert result.code == int(ExitCode.NOT_SUPPORTED) and result.out == ""
    assert "signed_url" in result.err and "a.txt" in result.err
    bad = cli("url", "--expires", "0", "cloud:a.txt", config=config)
    assert bad.code != 0 and "expires" in bad.err
