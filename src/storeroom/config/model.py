"""The frozen configuration model: ``RegistryConfig`` → ``BackendConfig`` / ``StoreProfile``.

Raw data (from TOML, YAML, JSON or a dict) is checked shape-first here: known
keys only, right types, every message naming the source file and key path
(spec CONFIG-001..009). Per-backend options are checked by
``RegistryConfig.validate`` against the backend's option class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from storeroom.config.env import EnvStyle, EnvValue, resolve_env
from storeroom.config.frozen import FrozenDict, freeze, thaw
from storeroom.config.secret import Secret, from_foreign, is_secret_key
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["BackendConfig", "LayerConfig", "RegistryConfig", "RetryPolicy", "StoreProfile"]


def _where(source: str | None, key: str) -> str:
    return f"{source}: {key}" if source else key


def _url_with_credentials(key: Any, value: str) -> bool:
    """A URL option carrying a credential (user information, ``sig=``, ``?password=``, ...).

    A ``url`` option with an ``@`` counts even when it is not parseable, so a
    malformed database URL is never shown whole.
    """
    from storeroom._mask import has_credentials

    return (key == "url" and "@" in value) or has_credentials(value)


def _secret_url(value: str) -> Secret:
    from storeroom._mask import protect_url

    protect_url(value)  # its password or signature alone is scrubbed from logs too
    return Secret(value)


def _wrap_headers(headers: Mapping[str, Any], extra: Any, where: str) -> dict[str, Any]:
    """Credential header values (``Authorization``, ``Cookie``, ``secret_headers``) as Secrets."""
    from storeroom._mask import is_secret_header, protect_header

    names = [n for n in extra if isinstance(n, str)] if isinstance(extra, list | tuple) else []
    out: dict[str, Any] = {}
    for name, value in headers.items():
        foreign = from_foreign(value, f"{where}.{name}")
        if foreign is not None:
            protect_header(foreign.reveal())
            out[name] = foreign
        elif isinstance(value, str) and is_secret_header(str(name), names):
            protect_header(value)
            out[name] = Secret(value)
        else:
            out[name] = value
    return out


def _wrap_secrets(options: Mapping[str, Any], where: str = "options") -> dict[str, Any]:
    """Option values under credential names, credential URLs and pydantic secrets as Secrets."""
    out: dict[str, Any] = {}
    for k, v in options.items():
        foreign = from_foreign(v, f"{where}.{k}")
        if foreign is not None:
            out[k] = foreign
        elif isinstance(v, str) and is_secret_key(str(k)):
            out[k] = Secret(v)
        elif isinstance(v, str) and _url_with_credentials(k, v):
            out[k] = _secret_url(v)
        elif k == "headers" and isinstance(v, Mapping):
            out[k] = _wrap_headers(v, options.get("secret_headers"), f"{where}.{k}")
        elif isinstance(v, Mapping):
            out[k] = _wrap_secrets(v, f"{where}.{k}")
        else:
            out[k] = v
    return out


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, EnvValue):
        raise ConfigError(
            f"{where}: expected a table, got text from {value.origin()}",
            key=where,
            hint=f"set {value.var} to a JSON table, or set its keys one by one",
        )
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table, got {type(value).__name__}", key=where)
    return value


def _required_name(table: Mapping[str, Any], key: str, where: str, what: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: required, expected {what}", key=f"{where}.{key}")
    return value


#: The config format version this storeroom reads (a file may say ``version = 1``).
CONFIG_VERSION = 1


def _check_version(value: Any) -> None:
    """``version`` is optional; when given it must be 1 (an int, or the text "1")."""
    if isinstance(value, bool) or str(value).strip() != str(CONFIG_VERSION):
        raise ConfigError(
            f"version: this storeroom reads config version {CONFIG_VERSION}, got {value!r}",
            key="version",
            hint=f"write version = {CONFIG_VERSION}, or leave the key out",
        )


def _reject_unknown(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in known:
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(
                f"{path}: unknown key (expected one of: {', '.join(known)})", key=path
            )


class RetryPolicy:
    """remote-store's constructor of retry settings; builds the one shape, ``RetryOptions``.

    remote-store's keywords (or none) keep remote-store's meaning and defaults;
    storeroom's field names give ``RetryOptions`` as written (spec CONFIG-018).
    """

    def __new__(cls, **settings: Any) -> RetryOptions:  # type: ignore[misc]
        from storeroom.layers.retry import remote_store_policy

        ours = set(settings) - set(RetryOptions.aliases) - {"jitter"}
        if ours:
            return RetryOptions.parse(settings, where="RetryPolicy")
        return remote_store_policy(settings, where="RetryPolicy")

    @staticmethod
    def disabled() -> RetryOptions:
        """One attempt, no retry."""
        return RetryOptions(attempts=1)


@dataclasses.dataclass(frozen=True)
class LayerConfig:
    """One layer in a backend's or store's ``layers`` list: ``type`` plus its options."""

    type: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)

    @classmethod
    def from_raw(cls, raw: Any, where: str) -> LayerConfig:
        if isinstance(raw, LayerConfig):
            return raw
        if isinstance(raw, str):
            return cls(type=raw)
        table = _table(raw, where)
        layer_type = table.get("type")
        if not isinstance(layer_type, str) or not layer_type:
            raise ConfigError(f"{where}.type: expected a layer type name", key=f"{where}.type")
        opts = {k: v for k, v in table.items() if k != "type"}
        return cls(type=layer_type, options=freeze(_wrap_secrets(opts, where)))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **thaw(self.options)}


def _layers(raw: Any, where: str) -> tuple[LayerConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ConfigError(
            f"{where}: expected a list of layer tables, got {type(raw).__name__}", key=where
        )
    return tuple(LayerConfig.from_raw(item, f"{where}[{i}]") for i, item in enumerate(raw))


@dataclasses.dataclass(frozen=True)
class BackendConfig:
    """A named backend: ``type``, its ``options``, ``layers`` and optional ``retry``."""

    type: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    layers: tuple[LayerConfig, ...] = ()
    retry: RetryOptions | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", freeze(_wrap_secrets(self.options)))
        object.__setattr__(self, "layers", tuple(self.layers))
        if self.retry is not None:
            object.__setattr__(self, "retry", RetryOptions.coerce(self.retry, where="retry"))

    _KEYS = ("type", "options", "layers", "retry")

    @classmethod
    def from_raw(cls, raw: Any, where: str) -> BackendConfig:
        if isinstance(raw, BackendConfig):
            return raw
        table = _table(raw, where)
        _reject_unknown(table, cls._KEYS, where)
        backend_type = _required_name(table, "type", where, "a backend type name such as 'local'")
        retry_raw = table.get("retry")
        retry = (
            None if retry_raw is None else RetryOptions.coerce(retry_raw, where=f"{where}.retry")
        )
        options = _table(table.get("options"), f"{where}.options")
        return cls(
            type=backend_type,
            options=_wrap_secrets(options, f"{where}.options"),
            layers=_layers(table.get("layers"), f"{where}.layers"),
            retry=retry,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "options": thaw(self.options)}
        if self.layers:
            out["layers"] = [layer.to_dict() for layer in self.layers]
        if self.retry is not None:
            out["retry"] = self.retry.to_dict()
        return out


def _check_root_path(root: str, where: str) -> None:
    """A store's ``root_path`` must be a store path: no ``..``, no NUL (spec CONFIG-009)."""
    from storeroom.errors import InvalidPath
    from storeroom.path import normalize

    try:
        normalize(root)
    except InvalidPath as exc:
        raise ConfigError(
            f"{where}: {exc.message} (got {exc.path!r})",
            key=where,
            hint="root_path is a folder inside the backend; it cannot leave it",
        ) from None


@dataclasses.dataclass(frozen=True)
class StoreProfile:
    """A named store: which ``backend``, the ``root_path`` inside it, extra ``layers``.

    ``options`` are kept for the application to read (as remote-store kept them);
    storeroom itself does not use them.
    """

    backend: str
    root_path: str = ""
    options: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    layers: tuple[LayerConfig, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", freeze(self.options))
        object.__setattr__(self, "layers", tuple(self.layers))
        _check_root_path(self.root_path, "root_path")

    _KEYS = ("backend", "root_path", "root", "options", "layers")

    @classmethod
    def from_raw(cls, raw: Any, where: str) -> StoreProfile:
        if isinstance(raw, StoreProfile):
            return raw
        table = _table(raw, where)
        _reject_unknown(table, cls._KEYS, where)
        backend = _required_name(table, "backend", where, "the name of a backend table")
        if "root" in table and "root_path" in table:
            raise ConfigError(
                f"{where}: give either 'root_path' or its alias 'root', not both",
                key=f"{where}.root",
            )
        root = table.get("root_path", table.get("root", ""))
        if root is None:
            root = ""
        if not isinstance(root, str):
            raise ConfigError(
                f"{where}.root_path: expected a string, got {type(root).__name__}",
                key=f"{where}.root_path",
            )
        _check_root_path(root, f"{where}.root_path")
        options = _table(table.get("options"), f"{where}.options")
        return cls(
            backend=backend,
            root_path=root,
            options=_wrap_secrets(options, f"{where}.options"),
            layers=_layers(table.get("layers"), f"{where}.layers"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.backend, "root_path": self.root_path}
        if self.options:
            out["options"] = thaw(self.options)
        if self.layers:
            out["layers"] = [layer.to_dict() for layer in self.layers]
        return out


@dataclasses.dataclass(frozen=True)
class RegistryConfig:
    """The whole configuration: named ``backends`` and named ``stores``. Immutable.

    ``source`` names where it came from (a file path) so every error can say so.
    """

    backends: Mapping[str, BackendConfig] = dataclasses.field(default_factory=FrozenDict)
    stores: Mapping[str, StoreProfile] = dataclasses.field(default_factory=FrozenDict)
    source: str | None = dataclasses.field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "backends", FrozenDict(self.backends))
        object.__setattr__(self, "stores", FrozenDict(self.stores))

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        source: str | None = None,
        resolve_env_vars: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> RegistryConfig:
        """Build from plain data (``{"backends": {...}, "stores": {...}}``, optional ``version``).

        ``${VAR}`` placeholders are resolved from ``environ`` (default
        ``os.environ``) by storeroom's rules; ``resolve_env_vars=True``
        (remote-store's opt-in) applies remote-store's rules, ``False`` none.
        """
        try:
            return cls._from_data(data, source, resolve_env_vars, environ)
        except ConfigError as exc:
            exc.in_file(source)
            raise

    @classmethod
    def _from_data(
        cls,
        data: Mapping[str, Any],
        source: str | None,
        resolve_env_vars: bool | None,
        environ: Mapping[str, str] | None,
    ) -> RegistryConfig:
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"config: expected a table with 'backends' and 'stores', got {type(data).__name__}"
            )
        if resolve_env_vars is not False:
            style: EnvStyle = "remote-store" if resolve_env_vars else "storeroom"
            data = resolve_env(data, environ, style=style)
        _reject_unknown(data, ("version", "backends", "stores"), "")
        _check_version(data.get("version", CONFIG_VERSION))
        raw_backends = _table(data.get("backends"), "backends")
        raw_stores = _table(data.get("stores"), "stores")
        backends = {
            str(name): BackendConfig.from_raw(raw, f"backends.{name}")
            for name, raw in raw_backends.items()
        }
        stores = {
            str(name): StoreProfile.from_raw(raw, f"stores.{name}")
            for name, raw in raw_stores.items()
        }
        return cls(backends=backends, stores=stores, source=source)

    @classmethod
    def from_toml(cls, path: Any, *, table: tuple[str, ...] = (), **kw: Any) -> RegistryConfig:
        """Load a TOML file; ``table=("tool", "storeroom")`` picks a sub-table (pyproject)."""
        from storeroom.config.loaders import load_toml

        data, source = load_toml(path, table)
        return cls.from_dict(data, source=source, **kw)

    @classmethod
    def from_yaml(cls, path: Any, *, table: tuple[str, ...] = (), **kw: Any) -> RegistryConfig:
        """Load a YAML file (needs ``storeroom[yaml]``)."""
        from storeroom.config.loaders import load_yaml

        data, source = load_yaml(path, table)
        return cls.from_dict(data, source=source, **kw)

    @classmethod
    def from_json(cls, path: Any, *, table: tuple[str, ...] = (), **kw: Any) -> RegistryConfig:
        """Load a JSON file."""
        from storeroom.config.loaders import load_json

        data, source = load_json(path, table)
        return cls.from_dict(data, source=source, **kw)

    @classmethod
    def from_file(cls, path: Any, **kw: Any) -> RegistryConfig:
        """Load a file, choosing the format by suffix (.toml, .yaml/.yml, .json)."""
        from storeroom.config.loaders import load_any

        data, source = load_any(path, kw.pop("table", ()))
        return cls.from_dict(data, source=source, **kw)

    @classmethod
    def from_pydantic(
        cls,
        model: Any,
        *,
        resolve_env_vars: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> RegistryConfig:
        """Build from a pydantic model or settings object: its ``backends`` and ``stores``.

        Dumped by alias; ``SecretStr``/``SecretBytes`` become ``Secret``. Other fields
        of the model (the application's own settings) are ignored.
        """
        from storeroom.config.model_data import model_data

        built = getattr(model, "registry_config", None)
        if isinstance(built, RegistryConfig):  # a StoreroomSettings: already built
            return built
        return cls.from_dict(model_data(model), resolve_env_vars=resolve_env_vars, environ=environ)

    # -- use ---------------------------------------------------------------------------

    def validate(self) -> None:
        """Check references, backend types, options and layers; raise ``ConfigError``."""
        from storeroom.registry import validate_config

        validate_config(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain data; ``from_dict(to_dict())`` round-trips (secrets stay wrapped)."""
        return {
            "backends": {n: b.to_dict() for n, b in self.backends.items()},
            "stores": {n: s.to_dict() for n, s in self.stores.items()},
        }

    def where(self, key: str) -> str:
        """``key`` prefixed with the source file, for messages."""
        return _where(self.source, key)
