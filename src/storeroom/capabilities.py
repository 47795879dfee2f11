"""Capabilities: what a backend really honours.

Gate capabilities decide whether a Store method may run at all (checked before
any I/O, spec CAP-001). Quality flags describe how an operation behaves
(``ATOMIC_MOVE``: a move is one atomic rename, not copy + delete).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from storeroom.errors import CapabilityNotSupported

__all__ = ["ALL_GATES", "Capability", "CapabilitySet", "capability_set"]


class Capability(enum.StrEnum):
    """One thing a backend can do. Values are lower-case names used in config and docs."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    LIST = "list"
    GLOB = "glob"
    MOVE = "move"
    COPY = "copy"
    ATOMIC_WRITE = "atomic_write"
    METADATA = "metadata"
    #: Gates ``if_match=`` on write/write_atomic/delete (not in ALL_GATES: declared only
    #: where the check and the change are one atomic step, spec COND-*).
    CONDITIONAL_WRITE = "conditional_write"
    # Quality flags: describe behaviour, gate nothing on their own.
    SEEKABLE_READ = "seekable_read"
    LAZY_READ = "lazy_read"
    ATOMIC_MOVE = "atomic_move"
    USER_METADATA = "user_metadata"
    WRITE_RESULT_NATIVE = "write_result_native"
    # Features: not in ALL_GATES (most backends lack them); the one Store method
    # that needs each checks it before any I/O.
    SIGNED_URL = "signed_url"  # store.url(): presigned / SAS URLs (spec SIGN-*)
    TRANSACTION = "transaction"  # store.transaction(): publish together (spec TXN-*)

    def __str__(self) -> str:
        return self.value


ALL_GATES: frozenset[Capability] = frozenset(
    {
        Capability.READ,
        Capability.WRITE,
        Capability.DELETE,
        Capability.LIST,
        Capability.GLOB,
        Capability.MOVE,
        Capability.COPY,
        Capability.ATOMIC_WRITE,
        Capability.METADATA,
    }
)


def capability_set(items: Iterable[Capability | str]) -> frozenset[Capability]:
    """Build a frozenset of capabilities from members or their names."""
    return frozenset(c if isinstance(c, Capability) else Capability(str(c).lower()) for c in items)


class CapabilitySet(frozenset[Capability]):
    """A frozenset of capabilities with ``supports``/``require`` (remote-store's, COMPAT-004)."""

    __slots__ = ()

    def __new__(cls, capabilities: Iterable[Capability | str] = ()) -> CapabilitySet:
        return super().__new__(cls, capability_set(capabilities))

    def supports(self, cap: Capability | str) -> bool:
        """Whether ``cap`` is in the set."""
        return Capability(cap) in self

    def require(self, cap: Capability | str, *, backend: str = "") -> None:
        """Raise ``CapabilityNotSupported`` naming the supported set when ``cap`` is missing."""
        if Capability(cap) in self:
            return
        wanted = Capability(cap).value
        raise CapabilityNotSupported(
            f"capability {wanted!r} is not supported; supported: {sorted(c.value for c in self)}",
            capability=wanted,
            backend=backend or None,
            hint="check store.supports(...) before calling, or pick a backend that offers it",
        )

    def __repr__(self) -> str:
        return f"CapabilitySet({{{', '.join(sorted(c.name for c in self))}}})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (CapabilitySet, (sorted(c.value for c in self),))
