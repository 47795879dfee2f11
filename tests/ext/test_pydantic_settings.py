"""``StoreroomSettings``: config file lookup, ``STOREROOM__*`` overrides, ``.env``, precedence.

Real pydantic-settings reading the real process environment (set per test with
monkeypatch) and real files in a temp folder; registries built from the
settings read and write real files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_support import LOCAL_TOML, clean_env, write

from storeroom.errors import ConfigError
from storeroom.ext.pydantic import StoreroomSettings

__all__ = ["clean_env"]

pytestmark = pytest.mark.usefixtures("clean_env")


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter importing this tree's storeroom; its stdout."""
    import os

    import storeroom

    src = str(Path(storeroom.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": src}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


def local_file(tmp_path: Path, name: str = "storeroom.toml") -> Path:
    root = tmp_path / "data"
    root.mkdir(exist_ok=True)
    return write(tmp_path / name, LOCAL_TOML.format(root=root))


# -- import and surface ------------------------------------------------------------------


def test_import_storeroom_loads_no_pydantic() -> None:
    # spec: PYD-001
    code = (
        "import sys, storeroom\n"
        "from storeroom import RegistryConfig\n"
        "RegistryConfig.from_dict({'backends': {}, 'stores': {}})\n"
        "assert callable(RegistryConfig.from_pydantic)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_settings', 'pydantic_core')))\n"
    )
    assert run_python(code) == "[]"


def test_missing_pydantic_settings_is_a_config_error_with_install_hint() -> None:
    # spec: PYD-002
    code = (
        "import sys\n"
        "sys.modules['pydantic_settings'] = None\n"
        "from storeroom.errors import ConfigError\n"
        "try:\n"
        "    import storeroom.ext.pydantic\n"
        "except ConfigError as exc:\n"
        "    print(exc.hint)\n"
    )
    assert run_python(code) == 'pip install "storeroom[pydantic]"'


# -- the config file ---------------------------------------------------------------------


def test_reads_dot_storeroom_toml_and_builds_a_working_registry(tmp_path: Path) -> None:
    # spec: PYD-010
    local_file(tmp_path)
    settings = StoreroomSettings()
    assert settings.registry_config.source == "storeroom.toml"
    with settings.registry() as registry:
        registry.get_store("reports").write("a.txt", b"from settings")
    assert (tmp_path / "data" / "reports" / "a.txt").read_bytes() == b"from settings"


def test_config_argument_and_env_var_choose_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-010
    local_file(tmp_path)  # ./storeroom.toml is the fallback, never used below
    explicit = write(
        tmp_path / "conf" / "app.yaml", "stores: {y: {backend: m}}\nbackends: {m: {type: memory}}\n"
    )
    by_env = write(
        tmp_path / "conf" / "app.json",
        json.dumps({"backends": {"m": {"type": "memory"}}, "stores": {"j": {"backend": "m"}}}),
    )
    monkeypatch.setenv("STOREROOM_CONFIG", str(by_env))
    assert set(StoreroomSettings().registry_config.stores) == {"j"}
    assert set(StoreroomSettings(config=explicit).registry_config.stores) == {"y"}
    assert StoreroomSettings(config=explicit).registry_config.source == str(explicit)


def test_named_file_that_does_not_exist_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-010
    with pytest.raises(ConfigError, match="config file not found"):
        StoreroomSettings(config=tmp_path / "nope.toml")
    monkeypatch.setenv("STOREROOM_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"gone\.toml: config file not found"):
        StoreroomSettings()


def test_no_file_and_no_variables_fails_at_registry_naming_every_place() -> None:
    # spec: PYD-016
    settings = StoreroomSettings()  # an app may hold its own settings only
    assert settings.registry_config.stores == {}
    with pytest.raises(ConfigError) as info:
        settings.registry()
    text = str(info.value)
    assert "config= was not given" in text and "$STOREROOM_CONFIG" in text
    assert "./storeroom.toml" in text and "STOREROOM__STORES__*" in text


def test_environment_alone_configures_a_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-016
    monkeypatch.setenv("STOREROOM__BACKENDS__DISK__TYPE", "local")
    monkeypatch.setenv("STOREROOM__BACKENDS__DISK__OPTIONS__ROOT", str(tmp_path))
    monkeypatch.setenv("STOREROOM__STORES__OUT__BACKEND", "disk")
    with StoreroomSettings().registry() as registry:
        registry.get_store("out").write("x.bin", b"1")
    assert (tmp_path / "x.bin").read_bytes() == b"1"


# -- environment overrides -------------------------------------------------------------------


def test_nested_delimiter_override_reaches_an_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-011
    local_file(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("STOREROOM__BACKENDS__LAKE__OPTIONS__ROOT", str(other))
    monkeypatch.setenv("STOREROOM__STORES__REPORTS__ROOT_PATH", "moved")
    settings = StoreroomSettings()
    assert settings.registry_config.backends["lake"].options["root"] == str(other)
    assert settings.registry_config.backends["lake"].type == "local"  # the rest stays
    with settings.registry() as registry:
        registry.get_store("reports").write("r.txt", b"r")
    assert (other / "moved" / "r.txt").read_bytes() == b"r"


def test_names_are_case_insensitive_and_match_keys_of_any_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-011
    write(
        tmp_path / "storeroom.toml",
        '[backends.MainLake]\ntype = "memory"\n[stores.Reports]\nbackend = "MainLake"\n',
    )
    monkeypatch.setenv("storeroom__stores__REPORTS__root_path", "lower/and/UPPER")
    config = StoreroomSettings().registry_config
    assert set(config.stores) == {"Reports"}  # matched, not a second store
    assert config.stores["Reports"].root_path == "lower/and/UPPER"


def test_env_strings_take_the_options_declared_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-014
    write(
        tmp_path / "storeroom.toml",
        '[backends.s]\ntype = "sftp"\noptions = { host = "h" }\n'
        '[backends.b]\ntype = "s3"\noptions = { bucket = "x" }\n',
    )
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__PORT", "2222")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__TIMEOUT", "2.5")
    monkeypatch.setenv("STOREROOM__BACKENDS__B__OPTIONS__BUCKET", "1234")  # a str option
    config = StoreroomSettings().registry_config
    from storeroom.backends.s3 import S3Options
    from storeroom.backends.sftp.config import SFTPOptions

    sftp = SFTPOptions.parse(config.backends["s"].options)
    assert (sftp.port, sftp.timeout) == (2222, 2.5)
    assert S3Options.parse(config.backends["b"].options).bucket == "1234"


def test_json_values_set_tables_and_lists_but_never_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-014
    monkeypatch.setenv("STOREROOM__BACKENDS__M__TYPE", "memory")
    monkeypatch.setenv("STOREROOM__BACKENDS__M__LAYERS", '[{"type": "readonly"}]')
    monkeypatch.setenv("STOREROOM__STORES", '{"ro": {"backend": "m"}}')
    monkeypatch.setenv("STOREROOM__BACKENDS__S__TYPE", "sftp")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__HOST", "h")
    monkeypatch.setenv("STOREROOM__BACKENDS__S__OPTIONS__PASSWORD", '{"not": "json"}')
    config = StoreroomSettings().registry_config
    assert [layer.type for layer in config.backends["m"].layers] == ["readonly"]
    assert config.stores["ro"].backend == "m"
    assert config.backends["s"].options["password"].reveal() == '{"not": "json"}'


def test_placeholders_resolve_in_the_file_but_overrides_are_literal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-015
    write(
        tmp_path / "storeroom.toml",
        '[backends.m]\ntype = "memory"\n'
        '[stores.a]\nbackend = "m"\nroot_path = "${AREA}"\n'
        '[stores.b]\nbackend = "m"\nroot_path = "${UNSET_BUT_OVERRIDDEN}"\n',
    )
    monkeypatch.setenv("AREA", "from-var")
    monkeypatch.setenv("STOREROOM__STORES__B__ROOT_PATH", "x${AREA}")
    stores = StoreroomSettings().registry_config.stores
    assert stores["a"].root_path == "from-var"
    assert stores["b"].root_path == "x${AREA}"


def test_placeholders_read_the_process_environment_not_dotenv(tmp_path: Path) -> None:
    # spec: PYD-015
    write(
        tmp_path / "storeroom.toml",
        '[backends.m]\ntype = "memory"\n'
        '[stores.a]\nbackend = "m"\nroot_path = "${ONLY_IN_DOTENV}"\n',
    )
    write(tmp_path / ".env", "ONLY_IN_DOTENV=x\n")
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    assert info.value.key == "stores.a.root_path"
    assert info.value.file == "storeroom.toml"
    assert "'ONLY_IN_DOTENV' is not set" in str(info.value)


def test_override_inside_a_non_table_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: PYD-017
    monkeypatch.setenv("STOREROOM__BACKENDS__M__TYPE", "memory")
    monkeypatch.setenv("STOREROOM__BACKENDS__M__TYPE__X", "y")
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    assert info.value.key == "backends.m.type"
    assert "not a table" in str(info.value)


# -- .env files and precedence -------------------------------------------------------------


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    # spec: PYD-012
    local_file(tmp_path)
    moved = tmp_path / "dotenv-root"
    moved.mkdir()
    write(
        tmp_path / ".env",
        f"STOREROOM__BACKENDS__LAKE__OPTIONS__ROOT={moved}\nUNRELATED_TOOL_SETTING=1\n",
    )
    assert StoreroomSettings().registry_config.backends["lake"].options["root"] == str(moved)
    other = write(tmp_path / "prod.env", "STOREROOM__STORES__REPORTS__ROOT_PATH=prod\n")
    settings = StoreroomSettings(_env_file=other)
    assert settings.registry_config.stores["reports"].root_path == "prod"
    assert settings.registry_config.backends["lake"].options["root"] != str(moved)


def test_precedence_arguments_env_dotenv_file_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-013
    write(
        tmp_path / "storeroom.toml",
        '[backends.m]\ntype = "memory"\n'
        + "".join(f'[stores.{n}]\nbackend = "m"\nroot_path = "file"\n' for n in "abcd"),
    )
    write(
        tmp_path / ".env",
        "".join(f"STOREROOM__STORES__{n.upper()}__ROOT_PATH=dotenv\n" for n in "abc"),
    )
    for n in "ab":
        monkeypatch.setenv(f"STOREROOM__STORES__{n.upper()}__ROOT_PATH", "env")
    settings = StoreroomSettings(stores={"a": {"backend": "m", "root_path": "argument"}})
    roots = {n: s.root_path for n, s in settings.registry_config.stores.items()}
    assert roots == {"a": "argument", "b": "env", "c": "dotenv", "d": "file"}


# -- subclassing ---------------------------------------------------------------------------


class AppSettings(StoreroomSettings):
    """An application's own settings next to the registry config."""

    debug: bool = False
    workers: int = 4
    api_token: SecretStr = SecretStr("")


def test_subclass_adds_app_settings_read_with_the_same_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-003
    local_file(tmp_path)
    monkeypatch.setenv("STOREROOM__DEBUG", "true")
    write(tmp_path / ".env", "STOREROOM__WORKERS=9\n")
    settings = AppSettings()
    assert (settings.debug, settings.workers) == (True, 9)
    assert set(settings.registry_config.stores) == {"reports"}


def test_subclass_may_choose_its_own_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-003
    from pydantic_settings import SettingsConfigDict

    class Mine(StoreroomSettings):
        model_config = SettingsConfigDict(env_prefix="MYAPP__")
        debug: bool = False

    monkeypatch.setenv("MYAPP__DEBUG", "1")
    monkeypatch.setenv("MYAPP__BACKENDS__M__TYPE", "memory")
    monkeypatch.setenv("STOREROOM__BACKENDS__IGNORED__TYPE", "memory")
    settings = Mine()
    assert settings.debug is True
    assert set(settings.registry_config.backends) == {"m"}


# -- errors --------------------------------------------------------------------------------


def test_wrong_option_type_from_env_names_key_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: PYD-031
    write(tmp_path / "storeroom.toml", '[backends.lake]\ntype = "sftp"\noptions = { host = "h" }\n')
    monkeypatch.setenv("STOREROOM__BACKENDS__LAKE__OPTIONS__PORT", "twenty-two")
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    err = info.value
    assert err.key == "backends.lake.options.port"
    assert "STOREROOM__BACKENDS__LAKE__OPTIONS__PORT" in str(err)
    assert err.hint == "set STOREROOM__BACKENDS__LAKE__OPTIONS__PORT to an integer"
    assert err.__cause__ is None


def test_pydantic_validation_error_becomes_config_error_with_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # spec: PYD-030
    monkeypatch.setenv("STOREROOM__WORKERS", "many")
    with pytest.raises(ConfigError) as info:
        AppSettings()
    err = info.value
    assert err.key == "workers"
    assert "valid integer" in err.message and "many" not in str(err)
    assert "STOREROOM__WORKERS" in (err.hint or "")
    assert err.__cause__ is None and err.__context__ is None


def test_unparseable_json_for_a_complex_field_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # spec: PYD-032
    class Lists(StoreroomSettings):
        hosts: list[str] = []

    monkeypatch.setenv("STOREROOM__HOSTS", "[not json")
    with pytest.raises(ConfigError) as info:
        Lists()
    assert info.value.key == "hosts"
    assert info.value.hint == "set STOREROOM__HOSTS to a JSON value of the field's type"
    assert info.value.__context__ is None


def test_unknown_backend_type_from_env_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: PYD-031
    monkeypatch.setenv("STOREROOM__BACKENDS__X__TYPE", "floppy")
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    assert info.value.key == "backends.x.type"


def test_validation_error_key_names_list_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: PYD-030
    class Ports(StoreroomSettings):
        ports: list[int] = []

    monkeypatch.setenv("STOREROOM__PORTS", '[80, "http"]')
    with pytest.raises(ConfigError) as info:
        Ports()
    assert info.value.key == "ports[1]"
    assert str(info.value).startswith("ports[1]: Input should be a valid integer")


def test_prefixed_variable_naming_no_setting_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # spec: PYD-018
    monkeypatch.setenv("STOREROOM__BACKEND__LAKE__OPTIONS__BUCKET", "typo")
    with pytest.raises(ConfigError) as info:
        StoreroomSettings()
    assert "STOREROOM__BACKEND__LAKE__OPTIONS__BUCKET" in str(info.value)
    assert "did you mean 'BACKENDS'?" in str(info.value)
    monkeypatch.delenv("STOREROOM__BACKEND__LAKE__OPTIONS__BUCKET")
    monkeypatch.setenv("STOREROOM__STROES__X__BACKEND", "m")
    with pytest.raises(ConfigError, match="did you mean 'STORES'"):
        StoreroomSettings()
    monkeypatch.delenv("STOREROOM__STROES__X__BACKEND")
    monkeypatch.setenv("STOREROOM__WORKERS", "3")  # another class's field: passes untouched
    assert AppSettings().workers == 3
    assert StoreroomSettings().registry_config.stores == {}
