"""File loaders for TOML, YAML and JSON configs; parse errors become ``ConfigError``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from storeroom.errors import ConfigError

__all__ = ["load_any", "load_json", "load_toml", "load_yaml"]

Loaded = tuple[Mapping[str, Any], str]


def _read(path: Any, mode: str = "rb") -> Any:
    p = Path(os.fspath(path))
    try:
        with p.open(mode) as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: config file not found",
            file=str(p),
            hint="pass --config PATH or set STOREROOM_CONFIG",
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file ({exc.strerror})", file=str(p)) from None


def _pick(data: Any, table: tuple[str, ...], source: str) -> Mapping[str, Any]:
    node = data
    walked: list[str] = []
    for key in table:
        walked.append(key)
        if not isinstance(node, Mapping) or key not in node:
            raise ConfigError(
                f"{source}: table [{'.'.join(walked)}] not found",
                key=".".join(walked),
                file=source,
            )
        node = node[key]
    if not isinstance(node, Mapping):
        raise ConfigError(f"{source}: expected a table at the top level", file=source)
    return node


def load_toml(path: Any, table: tuple[str, ...] = ()) -> Loaded:
    import tomllib

    source = str(path)
    try:
        data = tomllib.loads(_read(path).decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}", file=source) from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not UTF-8 text", file=source) from None
    return _pick(data, table, source), source


def load_json(path: Any, table: tuple[str, ...] = ()) -> Loaded:
    source = str(path)
    try:
        data = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            file=source,
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"{source}: not UTF-8 text", hint="save the config file as UTF-8"
        ) from None
    return _pick(data, table, source), source


def load_yaml(path: Any, table: tuple[str, ...] = ()) -> Loaded:
    source = str(path)
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            f"{source}: reading YAML needs PyYAML",
            file=source,
            hint='pip install "storeroom[yaml]"',
        ) from None
    try:
        data = yaml.safe_load(_read(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source}: invalid YAML{at}: {getattr(exc, 'problem', exc)}", file=source
        ) from None
    return _pick(data or {}, table, source), source


_BY_SUFFIX: dict[str, Callable[[Any, tuple[str, ...]], Loaded]] = {
    ".toml": load_toml,
    ".json": load_json,
    ".yaml": load_yaml,
    ".yml": load_yaml,
}


def load_any(path: Any, table: tuple[str, ...] = ()) -> Loaded:
    suffix = Path(os.fspath(path)).suffix.lower()
    loader = _BY_SUFFIX.get(suffix)
    if loader is None:
        raise ConfigError(
            f"{path}: unknown config format {suffix or '(no suffix)'!r}",
            file=str(path),
            hint="use a .toml, .yaml, .yml or .json file",
        )
    return loader(path, table)
