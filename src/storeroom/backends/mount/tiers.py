"""The ``tiers`` backend: read-through tiers over one namespace (spec MOUNT-040..049).

Tiers are listed fastest first. A read is served by the first tier that has
the file (optionally copied up into the first tier, ``promote``); every write
goes to the first tier; a delete removes the file from every tier that has it,
so it does not reappear from a lower one; listings merge all tiers, the
highest tier's entry winning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from storeroom.backend import Backend, Entry, Source
from storeroom.backends.mount._targets import (
    MountSpec,
    Routed,
    Target,
    gated,
    merge_listings,
    resolve,
    to_target,
)
from storeroom.backends.mount.config import TiersOptions
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, WriteResult

if TYPE_CHECKING:
    from storeroom.registry import Registry

__all__ = ["TiersBackend"]

C = Capability
T = TypeVar("T")
_NAME = "tiers"
_log = logging.getLogger("storeroom.tiers")
#: What only the first tier decides: every write goes there.
_TOP = frozenset({C.WRITE, C.DELETE, C.USER_METADATA, C.ATOMIC_WRITE, C.WRITE_RESULT_NATIVE})
#: Features one tier cannot answer for all (MOUNT-023, MOUNT-024).
_NOT_TIERED = frozenset({C.SIGNED_URL, C.CONDITIONAL_WRITE})


class TiersBackend(Backend):
    """Reads fall through the tiers in order; writes go to the first (MOUNT-040)."""

    type_name = _NAME
    options_class = TiersOptions

    def __init__(self, tiers: Sequence[MountSpec], *, promote: bool = False) -> None:
        if not tiers:
            raise ConfigError("tiers: give at least one tier", key="tiers")
        self._tiers = tuple(to_target(t, f"tiers[{i}]") for i, t in enumerate(tiers))
        self.promote = promote
        top = self._tiers[0]
        caps = (gated(self._tiers) - _TOP - _NOT_TIERED) | (top.capabilities & _TOP)
        if C.WRITE in caps and C.READ in caps:
            caps |= {C.COPY, C.MOVE} if C.DELETE in caps else {C.COPY}
        self.capabilities = frozenset(caps)
        self.real_folders = all(t.backend.real_folders for t in self._tiers)

    @classmethod
    def from_registry(cls, options: TiersOptions, registry: Registry, where: str) -> TiersBackend:
        targets = [resolve(ref, registry, where) for ref in options.references()]
        return cls(targets, promote=options.promote)

    @classmethod
    def from_options(cls, options: TiersOptions) -> TiersBackend:
        raise ConfigError(
            "a tiers backend names other backends, so it is built by a Registry",
            hint='use Registry({"backends": {...}}) or TiersBackend([fast, slow])',
        )

    @property
    def tiers(self) -> tuple[Target, ...]:
        return self._tiers

    # -- helpers ----------------------------------------------------------------------

    def _at(self, i: int, key: str) -> Routed:
        """``key`` routed to tier ``i``."""
        tier = self._tiers[i]
        return Routed(key, "", tier, tier.key(key), f"tier {i}", _NAME)

    def _on(self, i: int, key: str, call: Callable[[Backend, str], T]) -> T:
        """``call(backend, inner key)`` on tier ``i``, its errors naming ``key``."""
        return self._at(i, key).call(call)

    def _top(self, key: str, op: str, cap: Capability) -> Routed:
        return self._at(0, key).need(cap, op)

    def _found(self, key: str, *, start: int = 0) -> Iterator[tuple[int, Entry]]:
        """(index, entry) of each tier (from ``start``) that has something at ``key``."""
        for i in range(start, len(self._tiers)):
            if C.METADATA not in self._tiers[i].capabilities:
                continue
            try:
                yield i, self._on(i, key, lambda b, k: b.stat(k))
            except NotFound:
                continue

    def _holding(self, key: str, *, start: int = 0) -> Iterator[int]:
        """Indexes of the tiers (from ``start``) that have a file at ``key``."""
        return (i for i, entry in self._found(key, start=start) if isinstance(entry, FileInfo))

    # -- required primitives ------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        first: NotFound | None = None
        for i, tier in enumerate(self._tiers):
            if C.METADATA not in tier.capabilities:
                continue
            try:
                entry = self._on(i, key, lambda b, k: b.stat(k))
            except NotFound as exc:
                first = first or exc
                continue
            return entry._rebase(key)
        raise first or NotFound("not found in any tier", path=key, backend=_NAME)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        readable = [i for i, t in enumerate(self._tiers) if C.READ in t.capabilities]
        for i in readable:
            if i != readable[-1] and not self._on(i, key, lambda b, k: b.exists(k)):
                continue
            if i > 0 and self.promote and start is None and end is None and self._promote(i, key):
                i = 0
            route = self._at(i, key)
            return route.stream(route.call(lambda b, k: b.open_read(k, start, end)))
        raise NotFound("no tier can read this file", path=key, backend=_NAME)

    def _promote(self, i: int, key: str) -> bool:
        """Copy ``key`` from tier ``i`` into the first tier; False when that failed (MOUNT-044)."""
        top, tier = self._tiers[0], self._tiers[i]
        if C.WRITE not in top.capabilities:
            return False
        try:
            meta = None
            if C.USER_METADATA in top.capabilities and C.METADATA in tier.capabilities:
                info = tier.backend.stat(tier.key(key))
                meta = info.metadata if isinstance(info, FileInfo) and info.metadata else None
            with tier.backend.open_read(tier.key(key)) as stream:
                top.backend.write(top.key(key), stream, overwrite=False, metadata=meta)
        except AlreadyExists:
            return True  # written meanwhile: the first tier's copy is the newer one
        except StoreroomError as exc:
            _log.warning("tiers: could not copy %r up from tier %d: %s", key, i, exc)
            return False
        return True

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        top = self._top(key, "write", C.WRITE)
        if metadata:
            top.need(C.USER_METADATA, "write")
        if atomic:
            top.need(C.ATOMIC_WRITE, "write_atomic")
        if not overwrite:
            for i in self._holding(key, start=1):
                raise AlreadyExists(
                    f"file already exists in tier {i} ({self._tiers[i].label})",
                    path=key,
                    backend=_NAME,
                    hint="pass overwrite=True to replace it",
                )
        return top.write(src, overwrite, metadata, atomic)

    def delete(self, key: str) -> None:
        self._top(key, "delete", C.DELETE)
        found = list(self._found(key))
        holding = [i for i, entry in found if isinstance(entry, FileInfo)]
        if not holding:
            if found:
                raise InvalidPath("expected a file, found a folder", path=key, backend=_NAME)
            raise NotFound("file not found in any tier", path=key, backend=_NAME)
        for i in holding:  # refuse before deleting anything (MOUNT-045)
            if C.DELETE not in self._tiers[i].capabilities:
                raise self._tiers[i].refuse(C.DELETE, "delete", key, f"tier {i}", _NAME)
        for i in holding:
            self._on(i, key, lambda b, k: b.discard(k))

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        streams = [
            self._listing(i, prefix, recursive, base)
            for i, t in enumerate(self._tiers)
            if C.LIST in t.capabilities
        ]
        return streams[0] if len(streams) == 1 else merge_listings(streams)

    def _listing(self, i: int, prefix: str, recursive: bool, base: str) -> Iterator[Entry]:
        route = self._at(i, prefix)
        tier = route.target
        try:
            yield from tier.backend.list(route.inner, recursive=recursive, base=tier.key(base))
        except StoreroomError as exc:
            raise route.fix(exc) from exc.__cause__

    # -- optional primitives --------------------------------------------------------------

    def exists(self, key: str) -> bool:
        return any(self._on(i, key, lambda b, k: b.exists(k)) for i, t in enumerate(self._tiers))

    def is_folder(self, key: str) -> bool:
        return any(self._on(i, key, lambda b, k: b.is_folder(k)) for i, t in enumerate(self._tiers))

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Read ``src`` from the first tier that has it, write ``dst`` to the first tier."""
        info = self._check_file(src)
        meta = info.metadata if C.USER_METADATA in self.capabilities and info.metadata else None
        with self.open_read(src) as stream:
            return self.write(dst, stream, overwrite=overwrite, metadata=meta)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Copy, then delete ``src`` from every tier: never atomic (MOUNT-046)."""
        for i in self._holding(src):
            if C.DELETE not in self._tiers[i].capabilities:
                raise self._tiers[i].refuse(C.DELETE, "move", src, f"tier {i}", _NAME)
        self.copy(src, dst, overwrite=overwrite)
        self.delete(src)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        holding = [
            i for i, t in enumerate(self._tiers) if self._on(i, key, lambda b, k: b.is_folder(k))
        ]
        if not holding:
            raise NotFound("folder not found in any tier", path=key, backend=_NAME)
        if not recursive and next(iter(self.list(key)), None) is not None:
            raise DirectoryNotEmpty(
                "folder is not empty",
                path=key,
                backend=_NAME,
                hint="pass recursive=True to delete it with its content",
            )
        for i in holding:
            if C.DELETE not in self._tiers[i].capabilities:
                raise self._tiers[i].refuse(C.DELETE, "remove_folder", key, f"tier {i}", _NAME)
        for i in holding:
            try:
                self._on(i, key, lambda b, k: b.remove_folder(k, recursive=recursive))
            except NotFound:
                pass

    def ping(self) -> None:
        for i in range(len(self._tiers)):
            self._on(i, "", lambda b, k: b.ping())

    def native_path(self, key: str) -> str:
        top = self._tiers[0]
        return top.backend.native_path(top.key(key))

    def close(self) -> None:
        """Close the backends this backend built itself (inline tables)."""
        for tier in self._tiers:
            if tier.owned:
                tier.backend.close()

    def describe(self) -> Mapping[str, object]:
        return {"tiers": [t.label for t in self._tiers], "promote": self.promote}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self._tiers, self.promote))


def _rebuild(tiers: tuple[Target, ...], promote: bool) -> TiersBackend:
    return TiersBackend(tiers, promote=promote)
