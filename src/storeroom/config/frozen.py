"""``FrozenDict``: an immutable, picklable, hashable mapping for config values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn, TypeVar

__all__ = ["FrozenDict", "freeze", "thaw"]

K = TypeVar("K")
V = TypeVar("V")


class FrozenDict(dict[K, V]):
    """A ``dict`` that refuses mutation; pickles and compares like a dict."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("configuration mappings are immutable; build a new config instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted((str(k), repr(v)) for k, v in self.items())))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: {_shown(v)}" for k, v in self.items()) + "}"


_PLAIN = (str, bytes, int, float, bool, type(None), dict, list, tuple)


def _shown(value: Any) -> str:
    """``repr`` of a config value; a Python object given from code (a key, a credential,
    an engine) shows only its type, never its content."""
    if isinstance(value, _PLAIN) or type(value).__module__.startswith("storeroom"):
        return repr(value)
    return f"<{type(value).__name__} object>"


def freeze(value: Any) -> Any:
    """Recursively turn dicts into ``FrozenDict`` and lists into tuples."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of ``freeze``: plain dicts and lists (secrets stay wrapped)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value
