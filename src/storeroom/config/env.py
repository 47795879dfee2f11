"""``${VAR}`` / ``${VAR:-default}`` substitution in configuration strings (spec CONFIG-010..014)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from storeroom.errors import ConfigError

__all__ = ["resolve_env"]

# ``$${`` is an escaped literal ``${``.
_VAR = re.compile(r"\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _resolve_str(text: str, environ: Mapping[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(1):  # escaped
            return m.group(0)[1:]
        name, default = m.group(2), m.group(3)
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise ConfigError(
                    f"{where or 'config'}: environment variable {name!r} is not set "
                    "and has no default",
                    key=where,
                    hint=f"export {name}=... or write ${{{name}:-default}}",
                )
            return default
        return value

    return _VAR.sub(sub, text) if "$" in text else text


def _join(where: str, key: object) -> str:
    if not where or where.endswith(": "):
        return f"{where}{key}"
    return f"{where}.{key}"


def resolve_env(data: Any, environ: Mapping[str, str] | None = None, *, where: str = "") -> Any:
    """Return ``data`` with every ``${VAR}`` in its strings replaced from ``environ``.

    Walks dicts and lists; keys are left alone. ``environ`` defaults to
    ``os.environ``. An unset variable without default is a ``ConfigError``
    naming the variable and the key path.
    """
    env = os.environ if environ is None else environ
    if isinstance(data, str):
        return _resolve_str(data, env, where)
    if isinstance(data, Mapping):
        return {k: resolve_env(v, env, where=_join(where, k)) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(resolve_env(v, env, where=f"{where}[{i}]") for i, v in enumerate(data))
    return data
