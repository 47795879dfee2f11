"""Config model, loaders, env substitution and secrets (specs/20-config.md)."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle

import pytest

from storeroom import BackendConfig, RegistryConfig, RetryPolicy, Secret, StoreProfile, resolve_env
from storeroom.config.options import BackendOptions
from storeroom.config.secret import SecretRedactionFilter
from storeroom.errors import ConfigError

BASIC = {
    "backends": {"main": {"type": "local", "options": {"root": "/tmp/x"}}},
    "stores": {"data": {"backend": "main", "root_path": "reports"}},
}


def test_from_dict_builds_frozen_config() -> None:
    # spec: CONFIG-001
    cfg = RegistryConfig.from_dict(BASIC)
    assert cfg.backends["main"].type == "local"
    assert cfg.backends["main"].options["root"] == "/tmp/x"
    assert cfg.stores["data"] == StoreProfile(backend="main", root_path="reports")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.backends["main"].type = "s3"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cfg.backends["main"].options["root"] = "/elsewhere"  # type: ignore[index]
    with pytest.raises(TypeError):
        cfg.stores["other"] = cfg.stores["data"]  # type: ignore[index]


def test_root_alias_and_conflict() -> None:
    # spec: CONFIG-004
    cfg = RegistryConfig.from_dict(
        {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "root": "a/b"}}}
    )
    assert cfg.stores["s"].root_path == "a/b"
    with pytest.raises(ConfigError, match="either 'root_path' or its alias 'root'"):
        RegistryConfig.from_dict(
            {
                "backends": {"m": {"type": "memory"}},
                "stores": {"s": {"backend": "m", "root": "a", "root_path": "b"}},
            }
        )


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"backend": {}}, "backend: unknown key"),
        ({"backends": {"m": {"type": "memory", "opts": {}}}}, "backends.m.opts: unknown key"),
        ({"backends": {"m": {"options": {}}}}, "backends.m.type: required"),
        ({"backends": {"m": "local"}}, "backends.m: expected a table"),
        (
            {"backends": {"m": {"type": "memory"}}, "stores": {"s": {}}},
            "stores.s.backend: required",
        ),
        (
            {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "x": 1}}},
            "stores.s.x: unknown key",
        ),
        (
            {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m", "root": 3}}},
            "stores.s.root_path: expected a string",
        ),
        ({"backends": {"m": {"type": "memory", "retry": {"tries": 2}}}}, "retry.tries: unknown"),
        (
            {"backends": {"m": {"type": "memory", "retry": {"max_attempts": 0}}}},
            "retry.attempts: expected an integer >= 1",
        ),
        ({"backends": {"m": {"type": "memory", "layers": {"type": "x"}}}}, "expected a list"),
    ],
)
def test_shape_errors_name_the_key_path(data: dict[str, object], fragment: str) -> None:
    # spec: CONFIG-002, CONFIG-003
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict(data)
    assert fragment in str(info.value)


def test_validate_rejects_unknown_type_option_and_backend_reference() -> None:
    # spec: CONFIG-005, CONFIG-020
    with pytest.raises(ConfigError, match=r"backends\.m\.type: unknown backend type 'nosuch'"):
        RegistryConfig.from_dict({"backends": {"m": {"type": "nosuch"}}}).validate()
    bad_opt = {"backends": {"m": {"type": "local", "options": {"root": "/t", "rot": 1}}}}
    with pytest.raises(ConfigError, match=r"backends\.m\.options\.rot: unknown option.*'root'"):
        RegistryConfig.from_dict(bad_opt).validate()
    missing = {"backends": {"m": {"type": "local", "options": {}}}}
    with pytest.raises(ConfigError, match=r"missing required option\(s\) 'root'"):
        RegistryConfig.from_dict(missing).validate()
    wrong_type = {"backends": {"m": {"type": "local", "options": {"root": 5}}}}
    with pytest.raises(ConfigError, match=r"options\.root: expected a string, got int"):
        RegistryConfig.from_dict(wrong_type).validate()
    dangling = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "other"}}}
    with pytest.raises(ConfigError, match=r"stores\.s\.backend: unknown backend 'other'.*m"):
        RegistryConfig.from_dict(dangling).validate()


def test_unknown_layer_type_is_a_config_error() -> None:
    # spec: CONFIG-006
    cfg = RegistryConfig.from_dict(
        {"backends": {"m": {"type": "memory", "layers": [{"type": "warp-drive"}]}}}
    )
    with pytest.raises(ConfigError, match=r"layers\[0\]\.type: unknown layer type 'warp-drive'"):
        cfg.validate()


def test_env_substitution() -> None:
    # spec: CONFIG-010, CONFIG-011, CONFIG-012
    env = {"DATA": "/srv/data", "EMPTY": ""}
    data = {
        "backends": {
            "m": {"type": "local", "options": {"root": "${DATA}/x"}},
            "n": {"type": "local", "options": {"root": "${NOPE:-/fallback}"}},
            "o": {"type": "local", "options": {"root": "${EMPTY:-/was-empty}"}},
            "p": {"type": "local", "options": {"root": "$${DATA}"}},
        }
    }
    cfg = RegistryConfig.from_dict(data, environ=env)
    assert cfg.backends["m"].options["root"] == "/srv/data/x"
    assert cfg.backends["n"].options["root"] == "/fallback"
    assert cfg.backends["o"].options["root"] == "/was-empty"
    assert cfg.backends["p"].options["root"] == "${DATA}"
    with pytest.raises(ConfigError, match=r"backends\.m\.options\.root: .*'UNSET_VAR' is not set"):
        RegistryConfig.from_dict(
            {"backends": {"m": {"type": "local", "options": {"root": "${UNSET_VAR}"}}}}, environ={}
        )
    raw = RegistryConfig.from_dict(
        {"backends": {"m": {"type": "local", "options": {"root": "${UNSET_VAR}"}}}},
        resolve_env_vars=False,
    )
    assert raw.backends["m"].options["root"] == "${UNSET_VAR}"
    assert resolve_env({"a": ["${X}", 1]}, environ={"X": "y"}) == {"a": ["y", 1]}


def test_secrets_are_wrapped_and_never_shown() -> None:
    # spec: CONFIG-030, CONFIG-031
    plain = "sup3r-s3cret-value"
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "m": {
                    "type": "memory",
                    "options": {
                        "password": plain,
                        "client_options": {"aws_session_token": plain},
                        "bucket": "visible",
                    },
                }
            }
        }
    )
    opts = cfg.backends["m"].options
    assert isinstance(opts["password"], Secret)
    assert isinstance(opts["client_options"]["aws_session_token"], Secret)
    assert opts["password"].reveal() == plain
    assert opts["bucket"] == "visible"
    for text in (repr(cfg), str(cfg), repr(opts), f"{opts['password']}", json.dumps(str(cfg))):
        assert plain not in text
    assert plain not in repr(pickle.loads(pickle.dumps(cfg)))
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_redaction_filter_scrubs_log_records(caplog: pytest.LogCaptureFixture) -> None:
    # spec: CONFIG-032
    secret = Secret("token-abcdef-123456")
    logger = logging.getLogger("storeroom.test.redaction")
    logger.addFilter(SecretRedactionFilter())
    with caplog.at_level(logging.INFO, logger="storeroom.test.redaction"):
        logger.info("connecting with %s and %s", secret.reveal(), "other")
    assert "token-abcdef-123456" not in caplog.text
    assert "***" in caplog.text


def test_file_loaders(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # spec: CONFIG-040, CONFIG-041
    toml = tmp_path / "storeroom.toml"
    toml.write_text(
        '[backends.main]\ntype = "local"\noptions = { root = "/tmp/t" }\n'
        '[stores.data]\nbackend = "main"\nroot_path = "r"\n'
    )
    js = tmp_path / "storeroom.json"
    js.write_text(json.dumps(BASIC))
    yml = tmp_path / "storeroom.yaml"
    yml.write_text(
        "backends:\n  main:\n    type: local\n    options: {root: /tmp/x}\n"
        "stores:\n  data: {backend: main, root_path: reports}\n"
    )
    a = RegistryConfig.from_toml(toml)
    assert a.source == str(toml) and a.stores["data"].root_path == "r"
    assert RegistryConfig.from_json(js) == RegistryConfig.from_dict(BASIC)
    assert RegistryConfig.from_yaml(yml) == RegistryConfig.from_dict(BASIC)
    assert RegistryConfig.from_file(yml) == RegistryConfig.from_file(js)
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.storeroom.backends.m]\ntype = "memory"\n')
    assert RegistryConfig.from_toml(pyproject, table=("tool", "storeroom")).backends["m"].type == (
        "memory"
    )


def test_loader_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # spec: CONFIG-042
    bad = tmp_path / "bad.toml"
    bad.write_text("[backends.main\n")
    with pytest.raises(ConfigError, match=r"bad\.toml: invalid TOML"):
        RegistryConfig.from_toml(bad)
    with pytest.raises(ConfigError, match=r"nope\.toml: config file not found"):
        RegistryConfig.from_toml(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"unknown config format '\.ini'"):
        RegistryConfig.from_file(tmp_path / "x.ini")
    keyerr = tmp_path / "k.toml"
    keyerr.write_text('[backends.main]\ntype = "local"\noptions = { root = "/t", rooot = 1 }\n')
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_toml(keyerr).validate()
    assert f"{keyerr}: backends.main.options.rooot" in str(info.value)
    badjson = tmp_path / "b.json"
    badjson.write_text("{")
    with pytest.raises(ConfigError, match=r"b\.json: invalid JSON at line 1"):
        RegistryConfig.from_json(badjson)


def test_remote_store_config_loads_unchanged(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # spec: CONFIG-050 — the key layout remote-store documents, verbatim.
    path = tmp_path / "remote_store.toml"
    path.write_text(
        "[backends.local]\n"
        'type = "local"\n'
        "[backends.local.options]\n"
        f'root = "{tmp_path}/data"\n'
        "[backends.local.retry]\n"
        "max_attempts = 5\n"
        "backoff_base = 0.5\n"
        "[stores.reports]\n"
        'backend = "local"\n'
        'root_path = "reports"\n'
        "[stores.reports.options]\n"
    )
    cfg = RegistryConfig.from_toml(path)
    cfg.validate()
    assert cfg.backends["local"].retry == RetryPolicy(
        attempts=5, base_delay_s=0.5, max_delay_s=60.0, jitter=0.0, jitter_s=1.0
    )  # remote-store's defaults for the names not written (CONFIG-018)
    assert cfg.stores["reports"].root_path == "reports"


def test_round_trip_through_dict() -> None:
    # spec: CONFIG-007
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "m": {"type": "memory", "retry": {"max_attempts": 2}},
                "l": {"type": "local", "options": {"root": "/t", "password": "pw-123456"}},
            },
            "stores": {"s": {"backend": "m", "root_path": "x"}},
        }
    )
    again = RegistryConfig.from_dict(cfg.to_dict())
    assert again == cfg
    assert isinstance(again.backends["l"].options["password"], Secret)


def test_backend_options_base_class() -> None:
    # spec: CONFIG-021, CONFIG-022
    @dataclasses.dataclass(frozen=True)
    class DemoOptions(BackendOptions):
        aliases = {"hostname": "host"}
        host: str
        port: int = 22
        timeout: float = 10.0
        token: Secret | None = None

    parsed = DemoOptions.parse({"hostname": "h", "timeout": 3, "token": "t0ken-value"})
    assert parsed.host == "h" and parsed.timeout == 3.0 and isinstance(parsed.timeout, float)
    assert "t0ken-value" not in repr(parsed)
    assert DemoOptions.parse(parsed.to_dict()) == parsed
    with pytest.raises(ConfigError, match=r"options\.port: expected an integer, got a boolean"):
        DemoOptions.parse({"host": "h", "port": True})
    with pytest.raises(ConfigError, match=r"options\.token: expected a string \(secret\), got int"):
        DemoOptions.parse({"host": "h", "token": 12345})


def test_backend_config_direct_construction_wraps_secrets() -> None:
    # spec: CONFIG-030
    cfg = BackendConfig(type="memory", options={"sas_token": "abc-sas-123"})
    assert isinstance(cfg.options["sas_token"], Secret)
    assert "abc-sas-123" not in repr(cfg)
