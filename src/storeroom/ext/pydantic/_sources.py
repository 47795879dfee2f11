"""The settings source of the registry fields: config file, then ``.env``, then environment.

Environment names are split at the nested delimiter into a key path
(``STOREROOM__BACKENDS__LAKE__OPTIONS__BUCKET`` → ``backends.lake.options.bucket``);
a name part matches an existing key of any case. Values stay text (``EnvValue``),
so option parsing types them as the option declares (spec PYD-010..016).
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

from storeroom.config.env import EnvValue, resolve_env
from storeroom.config.secret import is_secret_key
from storeroom.errors import ConfigError

__all__ = ["REGISTRY_FIELDS", "Loading", "RegistrySource", "Without", "loading"]

#: The settings fields that hold the registry configuration.
REGISTRY_FIELDS = ("backends", "stores")


@dataclasses.dataclass
class Loading:
    """One settings construction: the explicit ``config=`` and what the file lookup found."""

    explicit: str | Path | None = None
    source: str | None = None
    missing: ConfigError | None = None


#: Set by ``StoreroomSettings.__init__`` while pydantic-settings runs the sources.
loading: contextvars.ContextVar[Loading | None] = contextvars.ContextVar(
    "storeroom_settings_loading", default=None
)


@dataclasses.dataclass(frozen=True, repr=False)  # repr=False: the value may be a secret
class _Override:
    """A value set by an environment variable: taken literally, never ``${VAR}``-resolved."""

    value: Any


def _load_file(state: Loading) -> dict[str, Any]:
    """The located config file's data (``{}`` when no file is named anywhere)."""
    from storeroom.config.loaders import load_any
    from storeroom.config.locate import locate_config

    try:
        path = locate_config(state.explicit)
    except ConfigError as exc:  # nothing named: the environment may hold it all
        state.missing = exc
        return {}
    data, state.source = load_any(path)
    return copy.deepcopy(dict(data))


def _match(node: Mapping[str, Any], part: str, case_sensitive: bool) -> str:
    """The key of ``node`` that ``part`` names; any case unless ``case_sensitive``."""
    if part in node or case_sensitive:
        return part
    for key in node:
        if isinstance(key, str) and key.lower() == part:
            return key
    return part


def _merge(node: dict[str, Any], key: str, value: Any, case_sensitive: bool) -> None:
    """Set ``node[key]``: a table merges into an existing table, anything else replaces."""
    old = node.get(key)
    if isinstance(value, dict) and isinstance(old, dict):
        for k, v in value.items():
            _merge(old, _match(old, str(k), case_sensitive), v, case_sensitive)
    else:
        node[key] = value


def _decoded(text: str, last: str, var: str) -> Any:
    """An environment value: a JSON table or list when it is one, else text that remembers ``var``.

    A secret-named key is always text, so a password starting with ``{`` stays a password.
    """
    if text[:1] in "[{" and not is_secret_key(last):
        try:
            value = json.loads(text)
        except ValueError:
            pass
        else:
            if isinstance(value, dict | list):
                return value
    return EnvValue(text, var)


def _literal(value: Any) -> Any:
    """An override's tables stay tables (to merge); everything else is marked literal."""
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    return _Override(value)


def _resolve_file_values(data: Any, where: str) -> Any:
    """Resolve ``${VAR}`` in the file's strings; overrides are unwrapped untouched."""
    if isinstance(data, _Override):
        return data.value
    if isinstance(data, str):
        return resolve_env(data, where=where)
    if isinstance(data, dict):
        return {
            k: _resolve_file_values(v, f"{where}.{k}" if where else str(k)) for k, v in data.items()
        }
    if isinstance(data, list):
        return [_resolve_file_values(v, f"{where}[{i}]") for i, v in enumerate(data)]
    return data


class RegistrySource(PydanticBaseSettingsSource):
    """``backends`` and ``stores``: the config file, overridden by ``.env``, then environment."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env_sources: Iterable[EnvSettingsSource],
    ) -> None:
        super().__init__(settings_cls)
        self.env_sources = tuple(env_sources)  # lowest priority first

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole tree is built in __call__

    def __call__(self) -> dict[str, Any]:
        state = loading.get() or Loading()
        tree = _load_file(state)
        for source in self.env_sources:
            for path, value in self._overrides(source):
                self._set(tree, path, value, source.case_sensitive)
        try:
            resolved = _resolve_file_values(tree, "")
        except ConfigError as exc:
            raise exc.in_file(state.source) from None
        return {k: v for k, v in resolved.items() if k in REGISTRY_FIELDS}

    def _overrides(self, source: EnvSettingsSource) -> list[tuple[list[str], Any]]:
        """``(key path, value)`` of each variable naming a registry key, shortest paths first."""
        delim = source.env_nested_delimiter or "__"
        prefix = source.env_prefix if source.case_sensitive else source.env_prefix.lower()
        found: list[tuple[list[str], Any]] = []
        for name, text in source.env_vars.items():
            if text is None or not name.startswith(prefix):
                continue
            path = name[len(prefix) :].split(delim)
            var = name if source.case_sensitive else name.upper()
            if path[0] not in REGISTRY_FIELDS:
                self._check_known(path[0], var, source.case_sensitive)
                continue
            if "" in path:
                continue
            found.append((path, _decoded(text, path[-1], var)))
        found.sort(key=lambda item: len(item[0]))
        return found

    def _check_known(self, first: str, var: str, case_sensitive: bool) -> None:
        """A variable whose first part misspells ``backends``/``stores`` fails, not ignored.

        Names of other fields (a subclass's, or another settings class's sharing
        the prefix) pass untouched.
        """
        import difflib

        fields = {n.lower() if not case_sensitive else n for n in self.settings_cls.model_fields}
        if first in fields:
            return
        close = difflib.get_close_matches(first, REGISTRY_FIELDS, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"environment variable {var!r} names no setting {first!r}; "
                f"did you mean {close[0].upper()!r}?",
                key=first,
                hint=f"registry keys go under {close[0].upper()}__, e.g. "
                "STOREROOM__BACKENDS__LAKE__OPTIONS__BUCKET",
            )

    @staticmethod
    def _set(tree: dict[str, Any], path: list[str], value: Any, case_sensitive: bool) -> None:
        node = tree
        walked: list[str] = []
        for part in path[:-1]:
            key = _match(node, part, case_sensitive)
            walked.append(key)
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(walked)
                shown = child.value if isinstance(child, _Override) else child
                raise ConfigError(
                    f"{where}: an environment variable sets a key inside it, but it is a "
                    f"{type(shown).__name__}, not a table",
                    key=where,
                    hint=f"set {where} whole, as JSON, in the variable that names it",
                )
            node = child
        key = _match(node, path[-1], case_sensitive)
        _merge(node, key, _literal(value), case_sensitive)


class Without(PydanticBaseSettingsSource):
    """Another source, minus the registry fields (``RegistrySource`` reads those)."""

    def __init__(self, inner: PydanticBaseSettingsSource) -> None:
        super().__init__(inner.settings_cls)
        self.inner = inner

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.inner().items() if k not in REGISTRY_FIELDS}

    def __repr__(self) -> str:
        return f"Without({self.inner!r})"
