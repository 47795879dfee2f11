"""Config files written for remote-store load with the same meaning (spec COMPAT-110..116).

Each scenario is loaded by remote-store 0.33.0 (a dev dependency) and by storeroom,
and what each understood is compared: backend types and options (secrets revealed),
retry settings, store backends and root paths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import remote_store
from remote_store.ext.yaml import from_yaml as rs_from_yaml

from storeroom import Registry, RegistryConfig
from storeroom.backends import MemoryBackend
from storeroom.config import Secret
from storeroom.config.env import EnvVarNotSet, resolve_env
from storeroom.errors import ConfigError


def _plain(value: Any) -> Any:
    if hasattr(value, "reveal"):
        return value.reveal()
    if isinstance(value, dict | tuple | list) or hasattr(value, "items"):
        if hasattr(value, "items"):
            return {k: _plain(v) for k, v in value.items()}
        return [_plain(v) for v in value]
    return value


def _theirs(cfg: Any) -> dict[str, Any]:
    backends = {}
    for name, b in cfg.backends.items():
        r = b.retry
        retry = None if r is None else (r.max_attempts, r.backoff_base, r.backoff_max, r.jitter)
        backends[name] = (b.type, _plain(dict(b.options)), retry)
    stores = {n: (s.backend, s.root_path) for n, s in cfg.stores.items()}
    return {"backends": backends, "stores": stores}


def _ours(cfg: RegistryConfig) -> dict[str, Any]:
    backends = {}
    for name, b in cfg.backends.items():
        r = b.retry
        retry = None if r is None else (r.attempts, r.base_delay_s, r.max_delay_s, r.jitter_s)
        assert r is None or r.jitter == 0.0  # remote-store's jitter is seconds added only
        backends[name] = (b.type, _plain(b.options), retry)
    stores = {n: (s.backend, s.root_path) for n, s in cfg.stores.items()}
    return {"backends": backends, "stores": stores}


INLINE_TOML = """
[backends.files]
type = "local"
options = { root = "ROOT" }

[backends.scratch]
type = "memory"

[stores.reports]
backend = "files"
root_path = "reports/2026"

[stores.tmp]
backend = "scratch"
"""

TABLES_TOML = """
[backends.lake]
type = "s3"

[backends.lake.options]
bucket = "analytics"
endpoint_url = "http://127.0.0.1:9000"
region_name = "eu-central-1"
key = "AKIDEXAMPLE"
secret = "s3-secret-value"

[backends.lake.retry]
max_attempts = 5
backoff_base = 2.0
backoff_max = 30.0
jitter = 0.5

[stores.raw]
backend = "lake"
root_path = "raw"

[stores.raw.options]
"""

RETRY_YAML = """
backends:
  box:
    type: sftp
    options:
      host: sftp.example.com
      username: ingest
      password: sftp-pass-123
    retry:
      max_attempts: 4
stores:
  inbox:
    backend: box
    root_path:
"""


def test_each_documented_shape_loads_with_the_same_meaning(tmp_path: Path) -> None:
    """spec: COMPAT-110"""
    root = (tmp_path / "data").as_posix()
    cases: list[tuple[str, str]] = [
        ("inline.toml", INLINE_TOML.replace("ROOT", root)),
        ("tables.toml", TABLES_TOML),
        ("retry.yaml", RETRY_YAML),
        ("plain.json", json.dumps({"backends": {"m": {"type": "memory"}}, "stores": {}})),
    ]
    for name, text in cases:
        path = tmp_path / name
        path.write_text(text)
        if name.endswith(".toml"):
            theirs = remote_store.RegistryConfig.from_toml(path)
        elif name.endswith(".yaml"):
            theirs = rs_from_yaml(path)
        else:
            theirs = remote_store.RegistryConfig.from_dict(json.loads(text))
        ours = RegistryConfig.from_file(path)
        assert _ours(ours) == _theirs(theirs), name
    # The retry a remote-store table asks for is what storeroom's layer does.
    lake = RegistryConfig.from_toml(tmp_path / "tables.toml").backends["lake"]
    assert lake.retry is not None and lake.retry.to_dict()["jitter_s"] == 0.5
    assert isinstance(lake.options["secret"], Secret)


def test_a_pyproject_table_and_a_working_registry(tmp_path: Path) -> None:
    """spec: COMPAT-110"""
    root = (tmp_path / "data").as_posix()
    path = tmp_path / "pyproject.toml"
    body = INLINE_TOML.replace("ROOT", root).replace("[backends.", "[tool.remote-store.backends.")
    path.write_text(
        '[project]\nname = "app"\n' + body.replace("[stores.", "[tool.remote-store.stores.")
    )
    table = ("tool", "remote-store")
    ours = RegistryConfig.from_toml(path, table=table)
    assert _ours(ours) == _theirs(remote_store.RegistryConfig.from_toml(path, table=table))
    with Registry(ours) as reg:
        reg.get_store("reports").write("q1.csv", b"a,b\n")
    assert (tmp_path / "data" / "reports" / "2026" / "q1.csv").read_bytes() == b"a,b\n"


ENV_TOML = """
[backends.files]
type = "local"
options = { root = "${RS_ROOT}" }

[stores.a]
backend = "files"
root_path = "${RS_UNSET:-fallback}/x"

[stores.b]
backend = "files"
root_path = "${RS_EMPTY:-fallback}"

[stores.c]
backend = "files"
root_path = "lit$${RS_ROOT}"

[stores.d]
backend = "files"
root_path = "cost${"
"""


def test_remote_store_env_rules_with_its_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spec: COMPAT-111"""
    monkeypatch.setenv("RS_ROOT", (tmp_path / "d").as_posix())
    monkeypatch.setenv("RS_EMPTY", "")
    monkeypatch.delenv("RS_UNSET", raising=False)
    path = tmp_path / "env.toml"
    path.write_text(ENV_TOML)
    theirs = remote_store.RegistryConfig.from_toml(path, resolve_env_vars=True)
    ours = RegistryConfig.from_toml(path, resolve_env_vars=True)
    assert _ours(ours) == _theirs(theirs)
    roots = {n: s.root_path for n, s in ours.stores.items()}
    # Default only for an unset variable; an unclosed "${" stays text; "$${" is a literal.
    assert roots == {"a": "fallback/x", "b": "", "c": "lit${RS_ROOT}", "d": "cost${"}
    yaml_path = tmp_path / "env.yaml"
    yaml_path.write_text(
        "backends:\n  m:\n    type: local\n    options:\n      root: ${RS_ROOT}\nstores: {}\n"
    )
    assert _ours(RegistryConfig.from_yaml(yaml_path, resolve_env_vars=True)) == _theirs(
        rs_from_yaml(yaml_path, resolve_env_vars=True)
    )


def test_missing_variables_fail_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """spec: COMPAT-111"""
    monkeypatch.delenv("RS_NOPE", raising=False)
    path = tmp_path / "m.toml"
    path.write_text(
        '[backends.m]\ntype = "memory"\n[stores.s]\nbackend = "m"\nroot_path = "${RS_NOPE}"\n'
    )
    with pytest.raises(KeyError):
        remote_store.RegistryConfig.from_toml(path, resolve_env_vars=True)
    for flag in (True, None):
        with pytest.raises(KeyError) as info:
            RegistryConfig.from_toml(path, resolve_env_vars=flag)
        err = info.value
        assert isinstance(err, EnvVarNotSet) and isinstance(err, ConfigError)
        assert err.key == "stores.s.root_path" and "RS_NOPE" in str(err) and str(path) in str(err)
    data = {"greeting": "${RS_NOPE:-hello world}"}
    assert resolve_env(data) == remote_store.resolve_env(data) == {"greeting": "hello world"}


def test_storeroom_rules_without_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """spec: COMPAT-112 — the default stays storeroom's (CONFIG-010..015)."""
    monkeypatch.setenv("RS_EMPTY", "")
    data = {
        "backends": {"m": {"type": "memory"}},
        "stores": {"s": {"backend": "m", "root_path": "${RS_EMPTY:-dflt}"}},
    }
    assert RegistryConfig.from_dict(data).stores["s"].root_path == "dflt"
    assert RegistryConfig.from_dict(data, resolve_env_vars=True).stores["s"].root_path == ""
    kept = RegistryConfig.from_dict(data, resolve_env_vars=False).stores["s"].root_path
    assert kept == "${RS_EMPTY:-dflt}"
    bad = {"backends": {}, "stores": {"s": {"backend": "m", "root_path": "x${"}}}
    with pytest.raises(ConfigError, match="malformed"):
        RegistryConfig.from_dict(bad)
    assert RegistryConfig.from_dict(bad, resolve_env_vars=True).stores["s"].root_path == "x${"
    with pytest.raises(ConfigError, match="style"):
        resolve_env({}, style="bash")  # type: ignore[arg-type]


def test_whole_placeholders_take_the_option_type_under_both_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spec: COMPAT-111 — "${PORT}" sets an integer option, as the file means."""
    monkeypatch.setenv("RS_ATTEMPTS", "6")
    data = {"backends": {"m": {"type": "memory", "retry": {"max_attempts": "${RS_ATTEMPTS}"}}}}
    for flag in (True, None):
        cfg = RegistryConfig.from_dict(data, resolve_env_vars=flag)
        assert cfg.backends["m"].retry is not None and cfg.backends["m"].retry.attempts == 6


@pytest.mark.parametrize("version", [1, "1"])
def test_a_top_level_version_is_accepted(version: Any, tmp_path: Path) -> None:
    """spec: COMPAT-113"""
    cfg = RegistryConfig.from_dict({"version": version, "backends": {"m": {"type": "memory"}}})
    assert list(cfg.backends) == ["m"] and "version" not in cfg.to_dict()
    path = tmp_path / "v.yaml"
    path.write_text(f"version: {version!r}\nbackends:\n  m:\n    type: memory\nstores: {{}}\n")
    assert RegistryConfig.from_yaml(path).backends["m"].type == "memory"


@pytest.mark.parametrize("version", [2, "2.0", True, None])
def test_another_version_is_refused(version: Any) -> None:
    """spec: COMPAT-113"""
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict({"version": version, "backends": {}})
    assert info.value.key == "version" and "version 1" in str(info.value)


def test_secrets_are_wrapped_alike_but_shown_differently(tmp_path: Path) -> None:
    """spec: COMPAT-114"""
    data = {"backends": {"b": {"type": "sftp", "options": {"host": "h", "password": "pw-9876"}}}}
    theirs = remote_store.RegistryConfig.from_dict(json.loads(json.dumps(data)))
    ours = RegistryConfig.from_dict(data)
    t_pw, o_pw = theirs.backends["b"].options["password"], ours.backends["b"].options["password"]
    assert t_pw.reveal() == o_pw.reveal() == "pw-9876"
    assert repr(o_pw) == repr(t_pw) == "Secret('***')"
    assert str(o_pw) == "Secret('***')" and str(t_pw) == "***"  # documented difference


def test_retry_policy_built_in_code_means_what_it_meant() -> None:
    """spec: COMPAT-115"""
    from storeroom import RetryPolicy
    from storeroom.layers import RetryLayer
    from storeroom.layers.retry import RetryOptions

    kw = {
        "max_attempts": 5,
        "backoff_base": 2.0,
        "backoff_max": 30.0,
        "jitter": 0.5,
        "timeout": 9.0,
    }
    theirs, ours = remote_store.RetryPolicy(**kw), RetryPolicy(**kw)
    assert isinstance(ours, RetryOptions)
    assert (
        ours.max_attempts,
        ours.backoff_base,
        ours.backoff_max,
        ours.jitter_s,
        ours.timeout,
    ) == (
        theirs.max_attempts,
        theirs.backoff_base,
        theirs.backoff_max,
        theirs.jitter,
        theirs.timeout,
    )
    d_t, d_o = remote_store.RetryPolicy(), RetryPolicy()
    assert (d_o.attempts, d_o.base_delay_s, d_o.max_delay_s, d_o.jitter_s) == (
        d_t.max_attempts,
        d_t.backoff_base,
        d_t.backoff_max,
        d_t.jitter,
    )
    assert (
        RetryPolicy.disabled().max_attempts == remote_store.RetryPolicy.disabled().max_attempts == 1
    )
    for bad in ({"max_attempts": 0}, {"timeout": -1}):
        with pytest.raises(ValueError):
            remote_store.RetryPolicy(**bad)
        with pytest.raises(ConfigError):
            RetryPolicy(**bad)
    with pytest.raises(ConfigError, match="one set of names"):
        RetryPolicy(max_attempts=2, base_delay_s=1)
    # The wait the layer computes is remote-store's envelope plus up to `jitter` seconds.
    layer = RetryLayer(MemoryBackend(), **ours.to_dict(), rand=lambda: 1.0)
    assert [layer.delay(n) for n in (1, 2, 5)] == [2.5, 4.5, 30.5]


def test_store_options_are_kept_for_the_application(tmp_path: Path) -> None:
    """spec: COMPAT-116"""
    data = {
        "backends": {"m": {"type": "memory"}},
        "stores": {"s": {"backend": "m", "options": {"owner": "team-a", "api_key": "k-12345"}}},
    }
    theirs = remote_store.RegistryConfig.from_dict(json.loads(json.dumps(data)))
    ours = RegistryConfig.from_dict(data)
    assert ours.stores["s"].options["owner"] == theirs.stores["s"].options["owner"] == "team-a"
    assert isinstance(ours.stores["s"].options["api_key"], Secret)
    assert RegistryConfig.from_dict(ours.to_dict()) == ours
    with Registry(ours) as reg:
        reg.get_store("s").write("x", b"1")
