"""What ``mount`` and ``tiers`` share: a resolved target, key mapping, error rewriting, refusals.

A ``Target`` is one backend stack plus the folder inside it (``base``) that a
mount point or tier stands for. Errors raised below are rewritten to name the
key the caller used and the target (spec MOUNT-030); a capability a target
lacks is refused before any I/O, naming the path (MOUNT-020).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom._store_support import store_capabilities
from storeroom.backend import Backend, Entry, entry_sort_key
from storeroom.capabilities import Capability
from storeroom.errors import ConfigError, StoreroomError
from storeroom.layers._base import ProxyStream

if TYPE_CHECKING:
    from storeroom.backends.mount.config import Ref
    from storeroom.registry import Registry

__all__ = ["Target", "TargetStream", "merge_listings", "resolve"]

C = Capability

#: Gates a mount or tier declares when any target has them (checked per call).
PER_TARGET = frozenset(
    {
        C.READ,
        C.WRITE,
        C.DELETE,
        C.LIST,
        C.METADATA,
        C.USER_METADATA,
        C.SIGNED_URL,
        C.CONDITIONAL_WRITE,
    }
)
#: Quality flags only true of the whole when true of every target.
EVERY_TARGET = frozenset({C.SEEKABLE_READ, C.LAZY_READ, C.WRITE_RESULT_NATIVE})


@dataclasses.dataclass(frozen=True)
class Target:
    """A backend stack and the folder ``base`` inside it; ``label`` names it in messages."""

    backend: Backend
    base: str
    label: str
    owned: bool = False  # built by the mount itself (an inline table): closed with it

    def __post_init__(self) -> None:
        # What this target really offers, the Store's honest derivations included.
        object.__setattr__(self, "caps", frozenset(store_capabilities(self.backend)))

    @property
    def capabilities(self) -> frozenset[Capability]:
        found: frozenset[Capability] = self.__dict__["caps"]
        return found

    def key(self, rel: str) -> str:
        """The target's own key for ``rel`` (relative to the mount point or tier root)."""
        if not self.base:
            return rel
        return f"{self.base}/{rel}" if rel else self.base

    def rel(self, key: str) -> str | None:
        """Inverse of ``key``; ``None`` when ``key`` is outside ``base``."""
        base = self.base
        if not base:
            return key
        if key == base:
            return ""
        if key.startswith(base) and key[len(base)] == "/":
            return key[len(base) + 1 :]
        return None

    def refuse(
        self, cap: Capability, op: str, path: str, where: str, backend: str
    ) -> StoreroomError:
        """``CapabilityNotSupported`` for ``op`` on ``path`` that this target cannot do."""
        from storeroom.layers.readonly import refusal

        err = refusal(self.backend, cap, op, path=path, store=None)
        err.message = f"{where} ({self.label}): {err.message}"
        err.backend = backend
        err.args = (err.message,)
        return err

    def __reduce__(self) -> tuple[Any, ...]:
        return (Target, (self.backend, self.base, self.label, self.owned))


def rewrite(
    exc: StoreroomError,
    target: Target,
    outer: Callable[[str | None], str],
    where: str,
    backend: str,
) -> StoreroomError:
    """``exc`` naming the caller's key (``outer`` maps ``target``'s keys back), the
    mount or tiers ``backend``, and in its message the target and its backend type."""
    exc.path = outer(target.rel(exc.path) if exc.path is not None else None)
    inner_type = exc.backend or target.backend.type_name
    exc.backend = backend
    note = f" (under {where} → {target.label}, a {inner_type} backend)"
    if not exc.message.endswith(note):
        exc.message += note
        exc.args = (exc.message,)
    return exc


def gated(targets: Iterable[Target]) -> frozenset[Capability]:
    """Gates any target has, quality flags every target has (MOUNT-021)."""
    found = list(targets)
    caps: set[Capability] = set()
    for t in found:
        caps |= t.capabilities & PER_TARGET
    every = EVERY_TARGET
    for t in found:
        every = every & t.capabilities
    return frozenset(caps | every)


class TargetStream(ProxyStream):
    """A read stream whose failures are rewritten like every other error of the target."""

    def __init__(self, inner: BinaryIO, fix: Any) -> None:
        super().__init__(inner)
        self._fix = fix

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except StoreroomError as exc:
            raise self._fix(exc) from exc.__cause__


def merge_listings(streams: list[Iterator[Entry]]) -> Iterator[Entry]:
    """Sorted, deduplicated merge of sorted listings; the first stream wins a tie (MOUNT-031)."""
    last: str | None = None
    for entry in heapq.merge(*streams, key=entry_sort_key):
        key = entry_sort_key(entry)
        if key != last:
            last = key
            yield entry


def resolve(ref: Ref, registry: Registry, where: str) -> Target:
    """The target ``ref`` names, built through ``registry`` (shared, or owned when inline)."""
    key = f"{where}.{ref.key}"
    try:
        if ref.kind == "backend":
            return Target(registry.get_backend(ref.name), ref.path, ref.label)
        if ref.kind == "store":
            store = registry.get_store(ref.name)
            base = "/".join(p for p in (store.root_path, ref.path) if p)
            return Target(store.backend, base, ref.label)
        assert ref.inline is not None
        return Target(registry.build_backend_config(ref.inline, key), ref.path, ref.label, True)
    except ConfigError as exc:
        if exc.key is not None and exc.key.startswith(key):
            raise
        raise ConfigError(
            f"{key}: cannot build {ref.label}: {exc.message}", key=key, hint=exc.hint
        ) from exc
