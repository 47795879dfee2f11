"""``${VAR}`` / ``${VAR:-default}`` substitution in configuration strings (spec CONFIG-010..019).

A value that is wholly one placeholder becomes an ``EnvValue``: a ``str`` that
remembers its variable, so option parsing can convert it to the option's
declared type (int, float/duration, bool) and name the variable when it cannot.
``style="remote-store"`` applies remote-store's rules instead of storeroom's
(a default only for an unset variable, an unclosed ``${`` kept as text).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from storeroom.errors import ConfigError

__all__ = [
    "EnvStyle",
    "EnvValue",
    "EnvVarNotSet",
    "converts_from_env",
    "from_env",
    "resolve_env",
]

EnvStyle = Literal["storeroom", "remote-store"]

# ``$${`` is an escaped literal ``${``; a ``${`` that is neither escaped nor a
# complete placeholder is malformed.
_TOKEN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{")
_WHOLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# remote-store's placeholder: any text up to the first ``}``; ``${`` unclosed stays text.
_RS_TOKEN = re.compile(r"\$\$\{|\$\{([^}]+)\}")


class EnvVarNotSet(ConfigError, KeyError):
    """A placeholder names an unset variable and gives no default (a ``KeyError`` too)."""


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class EnvValue(str):
    """A config string that was wholly one ``${VAR}``; ``var`` names the variable."""

    __slots__ = ("var",)
    var: str

    def __new__(cls, value: str, var: str) -> EnvValue:
        self = super().__new__(cls, value)
        self.var = var
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (EnvValue, (str(self), self.var))

    def origin(self) -> str:
        """Where the text came from, for messages (a URL's query parameter says so too)."""
        return f"environment variable {self.var!r}"

    def fix(self, expected: str) -> str:
        """The hint of a value that does not convert."""
        return f"set {self.var} to {expected}"


_EXPECTED: dict[Any, str] = {
    bool: "true/false, 1/0, yes/no or on/off",
    int: "an integer",
    float: "a number (seconds, for a duration)",
}


def _convert(text: str, tp: Any) -> Any:
    """``text`` as ``tp`` (bool, int or float), or ``None`` when it does not convert."""
    if tp is bool:
        low = text.lower()
        return (low in _TRUE) if (low in _TRUE or low in _FALSE) else None
    try:
        number: float = int(text, 10) if tp is int else float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def converts_from_env(tp: Any) -> bool:
    """Whether an option typed ``tp`` takes a converted ``${VAR}`` value."""
    return tp in _EXPECTED


def from_env(value: EnvValue, tp: Any, where: str) -> Any:
    """``value`` converted to ``tp``: ``int``, ``float`` (seconds, for durations) or ``bool``.

    A value that does not convert is a ``ConfigError`` naming the key and the variable.
    """
    converted = _convert(value.strip(), tp)
    if converted is not None:
        return converted
    expected = _EXPECTED[tp]
    raise ConfigError(
        f"{where}: {value.origin()} is {str(value)!r}, expected {expected}",
        key=where,
        hint=value.fix(expected),
    )


def _missing(name: str, where: str) -> EnvVarNotSet:
    return EnvVarNotSet(
        f"{where or 'config'}: environment variable {name!r} is not set and has no default",
        key=where or None,
        hint=f"export {name}=... or write ${{{name}:-default}}",
    )


def _resolve_rs(text: str, environ: Mapping[str, str], where: str) -> str:
    """remote-store's rules: ``${VAR:-d}`` falls back only when VAR is unset."""

    def lookup(expr: str) -> str:
        name, sep, default = expr.partition(":-")
        value = environ.get(name)
        if value is None:
            if not sep:
                raise _missing(name, where)
            return default
        return value

    def sub(m: re.Match[str]) -> str:
        return "${" if m.group(0) == "$${" else lookup(m.group(1))

    if "${" not in text:
        return text
    whole = _RS_TOKEN.fullmatch(text)
    if whole is not None and whole.group(1) is not None:
        return EnvValue(lookup(whole.group(1)), whole.group(1).partition(":-")[0])
    return _RS_TOKEN.sub(sub, text)


def _resolve_str(text: str, environ: Mapping[str, str], where: str) -> str:
    def lookup(name: str, default: str | None) -> str:
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise _missing(name, where)
            return default
        return value

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$${":
            return "${"
        if m.group(1) is None:
            raise ConfigError(
                f"{where or 'config'}: malformed '${{' at character {m.start() + 1} of "
                f"{text!r} (expected ${{NAME}} or ${{NAME:-default}})",
                key=where or None,
                hint="close the placeholder with '}', or write '$${' for a literal '${'",
            )
        return lookup(m.group(1), m.group(2))

    if "$" not in text:
        return text
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        return EnvValue(lookup(whole.group(1), whole.group(2)), whole.group(1))
    return _TOKEN.sub(sub, text)


def _join(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


def resolve_env(
    data: Any,
    environ: Mapping[str, str] | None = None,
    *,
    where: str = "",
    style: EnvStyle = "storeroom",
) -> Any:
    """Return ``data`` with every ``${VAR}`` in its strings replaced from ``environ``.

    Walks dicts and lists; keys are left alone. ``environ`` defaults to
    ``os.environ``. An unset variable without default is ``EnvVarNotSet`` (a
    ``ConfigError`` and ``KeyError``) naming the key path; with the storeroom
    style a ``${`` that is not a complete placeholder is a ``ConfigError``.
    """
    env = os.environ if environ is None else environ
    if style not in ("storeroom", "remote-store"):
        raise ConfigError(
            f"unknown env substitution style {style!r}",
            hint="use style='storeroom' or style='remote-store'",
        )
    if isinstance(data, str):
        if style == "remote-store":
            return _resolve_rs(data, env, where)
        return _resolve_str(data, env, where)
    if isinstance(data, Mapping):
        return {k: resolve_env(v, env, where=_join(where, k), style=style) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return type(data)(
            resolve_env(v, env, where=f"{where}[{i}]", style=style) for i, v in enumerate(data)
        )
    return data
