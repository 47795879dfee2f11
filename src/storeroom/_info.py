"""``info()``: which backends and extensions this installation can use (spec COMPAT-006).

Nothing is imported: availability is whether the extra's packages can be
found (``importlib.util.find_spec``), so the call is cheap and side-effect free.
"""

from __future__ import annotations

import importlib.util
from typing import TypedDict

__all__ = ["BackendInfo", "ExtensionInfo", "InfoResult", "info"]

BackendInfo = TypedDict(
    "BackendInfo", {"available": bool, "extras": str | None, "class": str | None}
)
BackendInfo.__doc__ = "One backend type: installed or not, its pip extra, its class path."


class ExtensionInfo(TypedDict):
    """One ``storeroom.ext`` module: installed or not, and its pip extra."""

    available: bool
    extras: str | None


class InfoResult(TypedDict):
    """What ``info()`` returns: the version, backends and extensions by name."""

    version: str
    backends: dict[str, BackendInfo]
    extensions: dict[str, ExtensionInfo]


#: ext module → (pip extra, packages it needs); base helpers need nothing.
_EXTENSIONS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "batch": (None, ()),
    "cache": (None, ()),
    "glob": (None, ()),
    "integrity": (None, ()),
    "observe": (None, ()),
    "partition": (None, ()),
    "streams": (None, ()),
    "transfer": (None, ()),
    "write": (None, ()),
    "arrow": ("arrow", ("pyarrow",)),
    "parquet": ("arrow", ("pyarrow",)),
    "fsspec": ("fsspec", ("fsspec",)),
    "otel": ("otel", ("opentelemetry",)),
    "pydantic": ("pydantic", ("pydantic_settings",)),
    "yaml": ("yaml", ("yaml",)),
    "dagster": ("dagster", ("dagster",)),
}


def _found(modules: tuple[str, ...]) -> bool:
    for name in modules:
        try:
            if importlib.util.find_spec(name) is None:
                return False
        except (ImportError, ValueError):  # a parent package is missing
            return False
    return True


def info() -> InfoResult:
    """A summary of the backends and extensions this environment can use."""
    from storeroom import __version__
    from storeroom.backends import BUILTIN_BACKENDS
    from storeroom.registry import _REGISTERED

    backends: dict[str, BackendInfo] = {}
    for name, b in BUILTIN_BACKENDS.items():
        ok = _found(b.sdk)
        backends[name] = {
            "available": ok,
            "extras": b.extra,
            "class": f"{b.package}.backend.{b.class_name}" if ok else None,
        }
    for name, registered in dict(_REGISTERED).items():
        factory = registered.factory
        qual = getattr(factory, "__qualname__", type(factory).__qualname__)
        backends[name] = {
            "available": True,
            "extras": None,
            "class": f"{getattr(factory, '__module__', '?')}.{qual}",
        }
    extensions: dict[str, ExtensionInfo] = {
        name: {"available": _found(needs), "extras": extra}
        for name, (extra, needs) in _EXTENSIONS.items()
    }
    return {"version": __version__, "backends": backends, "extensions": extensions}
