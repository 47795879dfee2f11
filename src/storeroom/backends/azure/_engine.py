"""The data path of the ``azure`` backend: the one place that picks the engine per call.

``engine = "sdk"`` (the default) serves every call through azure-storage-blob
(``_flat_read``, ``_flat_write``). ``engine = "obstore"`` serves reads and
writes through obstore (``_obstore_engine``) on flat-namespace accounts, except
what obstore cannot do: create-only streamed writes (obstore's create mode is
one Put Blob) stay on the SDK's staged blocks with a conditional commit
(spec AZURE-083). A forked child of a process that had imported obstore uses
the SDK for everything (AZURE-086).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom.backend import Source
from storeroom.backends.azure import _flat_write
from storeroom.backends.azure._blob import read_block
from storeroom.backends.azure._core import AzureCore
from storeroom.backends.azure.errors import BACKEND
from storeroom.errors import AlreadyExists, ConfigError
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from storeroom.backends.azure._obstore_engine import AzureObstoreEngine

__all__ = ["DataPath"]
#: Content up to this size is one Put Blob under the obstore engine.
_SINGLE_PUT = 64 * 1024 * 1024


def _obstore(core: AzureCore) -> AzureObstoreEngine:
    from storeroom.backends.azure._obstore_conn import OBSTORE_PIP

    if importlib.util.find_spec("obstore") is None:
        raise ConfigError(
            f"engine: the 'obstore' engine needs obstore, which is not installed; "
            f"install it with: {OBSTORE_PIP}",
            key="engine",
            backend=BACKEND,
            hint=OBSTORE_PIP,
        )
    from storeroom.backends.azure._obstore_engine import AzureObstoreEngine

    return AzureObstoreEngine(core)


def _chunks(pending: list[bytes], src: BinaryIO, size: int) -> Iterator[bytes]:
    """``pending``, then blocks of ``size`` bytes of ``src`` until it ends."""
    yield from pending
    pending.clear()
    while chunk := read_block(src.read, size):
        yield chunk


class DataPath:
    """Writes of one flat-namespace backend, routed to its engine; the engine itself."""

    __slots__ = ("_obs", "core")

    def __init__(self, core: AzureCore, hns: bool) -> None:
        self.core = core
        wanted = core.options.engine == "obstore" and not hns
        self._obs: AzureObstoreEngine | None = _obstore(core) if wanted else None

    @property
    def obs(self) -> AzureObstoreEngine | None:
        """The obstore engine, or ``None`` (SDK engine, HNS account, or a forked child)."""
        if self._obs is None:
            return None
        from storeroom.backends._obstore_common import usable

        return self._obs if usable() else None

    def close(self) -> None:
        """Drop the obstore store; rebuilt on next use."""
        if self._obs is not None:
            self._obs.close()

    def write(self, key: str, src: Source, overwrite: bool, meta: Any) -> WriteResult:
        """One Put Blob for content under two blocks, else blocks and one commit."""
        obs = self.obs
        if obs is None:
            return _flat_write.write(self.core, key, src, overwrite, meta)
        size = self.core.options.block_size
        if isinstance(src, bytes | bytearray | memoryview):
            if len(src) <= max(size, _SINGLE_PUT):
                return self._put(obs, key, bytes(src), overwrite, meta)
            src = io.BytesIO(src)
        first = read_block(src.read, size)
        if len(first) < size:
            return self._put(obs, key, first, overwrite, meta)
        second = read_block(src.read, size)
        if not second:
            return self._put(obs, key, first, overwrite, meta)
        if not overwrite:  # obstore's create mode is one Put Blob (AZURE-083)
            return _flat_write.staged(self.core, key, src, [first, second], False, meta)
        chunks = _chunks([first, second], src, size)
        return obs.put(key, chunks, None, "overwrite", meta, part_size=size)

    def _put(
        self, obs: AzureObstoreEngine, key: str, data: bytes, overwrite: bool, meta: Any
    ) -> WriteResult:
        try:
            return obs.put(key, data, len(data), "overwrite" if overwrite else "create", meta)
        except AlreadyExists:
            if overwrite or obs.head(key, "write") is not None:
                raise
            # Azurite: an abandoned write's uncommitted blocks refuse a create (AZURE-011).
            return _flat_write.after_abandoned(self.core, key, data, meta)

    def write_if_match(
        self, key: str, data: bytes, etag: str, meta: Mapping[str, str] | None
    ) -> WriteResult | None:
        """Through obstore's update mode; ``None`` when the SDK must do it."""
        obs = self.obs
        return None if obs is None else obs.write_if_match(key, data, etag, meta)
