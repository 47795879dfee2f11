"""Settings-built registries on real backends, and planted secrets that never show.

The S3 case runs against the moto test server: its backend table comes from the
``s3`` conformance target and reaches the settings only through
``STOREROOM__BACKENDS__LAKE__OPTIONS__*`` variables over a placeholder file.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, SecretStr
from pydantic_support import clean_env, write

import every_backend
from storeroom import Registry
from storeroom.errors import ConfigError, NotFound
from storeroom.ext.pydantic import StoreroomSettings, from_pydantic
from storeroom.testing.conformance.targets import registered_targets
from test_secrets_planted import assert_absent, error_text, views

__all__ = ["clean_env"]

pytestmark = pytest.mark.usefixtures("clean_env")

PLACEHOLDER_TOML = """
[backends.lake]
type = "s3"
layers = ["observe"]
options = {{ bucket = "set-by-environment" }}

[stores.s]
backend = "lake"
root_path = "{root}"
"""


def s3_table(tmp_path: Path) -> dict[str, Any]:
    """The S3 target's backend table (bucket, endpoint, credentials, region)."""
    targets = registered_targets()
    if "s3" not in targets:
        every_backend.registry_on("s3", tmp_path)  # fails the test, naming the server
    table: dict[str, Any] = targets["s3"].backend_table(tmp_path)
    return table


def override_options(monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
    """Each option as a ``STOREROOM__BACKENDS__LAKE__OPTIONS__<NAME>`` variable."""
    for name, value in options.items():
        text = value.reveal() if hasattr(value, "reveal") else str(value)
        monkeypatch.setenv(f"STOREROOM__BACKENDS__LAKE__OPTIONS__{name.upper()}", text)


def round_trip(registry: Registry) -> None:
    store = registry.get_store("s")
    store.write("reports/2026.csv", b"a,b\n1,2\n")
    assert store.read_bytes("reports/2026.csv") == b"a,b\n1,2\n"
    assert [f.path for f in store.list_files("reports")] == ["reports/2026.csv"]
    store.delete("reports/2026.csv")
    assert not store.exists("reports/2026.csv")


def test_settings_registry_reads_and_writes_on_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-040
    table = registered_targets()["local"].backend_table(tmp_path)
    write(
        tmp_path / "storeroom.toml",
        '[backends.lake]\ntype = "local"\n[stores.s]\nbackend = "lake"\n',
    )
    override_options(monkeypatch, table["options"])
    with StoreroomSettings().registry() as registry:
        round_trip(registry)


def test_settings_registry_reads_and_writes_on_the_s3_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-040
    table = s3_table(tmp_path)
    root = f"it-{uuid.uuid4().hex[:12]}"
    write(tmp_path / "storeroom.toml", PLACEHOLDER_TOML.format(root=root))
    override_options(monkeypatch, table["options"])
    settings = StoreroomSettings()
    assert settings.registry_config.backends["lake"].options["bucket"] == table["options"]["bucket"]
    with settings.registry() as registry:
        round_trip(registry)


class AppSettings(StoreroomSettings):
    api_token: SecretStr = SecretStr("")


def test_planted_secrets_appear_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # spec: PYD-041
    caplog.set_level(logging.DEBUG, logger="storeroom")
    s3_key, s3_secret, token = (f"planted-{n}-{uuid.uuid4().hex[:8]}" for n in ("ak", "sk", "tok"))
    table = s3_table(tmp_path)
    write(tmp_path / "storeroom.toml", PLACEHOLDER_TOML.format(root=f"it-{uuid.uuid4().hex[:12]}"))
    options = {k: v for k, v in table["options"].items() if k != "secret"}
    override_options(monkeypatch, {**options, "key": s3_key})  # via the environment
    write(tmp_path / ".env", f"STOREROOM__BACKENDS__LAKE__OPTIONS__SECRET={s3_secret}\n")
    monkeypatch.setenv("STOREROOM__API_TOKEN", token)
    planted = (s3_key, s3_secret, token)

    settings = AppSettings()
    assert settings.api_token.get_secret_value() == token
    assert settings.registry_config.backends["lake"].options["secret"].reveal() == s3_secret
    shown = [
        repr(settings),
        str(settings),
        repr(settings.model_dump()),
        settings.model_dump_json(),
        repr(settings.registry_config),
        repr(from_pydantic(settings)),
    ]
    assert_absent("\n".join(shown), *planted)
    with settings.registry() as registry:
        assert_absent(views(registry, "s"), *planted)
        round_trip(registry)  # moto takes any credentials: the planted ones are really used
        with pytest.raises(NotFound) as info:
            registry.get_store("s").read_bytes("planted/missing.bin")
        assert_absent(error_text(info.value), *planted)
    assert caplog.records, "the observe layer logs each operation at DEBUG"
    assert_absent("\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records), *planted)


def test_secrets_are_not_echoed_by_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: PYD-033
    class Strict(StoreroomSettings):
        api_token: SecretStr = Field(min_length=64)

    token = f"planted-short-{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("STOREROOM__API_TOKEN", token)  # pydantic's own error quotes it
    with pytest.raises(ConfigError) as info:
        Strict()
    assert info.value.key == "api_token"
    assert_absent(error_text(info.value), token)

    secret = f"planted-pw-{uuid.uuid4().hex[:6]}"
    monkeypatch.delenv("STOREROOM__API_TOKEN")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__TYPE", "sftp")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__HOST", "h")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__PASSWORD", secret)
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__PORT", secret)  # the same text, misplaced
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    assert info.value.key == "backends.s.options.port"
    assert_absent(error_text(info.value), secret)
