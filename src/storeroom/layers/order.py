"""Warnings about layer orders that defeat themselves (used by ``storeroom config check``).

The recommended order, outermost first, is observe → otel → cache → retry →
limit → fault (→ context, added by storeroom). A store's own layers wrap its
backend's, so the effective stack is the store's list followed by the
backend's (spec LAYER-082).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storeroom.config.model import BackendConfig, RegistryConfig

__all__ = ["RECOMMENDED", "effective_stack", "order_warnings", "stack_warnings"]

RECOMMENDED = ("observe", "otel", "cache", "retry", "limit", "fault")

#: (outer, inner) pairs that defeat themselves, and why.
_BAD: dict[tuple[str, str], str] = {
    ("retry", "cache"): "cache inside retry: cache hits still pass through retry, and a retry "
    "re-runs calls the cache could answer; put cache outside (before) retry",
    ("cache", "observe"): "observe inside cache: cache hits are never observed; put observe "
    "outside (before) cache",
    ("retry", "observe"): "observe inside retry: each attempt becomes its own event and the "
    "attempt count is lost; put observe outside (before) retry",
    ("limit", "retry"): "limit outside retry: a call keeps its concurrency slot while it sleeps "
    "between attempts, and retries are not rate-limited; put limit inside (after) retry",
    ("fault", "retry"): "fault outside retry: injected faults are never retried; put fault "
    "inside (after) retry to test recovery",
    ("cache", "otel"): "otel inside cache: cache hits are never traced; put otel outside "
    "(before) cache",
    ("retry", "otel"): "otel inside retry: each attempt becomes its own span and the retry "
    "events are lost; put otel outside (before) retry",
    ("otel", "observe"): "observe inside otel: attempts and cache hits reach observe only; put "
    "observe outside (before) otel",
    ("limit", "cache"): "cache inside limit: cache hits wait for a slot and a token; put cache "
    "outside (before) limit",
}


def stack_warnings(types: Sequence[str]) -> list[str]:
    """Warnings for one effective stack, listed outermost first."""
    out: list[str] = []
    for i, outer in enumerate(types):
        for inner in types[i + 1 :]:
            why = _BAD.get((outer, inner))
            if why is not None and why not in out:
                out.append(why)
    for name in ("retry", "cache", "limit", "observe", "otel"):
        if types.count(name) > 1:
            out.append(
                f"{types.count(name)} {name} layers in one stack: "
                + ("attempts multiply" if name == "retry" else "each does the same work again")
            )
    return out


def effective_stack(config: RegistryConfig, store: str) -> list[str]:
    """Layer types around ``store``'s backend, outermost first (retry shorthand included)."""
    profile = config.stores[store]
    backend = config.backends[profile.backend]
    below = [layer.type for layer in backend.layers]
    if _has_retry(backend):
        below.insert(retry_shorthand_index(below), "retry")
    return [layer.type for layer in profile.layers] + below


def _has_retry(backend: BackendConfig) -> bool:
    from storeroom.registry import has_retry_shorthand

    return has_retry_shorthand(backend)


def retry_shorthand_index(types: Sequence[str]) -> int:
    """Where the ``retry = {...}`` shorthand goes: just outside the first limit or fault layer."""
    for i, name in enumerate(types):
        if name in ("limit", "fault"):
            return i
    return len(types)


def order_warnings(config: RegistryConfig) -> list[str]:
    """Every order warning for ``config``, each prefixed with the store or backend it concerns."""
    out: list[str] = []
    for name in sorted(config.backends):
        backend = config.backends[name]
        types = [layer.type for layer in backend.layers]
        if _has_retry(backend):
            types.insert(retry_shorthand_index(types), "retry")
        out.extend(f"{config.where(f'backends.{name}.layers')}: {w}" for w in stack_warnings(types))
    for name in sorted(config.stores):
        if not config.stores[name].layers:
            continue
        types = effective_stack(config, name)
        backend_only = stack_warnings(
            effective_stack(config, name)[len(config.stores[name].layers) :]
        )
        for w in stack_warnings(types):
            if w not in backend_only:
                out.append(f"{config.where(f'stores.{name}.layers')}: {w}")
    return out
