"""``AsyncBackend``: the backend contract as coroutines, for SDKs that are async (spec ASYNC-050).

Five required primitives, the async twins of ``Backend``'s: ``stat``,
``read`` (an async iterator of chunks, the twin of ``open_read``), ``write``,
``delete`` and ``list``. A subclass may also define any of the optional
coroutines ``exists``, ``is_folder``, ``copy``, ``move``, ``remove_folder``,
``delete_many``, ``ping`` and ``signed_url``; the ones it leaves out get ``Backend``'s generic
versions when it is used (``AsyncStore(backend)`` bridges it with
``AsyncBackendSyncAdapter``), so each generic lives in one place.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from typing import Any

from storeroom.backend import Entry
from storeroom.capabilities import Capability, CapabilitySet
from storeroom.models import WriteResult

__all__ = ["OPTIONAL", "AsyncBackend", "AsyncWritableContent"]

#: What an async write accepts: bytes, or an async iterator of byte chunks.
AsyncWritableContent = bytes | AsyncIterator[bytes]

#: Optional coroutines an AsyncBackend may define (else the sync generic is used).
OPTIONAL = (
    "exists",
    "is_folder",
    "copy",
    "move",
    "remove_folder",
    "delete_many",
    "ping",
    "signed_url",  # else CapabilityNotSupported (spec SIGN-007)
)


class AsyncBackend(abc.ABC):
    """Base class of async backends; keys are normalised store keys, as for ``Backend``."""

    type_name: str = "async-backend"
    real_folders: bool = False
    capabilities: frozenset[Capability] = frozenset()
    native_delete_many: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Class-level ``capabilities`` become a ``CapabilitySet`` (COMPAT-302)."""
        super().__init_subclass__(**kwargs)
        caps = cls.__dict__.get("capabilities")
        if isinstance(caps, frozenset) and not isinstance(caps, CapabilitySet):
            cls.capabilities = CapabilitySet(caps)

    @property
    def name(self) -> str:
        """The backend's name: its ``type_name`` (remote-store's ``AsyncBackend.name``)."""
        return self.type_name

    @abc.abstractmethod
    async def stat(self, key: str) -> Entry:
        """Entry for ``key``; ``NotFound`` when missing."""

    @abc.abstractmethod
    def read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Chunks of bytes ``[start, end)`` of a file (an async generator)."""

    @abc.abstractmethod
    async def write(
        self,
        key: str,
        src: AsyncWritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Write a whole file; same rules as ``Backend.write``."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Delete one file; ``NotFound`` when missing."""

    @abc.abstractmethod
    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> AsyncIterator[Entry]:
        """Entries under ``prefix``, as ``Backend.list`` (an async generator)."""

    def native_path(self, key: str) -> str:
        """The backend's own name for ``key``."""
        return key

    def describe(self) -> Mapping[str, object]:
        """Non-secret facts for ``resolve()`` and ``repr``."""
        return {}

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    async def __aenter__(self) -> AsyncBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        desc = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({desc})"

    def defines(self, name: str) -> bool:
        """Whether this class defines the optional coroutine ``name`` itself."""
        return callable(getattr(type(self), name, None))
