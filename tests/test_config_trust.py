"""Configuration says what it does and does what it says (issue section 6).

Typed ``${VAR}`` values, malformed placeholders, ``root_path`` checked at load,
``ConfigError.key``/``.file``, and one retry shape whose every spelling retries
(against the real test servers). Backend classes without their extra are in
``test_backend_extras.py``.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services_support import service_env
from storeroom import Registry, RegistryConfig, Store
from storeroom.backend import Backend
from storeroom.backends import LocalBackend
from storeroom.errors import BackendUnavailable, ConfigError
from storeroom.layers.retry import RetryLayer, RetryOptions

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "storeroom.toml"
    path.write_text(textwrap.dedent(text))
    return path


def _layers(backend: Backend) -> Iterator[Backend]:
    while True:
        yield backend
        inner = getattr(backend, "inner", None)
        if inner is None:
            return
        backend = inner


# -- typed ${VAR} values ---------------------------------------------------------------


# spec: CONFIG-013
def test_whole_env_values_take_the_option_type(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        f"""
        [backends.disk]
        type = "local"
        options = {{ root = "{tmp_path / "d"}", durable = "${{DURABLE}}" }}
        layers = [{{ type = "retry", attempts = "${{TRIES}}", base_delay_s = "${{DELAY}}" }}]
        [stores.s]
        backend = "disk"
        root_path = "in-${{TRIES}}"
        """,
    )
    env = {"DURABLE": "Off", "TRIES": "5", "DELAY": "0.25"}
    with Registry(RegistryConfig.from_toml(path, environ=env)) as reg:
        store = reg.get_store("s")
        stack = list(_layers(store.backend))
        retry = next(b for b in stack if isinstance(b, RetryLayer))
        local = next(b for b in stack if isinstance(b, LocalBackend))
        assert (retry.options.attempts, retry.options.base_delay_s) == (5, 0.25)
        assert local.durable is False
        assert store.root_path == "in-5"  # not wholly one ${VAR}: stays a string
        store.write("a.txt", b"x")
    assert (tmp_path / "d" / "in-5" / "a.txt").read_bytes() == b"x"


# spec: CONFIG-013
@pytest.mark.parametrize(
    ("token", "value"),
    [("true", True), ("YES", True), ("1", True), ("on", True), ("False", False), ("no", False)],
)
def test_bool_spellings_from_the_environment(tmp_path: Path, token: str, value: bool) -> None:
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "d": {"type": "local", "options": {"root": str(tmp_path), "durable": "${D}"}}
            }
        },
        environ={"D": token},
    )
    with Registry(cfg) as reg:
        backend = reg.get_backend("d")
        local = next(b for b in _layers(backend) if isinstance(b, LocalBackend))
        assert local.durable is value


def _target(name: str) -> Any:
    """A service target module (loaded by ``tests/conftest.py``)."""
    return sys.modules[f"storeroom_service_target_{name}"]


def _sftp_options() -> dict[str, Any]:
    sftp = _target("sftp")
    env = service_env("sftp", *sftp.ENV_NAMES)
    assert env is not None, "the sftp test server is not running"
    return dict(sftp.sftp_options(env))


# spec: CONFIG-013
def test_sftp_port_from_the_environment_reaches_the_server() -> None:
    options = _sftp_options()
    port = str(options["port"])
    options["port"] = "${SFTP_PORT}"
    options["timeout"] = "${SFTP_TIMEOUT:-7.5}"
    cfg = RegistryConfig.from_dict(
        {
            "backends": {"remote": {"type": "sftp", "options": options}},
            "stores": {"s": {"backend": "remote", "root_path": f"t-{uuid.uuid4().hex[:8]}"}},
        },
        environ={"SFTP_PORT": port},
    )
    with Registry(cfg) as reg:
        store = reg.get_store("s")
        store.write("p.txt", b"port from env")
        assert store.read_bytes("p.txt") == b"port from env"
        store.delete("p.txt")


# spec: CONFIG-014
@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("durable", "maybe", "true/false"),
        ("create_root", "", "true/false"),
    ],
)
def test_env_value_that_does_not_convert_names_file_key_and_variable(
    tmp_path: Path, option: str, value: str, expected: str
) -> None:
    path = _toml(
        tmp_path,
        f"""
        [backends.disk]
        type = "local"
        options = {{ root = "/tmp/x", {option} = "${{MY_VAR}}" }}
        """,
    )
    cfg = RegistryConfig.from_toml(path, environ={"MY_VAR": value})
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    err = info.value
    assert err.key == f"backends.disk.options.{option}"
    assert err.file == str(path)
    assert "MY_VAR" in str(err) and expected in str(err) and str(err).startswith(str(path))


# spec: CONFIG-014
@pytest.mark.parametrize(
    ("layer", "value"),
    [
        ({"type": "retry", "attempts": "${N}"}, "3.5"),
        ({"type": "retry", "deadline_s": "${N}"}, "soon"),
    ],
)
def test_layer_option_from_env_that_does_not_convert(layer: dict[str, Any], value: str) -> None:
    cfg = RegistryConfig.from_dict(
        {"backends": {"m": {"type": "memory", "layers": [layer]}}}, environ={"N": value}
    )
    field = next(k for k in layer if k != "type")
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    assert info.value.key == f"backends.m.layers[0].{field}"
    assert "'N'" in str(info.value)


# spec: CONFIG-015
@pytest.mark.parametrize("text", ["${HOME/data", "a/${", "${1BAD}", "${X:-unclosed"])
def test_malformed_placeholder_is_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict(
            {"backends": {"d": {"type": "local", "options": {"root": text}}}},
            environ={"HOME": "/h", "X": "x"},
        )
    assert info.value.key == "backends.d.options.root"
    assert "malformed" in str(info.value)


# spec: CONFIG-012
def test_escaped_placeholder_stays_literal() -> None:
    cfg = RegistryConfig.from_dict(
        {"backends": {"d": {"type": "local", "options": {"root": "/a/$${HOME}/$${"}}}},
        environ={"HOME": "/h"},
    )
    assert cfg.backends["d"].options["root"] == "/a/${HOME}/${"


# -- root_path and ConfigError fields --------------------------------------------------


# spec: CONFIG-009
@pytest.mark.parametrize("root", ["..", "../up", "a/../../b", "a\x00b"])
def test_root_path_leaving_the_backend_is_rejected_at_load(tmp_path: Path, root: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(
        json.dumps(
            {
                "backends": {"m": {"type": "memory"}},
                "stores": {"X": {"backend": "m", "root_path": root}},
            }
        )
    )
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_json(path)  # at load: no validate(), no get_store()
    assert info.value.key == "stores.X.root_path"
    assert info.value.file == str(path)
    assert str(info.value).startswith(f"{path}: stores.X.root_path")


# spec: CONFIG-016
def test_config_error_key_is_the_key_path_and_file_its_own_field(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
        [backends.main]
        type = "local"
        options = { root = "/t", rooot = 1 }
        """,
    )
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_toml(path).validate()
    assert info.value.key == "backends.main.options.rooot"
    assert info.value.file == str(path)
    assert f"{path}: backends.main.options.rooot" in str(info.value)


# spec: CONFIG-016
def test_errors_from_get_store_name_file_and_key(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        f"""
        [backends.web]
        type = "http"
        options = {{ base_url = "https://127.0.0.1:9", ca_bundle = "{tmp_path / "none.pem"}" }}
        [stores.site]
        backend = "web"
        """,
    )
    reg = Registry(RegistryConfig.from_toml(path))  # validates: the options are well-formed
    with pytest.raises(ConfigError) as info:
        reg.get_store("site")  # building the backend loads the CA bundle
    assert info.value.key == "backends.web.options.ca_bundle"
    assert info.value.file == str(path)
    assert str(info.value).startswith(f"{path}: backends.web.options.ca_bundle")
    with pytest.raises(KeyError) as missing:
        reg.get_store("nope")
    assert isinstance(missing.value, ConfigError)
    assert (missing.value.key, missing.value.file) == ("stores.nope", str(path))


# -- one retry shape -------------------------------------------------------------------


FAULT = {"type": "fault", "error_rate": 1.0, "max_faults": 2}


def _memory_config(spelling: str, attempts: int, faults: int) -> dict[str, Any]:
    fault = {**FAULT, "max_faults": faults}
    backend: dict[str, Any] = {"type": "memory", "layers": [fault]}
    store: dict[str, Any] = {"backend": "m"}
    if spelling == "store layer":
        store["layers"] = [{"type": "retry", "attempts": attempts, "base_delay_s": 0}]
    elif spelling == "backend layer":
        backend["layers"] = [{"type": "retry", "attempts": attempts, "base_delay_s": 0}, fault]
    elif spelling == "retry table":
        backend["retry"] = {"max_attempts": attempts, "backoff_base": 0, "jitter": 0}
    return {"backends": {"m": backend}, "stores": {"s": store}}


# spec: CONFIG-008, LAYER-019, CONFIG-018
def test_every_retry_spelling_builds_the_same_layer_and_retries() -> None:
    built: dict[str, RetryOptions] = {}
    for spelling in ("store layer", "backend layer", "retry table"):
        with Registry(_memory_config(spelling, attempts=3, faults=2)) as reg:
            store = reg.get_store("s")
            layers = [b for b in _layers(store.backend) if isinstance(b, RetryLayer)]
            assert len(layers) == 1, spelling
            built[spelling] = layers[0].options
            store.write("a.txt", b"after two faults")
            assert store.read_bytes("a.txt") == b"after two faults"
        with Registry(_memory_config(spelling, attempts=3, faults=50)) as reg:
            with pytest.raises(BackendUnavailable) as info:
                reg.get_store("s").write("a.txt", b"x")
            assert info.value.attempts == 3, spelling
    # One shape: only what was written differs from RetryOptions() — except that a table
    # in remote-store's names keeps remote-store's defaults (CONFIG-018).
    assert (
        built["store layer"] == built["backend layer"] == RetryOptions(attempts=3, base_delay_s=0.0)
    )
    assert built["retry table"] == RetryOptions(
        attempts=3, base_delay_s=0.0, max_delay_s=60.0, jitter=0.0, jitter_s=0.0
    )


# spec: CONFIG-008, LAYER-019
def test_one_set_of_defaults() -> None:
    from storeroom.backends import MemoryBackend
    from storeroom.config import RetryPolicy

    assert RetryPolicy(attempts=3) == RetryOptions()  # storeroom's names: RetryOptions as is
    table = RegistryConfig.from_dict({"backends": {"m": {"type": "memory", "retry": {}}}})
    assert table.backends["m"].retry == RetryOptions()
    assert RetryLayer(MemoryBackend()).options == RetryOptions()
    assert RetryOptions.parse({}, where="x") == RetryOptions()


def _service_backend(kind: str) -> dict[str, Any]:
    """The backend table of the real test server ``kind``."""
    if kind == "sftp":
        return {"type": "sftp", "options": _sftp_options()}
    target = _target(kind)
    assert target.ENV is not None, f"the {kind} test server is not running"
    if kind == "s3":
        return {
            "type": "s3",
            "options": target.options(target.ENV, target.ensure_bucket(target.ENV)),
        }
    table: dict[str, Any] = target._config(Path())
    return table


def _retry_store(table: dict[str, Any], root: str, attempts: int, faults: int) -> Registry:
    table = {
        **table,
        "options": {**table["options"], "retry": {"max_attempts": attempts, "backoff_base": 0}},
        "layers": [{**FAULT, "max_faults": faults}],
    }
    return Registry(
        {"backends": {"b": table}, "stores": {"s": {"backend": "b", "root_path": root}}}
    )


# spec: CONFIG-008
@pytest.mark.parametrize("kind", ["s3", "sftp", "azure"])
def test_options_retry_builds_a_retry_layer_on_real_servers(kind: str) -> None:
    root = f"retry-{uuid.uuid4().hex[:10]}"
    table = _service_backend(kind)
    with _retry_store(table, root, attempts=3, faults=2) as reg:
        store = reg.get_store("s")
        retry = [b for b in _layers(store.backend) if isinstance(b, RetryLayer)]
        assert len(retry) == 1 and retry[0].options.attempts == 3
        store.write("r.txt", b"written after two faults")
        assert store.read_bytes("r.txt") == b"written after two faults"
        store.delete("r.txt")
    with _retry_store(table, root, attempts=3, faults=50) as reg:
        with pytest.raises(BackendUnavailable) as info:
            reg.get_store("s").write("r.txt", b"x")
        assert info.value.attempts == 3


# spec: CONFIG-008
def test_http_options_retry_retries_real_server_failures() -> None:
    target = _target("http")
    env = service_env("http", "STOREROOM_TEST_HTTP_URL")
    assert env is not None, "the http test server is not running"
    root = f"retry-{uuid.uuid4().hex[:10]}"
    target.ServerSeeder(target.URL).put(f"{root}/f.txt", b"served on the third try")
    # The server answers 503 to the first two requests for each URL below.
    flaky = f"{target.URL}/_test/flaky/2/503/0/{root}"

    def registry(attempts: int) -> Registry:
        options = {"base_url": flaky, "retry": {"max_attempts": attempts, "backoff_base": 0}}
        return Registry(
            {
                "backends": {"w": {"type": "http", "options": options}},
                "stores": {"s": {"backend": "w"}},
            }
        )

    with registry(3) as reg:
        assert reg.get_store("s").read_bytes("f.txt") == b"served on the third try"
    flaky = f"{target.URL}/_test/flaky/9/503/0/{root}"
    with registry(2) as reg:
        with pytest.raises(BackendUnavailable) as info:
            reg.get_store("s").read_bytes("f.txt")
        assert info.value.attempts == 2


# spec: STORE-001b, CONFIG-008
def test_a_directly_built_backend_with_retry_retries_in_a_direct_store() -> None:
    from storeroom.backends.http import HTTPBackend

    target = _target("http")
    assert service_env("http", "STOREROOM_TEST_HTTP_URL") is not None
    root = f"retry-{uuid.uuid4().hex[:10]}"
    target.ServerSeeder(target.URL).put(f"{root}/f.txt", b"served on the third try")
    flaky = f"{target.URL}/_test/flaky/2/503/0/{root}"
    with Store(HTTPBackend(flaky, retry={"max_attempts": 3, "backoff_base": 0})) as store:
        assert store.read_bytes("f.txt") == b"served on the third try"
    flaky = f"{target.URL}/_test/flaky/9/503/0/{root}"
    with Store(HTTPBackend(flaky, retry={"max_attempts": 2, "backoff_base": 0})) as store:
        with pytest.raises(BackendUnavailable) as info:
            store.read_bytes("f.txt")
        assert info.value.attempts == 2
    with Store(HTTPBackend(flaky)) as store:  # no retry option: one attempt
        with pytest.raises(BackendUnavailable) as info:
            store.read_bytes("f.txt")
        assert info.value.attempts in (None, 1)


# spec: CONFIG-008
def test_two_retry_shorthands_on_one_backend_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        Registry(
            {
                "backends": {
                    "w": {
                        "type": "http",
                        "options": {"base_url": "http://127.0.0.1:9", "retry": {}},
                        "retry": {"max_attempts": 2},
                    }
                }
            }
        )
    assert info.value.key == "backends.w.options.retry"
