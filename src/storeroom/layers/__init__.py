"""Layers: backends that wrap a backend (retry, cache, observe, limit, readonly, fault, context).

The ``otel`` layer type lives in ``storeroom.ext.otel`` (it needs opentelemetry-api).

Each layer forwards every primitive to the backend it wraps and overrides
only what it changes, so every Store method (``exists``, ``read_text``,
``glob``, ...) goes through it. Use them in config::

    layers = [{ type = "observe" }, { type = "cache", ttl_s = 60 }, { type = "retry" }]

or in code: ``Store(RetryLayer(MemoryBackend()))``. Names are imported
lazily so ``import storeroom`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeroom.layers.cache import CacheLayer, CacheStats
    from storeroom.layers.context import ContextLayer
    from storeroom.layers.crypt import CryptLayer
    from storeroom.layers.fault import FaultLayer
    from storeroom.layers.limit import LimitLayer
    from storeroom.layers.observe import (
        LogSink,
        ObserveEvent,
        ObserveLayer,
        Recorder,
        correlation,
        get_correlation_id,
        set_correlation_id,
    )
    from storeroom.layers.order import order_warnings
    from storeroom.layers.readonly import ReadOnlyLayer
    from storeroom.layers.retry import RetryLayer

__all__ = [
    "BUILTIN_LAYERS",
    "CacheLayer",
    "CacheStats",
    "ContextLayer",
    "CryptLayer",
    "FaultLayer",
    "LimitLayer",
    "LogSink",
    "ObserveEvent",
    "ObserveLayer",
    "ReadOnlyLayer",
    "Recorder",
    "RetryLayer",
    "correlation",
    "get_correlation_id",
    "order_warnings",
    "set_correlation_id",
]

#: Config name → "module:Class" of every built-in layer (the Registry loads them on use).
BUILTIN_LAYERS: dict[str, str] = {
    "observe": "storeroom.layers.observe:ObserveLayer",
    "cache": "storeroom.layers.cache:CacheLayer",
    "retry": "storeroom.layers.retry:RetryLayer",
    "limit": "storeroom.layers.limit:LimitLayer",
    "readonly": "storeroom.layers.readonly:ReadOnlyLayer",
    "fault": "storeroom.layers.fault:FaultLayer",
    "crypt": "storeroom.layers.crypt:CryptLayer",  # needs the crypt extra (PyNaCl, cryptography)
    "otel": "storeroom.ext.otel:OtelLayer",  # needs the otel extra (opentelemetry-api)
}

_WHERE = {
    "CacheLayer": "cache",
    "CacheStats": "cache",
    "ContextLayer": "context",
    "CryptLayer": "crypt",
    "FaultLayer": "fault",
    "LimitLayer": "limit",
    "LogSink": "observe",
    "ObserveEvent": "observe",
    "ObserveLayer": "observe",
    "ReadOnlyLayer": "readonly",
    "Recorder": "observe",
    "RetryLayer": "retry",
    "correlation": "observe",
    "get_correlation_id": "observe",
    "order_warnings": "order",
    "set_correlation_id": "observe",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'storeroom.layers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"storeroom.layers.{module}"), name)
