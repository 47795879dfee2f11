"""pydantic's ``ValidationError`` and pydantic-settings' ``SettingsError`` as ``ConfigError``.

The message names the key path and the environment variable that sets it, and
what pydantic expected; never the input value, which may be a secret (spec PYD-030..033).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from storeroom.errors import ConfigError

__all__ = ["from_settings_error", "from_validation_error"]


def _key(loc: Sequence[int | str]) -> str:
    """A pydantic ``loc`` as a config key path: ``backends.lake.options.port``, ``hosts[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "settings"


def _variable(loc: Sequence[int | str], prefix: str, delimiter: str) -> str:
    return (prefix + delimiter.join(str(p) for p in loc)).upper()


def from_validation_error(exc: ValidationError, *, prefix: str, delimiter: str) -> ConfigError:
    """The ``ConfigError`` for ``exc``: storeroom's own, or one naming the first bad key."""
    errors = exc.errors(include_url=False)  # "input" is never read: it may be a secret
    for err in errors:  # a ConfigError raised by our validator comes back as it was
        inner: Any = (err.get("ctx") or {}).get("error")
        if isinstance(inner, ConfigError):
            return inner
    first = errors[0]
    loc = first["loc"]
    key = _key(loc)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    var = _variable(loc, prefix, delimiter)
    return ConfigError(
        f"{key}: {first['msg']}{more}",
        key=key,
        hint=f"fix {key}: set {var} (environment or .env file) to a valid value, "
        "or pass a valid value to the settings class",
    )


_FIELD = re.compile(r'field "([^"]+)"')


def from_settings_error(exc: SettingsError, *, prefix: str) -> ConfigError:
    """A value pydantic-settings could not parse (a complex field's JSON), naming the field."""
    match = _FIELD.search(str(exc))
    key = match.group(1) if match else None
    var = (prefix + key).upper() if key else f"a {prefix.upper()}* variable"
    return ConfigError(
        f"{key or 'settings'}: the value from the environment or .env file is not valid JSON",
        key=key,
        hint=f"set {var} to a JSON value of the field's type",
    )
