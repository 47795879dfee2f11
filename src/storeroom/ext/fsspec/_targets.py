"""Where an fsspec path points: the shared Registry for a config, and URL splitting.

Registries are shared per process by config *value* (``RegistryConfig`` equality,
secrets and resolved ``${VAR}`` values included), so repeated
``fsspec.open("storeroom://...")`` calls reuse connections while a changed
file or different credentials get a Registry of their own (spec FSSPEC-021).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from storeroom.config.locate import load_located_config, locate_config
from storeroom.config.model import RegistryConfig
from storeroom.errors import InvalidArgument, NotFound
from storeroom.registry import Registry, UnknownName
from storeroom.store import Store

__all__ = ["clear_registry_cache", "load_config", "shared_registry", "store_named"]

_REGISTRIES: dict[RegistryConfig, Registry] = {}
_LOCK = threading.Lock()


def load_config(config: Any) -> tuple[RegistryConfig, str | None]:
    """The ``RegistryConfig`` for a ``config=`` option, and the absolute file it came from.

    ``None`` means ``$STOREROOM_CONFIG``, else ``./storeroom.toml``; the file is
    read on every call so an edited file is seen.
    """
    if isinstance(config, RegistryConfig):
        return config, None
    if config is not None and not isinstance(config, str | os.PathLike):
        raise InvalidArgument(
            f"config= must be a path or a RegistryConfig, got {type(config).__name__}",
            operation="fsspec",
            hint="pass config='storeroom.toml' or a storeroom.RegistryConfig",
        )
    path = Path(locate_config(config)).absolute()
    return load_located_config(path), str(path)


def shared_registry(config: RegistryConfig) -> Registry:
    """The process-wide Registry for configs equal to ``config`` (built lazily)."""
    with _LOCK:
        registry = _REGISTRIES.get(config)
        if registry is None:
            registry = _REGISTRIES[config] = Registry(config)
        return registry


def clear_registry_cache() -> None:
    """Close and forget every shared Registry (tests, or to drop idle connections)."""
    with _LOCK:
        registries = list(_REGISTRIES.values())
        _REGISTRIES.clear()
    for registry in registries:
        registry.close()


def store_named(registry: Registry, name: str) -> Store:
    """``registry.get_store(name)``; an unknown name is ``NotFound`` listing the known ones."""
    try:
        return registry.get_store(name)
    except UnknownName:
        known = ", ".join(registry.store_names) or "(none)"
        raise NotFound(
            f"no store named {name!r} in the config",
            path=name,
            operation="fsspec",
            hint=f"storeroom:// URLs start with a store name; known stores: {known}",
        ) from None
