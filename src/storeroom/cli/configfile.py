"""Finding and loading the config file; the ``config check`` and ``config show`` commands.

Resolution order (decided by the library, ``storeroom.config.locate``):
``--config PATH``, then ``$STOREROOM_CONFIG``, then ``./storeroom.toml``.
When none exists the error says how to fix it (spec CLI-020..024).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storeroom.cli.output import mask, masked_repr
from storeroom.config.locate import DEFAULT_FILE, ENV_VAR, load_located_config, locate_config
from storeroom.errors import ConfigError

if TYPE_CHECKING:
    from storeroom.cli.context import Context
    from storeroom.config.model import RegistryConfig

__all__ = [
    "DEFAULT_FILE",
    "ENV_VAR",
    "check_installed",
    "cmd_config_check",
    "cmd_config_show",
    "find_config",
    "load_config",
    "to_toml",
]


def find_config(explicit: str | None, environ: Mapping[str, str] | None = None) -> Path:
    """The config file to load (``storeroom.config.locate``; ``--config`` wins)."""
    return locate_config(explicit, environ=environ, explicit_name="--config")


def load_config(explicit: str | None) -> RegistryConfig:
    """Load (but do not validate) the config file."""
    return load_located_config(explicit, explicit_name="--config")


def _summary(config: RegistryConfig) -> dict[str, Any]:
    return {
        "source": config.source,
        "backends": {name: b.to_dict() for name, b in sorted(config.backends.items())},
        "stores": {name: s.to_dict() for name, s in sorted(config.stores.items())},
    }


def cmd_config_check(ctx: Context) -> int:
    from storeroom.layers.order import order_warnings

    config = ctx.config()
    config.validate()
    check_installed(config)
    warnings = order_warnings(config)
    out = ctx.out
    if out.json_mode:
        out.json({"ok": True, "warnings": warnings, **_summary(config)})
        return 0
    for warning in warnings:
        out.note(f"warning: {warning}")
    if out.quiet:
        return 0
    out.line(f"config OK: {config.source}")
    out.line("backends:" if config.backends else "backends: (none)")
    for name, backend in sorted(config.backends.items()):
        opts = ", ".join(f"{k}={masked_repr(v)}" for k, v in backend.options.items())
        extra = f"  layers={[layer.type for layer in backend.layers]}" if backend.layers else ""
        out.line(f"  {name}: type={backend.type}  options: {opts or '(none)'}{extra}")
    out.line("stores:" if config.stores else "stores: (none)")
    for name, store in sorted(config.stores.items()):
        btype = config.backends[store.backend].type
        extra = f"  layers={[layer.type for layer in store.layers]}" if store.layers else ""
        out.line(
            f"  {name}: backend={store.backend} ({btype})  "
            f"root_path={masked_repr(store.root_path)}{extra}"
        )
    return 0


def check_installed(config: RegistryConfig) -> None:
    """``ConfigError`` listing every backend whose extra or database driver is missing.

    Checks installed packages only: nothing is imported from them and nothing
    connects (spec CLI-025).
    """
    from storeroom.backends._requirements import missing_requirements

    lines: list[str] = []
    names: list[str] = []
    for name, backend in sorted(config.backends.items()):
        missing = missing_requirements(backend.type, backend.options)
        if not missing:
            continue
        names.append(f"backends.{name}")
        by_pip: dict[str, list[str]] = {}
        for m in missing:
            by_pip.setdefault(m.pip_line, []).append(f"{m.module} ({m.what})")
        for pip_line, modules in by_pip.items():
            lines.append(
                f"backends.{name} (type {backend.type!r}) needs {', '.join(modules)}: {pip_line}"
            )
    if lines:
        raise ConfigError(
            f"packages missing for {len(names)} backend(s): " + "; ".join(lines),
            key=names[0],
            file=config.source,
            hint="install them, or remove the backends you do not use",
        )


def cmd_config_show(ctx: Context) -> int:
    config = ctx.config()
    config.validate()
    data = _summary(config)
    if ctx.out.json_mode or ctx.args.format == "json":
        ctx.out.stdout.write(json.dumps(mask(data), indent=2) + "\n")
        return 0
    source = data.pop("source")
    ctx.out.stdout.write(f"# storeroom config from {source} (resolved; secrets masked)\n")
    ctx.out.stdout.write(to_toml(mask(data)))
    return 0


# -- a small TOML writer for plain data -----------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items() if v is not None]
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in items)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value))


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _emit(table: Mapping[str, Any], prefix: list[str], lines: list[str]) -> None:
    tables: list[tuple[str, Any]] = []
    for k, v in table.items():
        if v is None:
            continue  # TOML has no null: unset values are left out
        if (isinstance(v, Mapping) and v) or _is_table_list(v):
            tables.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables:
        path = [*prefix, _key(k)]
        if isinstance(v, Mapping):
            lines.extend(["", f"[{'.'.join(path)}]"])
            _emit(v, path, lines)
        else:
            for item in v:
                lines.extend(["", f"[[{'.'.join(path)}]]"])
                _emit(item, path, lines)


def to_toml(data: Mapping[str, Any]) -> str:
    """Render nested plain data as TOML (tables for mappings, arrays of tables for lists)."""
    lines: list[str] = []
    for section, body in data.items():
        if not isinstance(body, Mapping):
            lines.append(f"{_key(section)} = {_value(body)}")
            continue
        for name, entry in body.items():
            path = [_key(section), _key(str(name))]
            lines.extend(["", f"[{'.'.join(path)}]"])
            _emit(entry, path, lines)
    return "\n".join(lines).lstrip("\n") + "\n"
