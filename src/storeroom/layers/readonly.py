"""``ReadOnlyLayer``: the backend minus every capability that changes data.

The Store checks capabilities before any I/O, so a write, delete, move,
copy or atomic write through a read-only stack raises
``CapabilityNotSupported`` without touching the backend. The write
primitives refuse too, for callers that use the backend directly
(spec LAYER-050..052).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import NoReturn

from storeroom.backend import Backend, Source, unsupported
from storeroom.capabilities import Capability
from storeroom.errors import StoreroomError
from storeroom.layers._base import Layer, LayerOptions
from storeroom.models import WriteResult

__all__ = ["WRITE_CAPABILITIES", "ReadOnlyLayer"]

C = Capability

#: What a read-only stack no longer offers.
WRITE_CAPABILITIES: frozenset[Capability] = frozenset(
    {
        C.WRITE,
        C.DELETE,
        C.MOVE,
        C.COPY,
        C.ATOMIC_WRITE,
        C.ATOMIC_MOVE,
        C.USER_METADATA,
        C.WRITE_RESULT_NATIVE,
    }
)


@dataclasses.dataclass(frozen=True)
class ReadOnlyOptions(LayerOptions):
    layer_type = "readonly"


class ReadOnlyLayer(Layer):
    """Narrows capabilities to reading; every write primitive raises ``CapabilityNotSupported``."""

    Options = ReadOnlyOptions

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.options = ReadOnlyOptions()
        self.capabilities = inner.capabilities - WRITE_CAPABILITIES

    def _refuse(self, cap: Capability, op: str, key: str) -> NoReturn:
        raise unsupported(cap, self.type_name, op).with_context(path=key)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._refuse(C.WRITE, "write", key)

    def delete(self, key: str) -> None:
        self._refuse(C.DELETE, "delete", key)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        self._refuse(C.DELETE, "delete_many", keys[0] if keys else "")

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        self._refuse(C.COPY, "copy", src)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._refuse(C.MOVE, "move", src)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._refuse(C.DELETE, "remove_folder", key)
