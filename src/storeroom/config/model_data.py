"""Plain config data from a pydantic model or settings object (spec PYD-020..026).

Duck-typed on ``model_dump``: nothing here imports pydantic, so
``RegistryConfig.from_pydantic`` costs nothing until it is called.
"""

from __future__ import annotations

import datetime
import enum
import os
from collections.abc import Mapping
from typing import Any

from storeroom.config.secret import from_foreign
from storeroom.errors import ConfigError

__all__ = ["model_data"]

#: The top-level keys taken from a model; its other fields are the application's own.
_KEYS = ("backends", "stores")
#: Modules whose URL classes turn into their text (pydantic ``AnyUrl``, ``PostgresDsn``, ...).
_URL_MODULES = ("pydantic.networks", "pydantic_core._pydantic_core")


def _plain(value: Any, where: str) -> Any:
    """``value`` as config data: secrets wrapped; enums, paths, durations, URLs made plain."""
    secret = from_foreign(value, where)
    if secret is not None:
        return secret
    if isinstance(value, Mapping):
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, enum.Enum):
        return _plain(value.value, where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()  # durations are seconds in storeroom options
    if type(value).__module__ in _URL_MODULES:
        return str(value)
    return value


def model_data(model: Any) -> dict[str, Any]:
    """``model.model_dump(by_alias=True)``'s ``backends`` and ``stores``, as plain config data."""
    dump = getattr(model, "model_dump", None)
    name = type(model).__name__
    if not callable(dump):
        raise ConfigError(
            f"from_pydantic: expected a pydantic model or settings object, got {name}",
            hint="pass an instance of a pydantic 2 BaseModel or BaseSettings subclass, "
            "or use RegistryConfig.from_dict for plain data",
        )
    try:
        data = dump(mode="python", by_alias=True)
    except Exception as exc:  # its message may quote a field's value: name the class only
        raise ConfigError(
            f"from_pydantic: {name}.model_dump() failed ({type(exc).__name__})",
            hint="make every field of the model serialisable with model_dump()",
        ) from None
    picked = {key: _plain(data[key], key) for key in _KEYS if key in data}
    if not picked:
        raise ConfigError(
            f"from_pydantic: {name} has no 'backends' or 'stores' field",
            hint="give the model fields named (or aliased) 'backends' and 'stores' "
            "shaped like the [backends] and [stores] tables of storeroom.toml",
        )
    return picked
