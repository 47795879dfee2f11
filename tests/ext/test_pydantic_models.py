"""``from_pydantic`` / ``RegistryConfig.from_pydantic`` and pydantic secrets as ``Secret``.

Real pydantic models (nested models, aliases, paths, durations, enums, URLs,
``SecretStr``/``SecretBytes``) turned into configs that build working registries.
"""

from __future__ import annotations

import datetime
import enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import AnyUrl, BaseModel, ConfigDict, Field, SecretBytes, SecretStr
from pydantic_support import LOCAL_TOML, clean_env, write

from storeroom import Registry, RegistryConfig, Secret
from storeroom.backends.sftp.config import SFTPOptions
from storeroom.errors import ConfigError
from storeroom.ext.pydantic import StoreroomSettings, from_pydantic

__all__ = ["clean_env"]


class Kind(enum.Enum):
    LOCAL = "local"
    SFTP = "sftp"


class LocalOptions(BaseModel):
    root: Path


class Backend(BaseModel):
    type: Kind
    options: dict[str, Any] | LocalOptions = {}


class Store(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    backend: str
    folder: str = Field("", alias="root_path")


class AppModel(BaseModel):
    backends: dict[str, Backend]
    stores: dict[str, Store]
    log_level: str = "INFO"  # the application's own field: ignored


def test_nested_models_aliases_enums_and_paths(tmp_path: Path) -> None:
    # spec: PYD-020, PYD-021
    model = AppModel(
        backends={"disk": Backend(type=Kind.LOCAL, options=LocalOptions(root=tmp_path))},
        stores={"out": Store(backend="disk", folder="exports")},
    )
    config = from_pydantic(model)
    assert config == RegistryConfig.from_pydantic(model)
    assert config.stores["out"].root_path == "exports"  # the alias is the config key
    assert config.backends["disk"].type == "local"
    assert config.backends["disk"].options["root"] == str(tmp_path)
    with Registry(config) as registry:
        registry.get_store("out").write("a.csv", b"x,y\n")
    assert (tmp_path / "exports" / "a.csv").read_bytes() == b"x,y\n"


def test_durations_urls_and_secrets_become_config_values() -> None:
    # spec: PYD-021
    secret = "planted-sftp-pw-7781"

    class Mixed(BaseModel):
        backends: dict[str, Any]  # models and plain tables side by side

    model = Mixed(
        backends={
            "s": Backend(
                type=Kind.SFTP,
                options={
                    "host": "h",
                    "timeout": datetime.timedelta(seconds=7.5),
                    "password": SecretStr(secret),
                    "passphrase": SecretBytes(b"planted-bytes-pass"),
                },
            ),
            "h": {"type": "http", "options": {"base_url": AnyUrl("https://example.org/api/")}},
        },
    )
    config = from_pydantic(model)
    opts = SFTPOptions.parse(config.backends["s"].options)
    assert opts.timeout == 7.5
    assert opts.password == Secret(secret)
    assert opts.passphrase is not None and opts.passphrase.reveal() == "planted-bytes-pass"
    assert config.backends["h"].options["base_url"] == "https://example.org/api/"
    for text in (repr(config), str(config.to_dict()), repr(opts)):
        assert secret not in text and "planted-bytes-pass" not in text


def test_secretstr_is_accepted_wherever_a_secret_is() -> None:
    # spec: PYD-022
    token = "planted-header-token-55"
    config = RegistryConfig.from_dict(
        {
            "backends": {
                "s": {"type": "sftp", "options": {"host": "h", "password": SecretStr("pw-1234")}},
                "w": {
                    "type": "http",
                    "options": {
                        "base_url": "https://example.org/",
                        "headers": {"Authorization": SecretStr(token)},
                    },
                },
            }
        }
    )
    config.validate()
    assert config.backends["s"].options["password"] == Secret("pw-1234")
    assert config.backends["w"].options["headers"]["Authorization"] == Secret(token)
    assert SFTPOptions.parse({"host": "h", "pkey": SecretStr("k-5678")}).pkey == Secret("k-5678")
    assert Secret(SecretStr("abcd")) == Secret("abcd")
    assert token not in repr(config) and "pw-1234" not in repr(config)


def test_secretbytes_that_is_not_text_is_a_config_error_without_the_value() -> None:
    # spec: PYD-022
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict(
            {"backends": {"s": {"type": "sftp", "options": {"pkey": SecretBytes(b"\xffplanted")}}}}
        )
    assert info.value.key == "backends.s.options.pkey"
    assert "UTF-8" in str(info.value) and "planted" not in str(info.value)


def test_other_fields_are_ignored_but_a_model_without_registry_fields_is_an_error() -> None:
    # spec: PYD-020
    class NoRegistry(BaseModel):
        debug: bool = True

    with pytest.raises(ConfigError, match="has no 'backends' or 'stores' field"):
        from_pydantic(NoRegistry())
    with pytest.raises(ConfigError, match="expected a pydantic model"):
        from_pydantic({"backends": {}})


def test_bad_values_in_a_model_are_config_errors_naming_the_key() -> None:
    # spec: PYD-023
    model = AppModel(backends={"s": Backend(type=Kind.SFTP, options={"port": 22})}, stores={})
    with pytest.raises(ConfigError) as info:
        Registry(from_pydantic(model))
    assert info.value.key == "backends.s.options.host"


@pytest.mark.usefixtures("clean_env")
def test_settings_object_gives_its_own_config(tmp_path: Path) -> None:
    # spec: PYD-024
    (tmp_path / "data").mkdir()
    write(tmp_path / "storeroom.toml", LOCAL_TOML.format(root=tmp_path / "data"))
    settings = StoreroomSettings()
    assert from_pydantic(settings) is settings.registry_config
    assert from_pydantic(settings).source == "storeroom.toml"
