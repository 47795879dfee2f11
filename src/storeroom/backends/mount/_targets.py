"""What ``mount`` and ``tiers`` share: a resolved target, key routing, error rewriting, refusals.

A ``Target`` is one backend stack plus the folder inside it (``base``) that a
mount point or tier stands for; a ``Routed`` is one caller key sent to one
target, and the one place calls are forwarded to it. Errors raised below are
rewritten to name the key the caller used and the target (spec MOUNT-030); a
capability a target lacks is refused before any I/O, naming the path (MOUNT-020).
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from storeroom._store_support import store_capabilities
from storeroom.backend import Backend, Entry, Source, entry_sort_key
from storeroom.capabilities import Capability
from storeroom.errors import ConfigError, StoreroomError
from storeroom.layers._base import ProxyStream
from storeroom.models import WriteResult
from storeroom.path import normalize

if TYPE_CHECKING:
    from storeroom.backends.mount.config import Ref
    from storeroom.registry import Registry

__all__ = [
    "MountSpec",
    "Routed",
    "Target",
    "TargetStream",
    "merge_listings",
    "resolve",
    "to_target",
]

C = Capability
T = TypeVar("T")
#: What a mount or tier accepts in code: a backend, ``(backend, folder)``, a Store or a Target.
MountSpec = Any

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


def join(prefix: str, rel: str) -> str:
    """``rel`` below the folder ``prefix`` (either may be ``""``)."""
    if not prefix:
        return rel
    return f"{prefix}/{rel}" if rel else prefix


def to_target(spec: MountSpec, where: str) -> Target:
    """The ``Target`` a mount or tier given in code stands for; ``ConfigError`` otherwise."""
    from storeroom.store import Store

    if isinstance(spec, Target):
        return spec
    if isinstance(spec, Store):
        return Target(spec.backend, spec.root_path, f"store {spec.name or '?'}:")
    if isinstance(spec, Backend):
        return Target(spec, "", f"{spec.type_name}:")
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], Backend):
        base = normalize(spec[1])
        return Target(spec[0], base, f"{spec[0].type_name}:{base}")
    raise ConfigError(
        f"{where}: expected a Backend, a (Backend, folder) pair or a Store, "
        f"got {type(spec).__name__}",
        key=where,
    )


class Routed:
    """The caller's ``key`` sent to ``target`` as ``inner``; ``point`` is the mount point
    (``""`` for a tier), ``where`` names it and ``backend`` is the routing backend's type.

    A plain slotted class: one is made per call, so it is kept cheap to build.
    """

    __slots__ = ("backend", "inner", "key", "point", "target", "where")

    def __init__(
        self, key: str, point: str, target: Target, inner: str, where: str, backend: str
    ) -> None:
        self.key = key
        self.point = point
        self.target = target
        self.inner = inner
        self.where = where
        self.backend = backend

    def fix(self, exc: StoreroomError) -> StoreroomError:
        """``exc`` rewritten to name the caller's key and this target (MOUNT-030)."""
        key, point = self.key, self.point
        return rewrite(
            exc,
            self.target,
            lambda rel: key if rel is None else join(point, rel),
            self.where,
            self.backend,
        )

    def call(self, fn: Callable[[Backend, str], T]) -> T:
        """``fn(target backend, inner key)``, its errors rewritten by ``fix``."""
        try:
            return fn(self.target.backend, self.inner)
        except StoreroomError as exc:
            raise self.fix(exc) from exc.__cause__

    def need(self, cap: Capability, op: str) -> Routed:
        """This route, or ``CapabilityNotSupported`` when the target lacks ``cap`` (no I/O)."""
        if cap not in self.target.capabilities:
            raise self.target.refuse(cap, op, self.key, self.where, self.backend)
        return self

    def stream(self, stream: BinaryIO) -> BinaryIO:
        """``stream`` with its failures rewritten like the target's other errors."""
        return TargetStream(stream, self.fix)  # type: ignore[return-value]

    def write(
        self, src: Source, overwrite: bool, metadata: Mapping[str, str] | None, atomic: bool
    ) -> WriteResult:
        """The target's write, refused before I/O when it lacks metadata or atomic writes;
        an atomic write the target only derives is done as a Store does."""
        if metadata:
            self.need(C.USER_METADATA, "write")
        if atomic:
            self.need(C.ATOMIC_WRITE, "write_atomic")

        def call(backend: Backend, inner: str) -> WriteResult:
            if atomic and C.ATOMIC_WRITE not in backend.capabilities:
                return _derived_atomic(backend, inner, src, overwrite, metadata)
            return backend.write(inner, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

        return self.call(call)._rebase(self.key)

    def write_if_match(
        self, src: Source, etag: str, metadata: Mapping[str, str] | None, atomic: bool
    ) -> WriteResult:
        """The target's conditional write (MOUNT-024)."""
        return self.call(
            lambda b, k: b.write_if_match(k, src, etag, metadata=metadata, atomic=atomic)
        )._rebase(self.key)

    def signed_url(self, expires: int, method: str) -> str:
        """The target's signed URL (MOUNT-023); a PUT URL also needs WRITE there."""
        if method == "PUT":
            self.need(C.WRITE, "signed_url")
        return self.call(lambda b, k: b.signed_url(k, expires, method))


def _derived_atomic(
    backend: Backend, key: str, src: Source, overwrite: bool, metadata: Mapping[str, str] | None
) -> WriteResult:
    """An atomic write on a backend that derives it (temp file + atomic rename), as a Store does."""
    from storeroom.store import Store

    store = Store(backend, owns_backend=False)
    return store.write_atomic(key, src, overwrite=overwrite, metadata=metadata)


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
