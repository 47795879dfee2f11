"""``ReadOnlyLayer``: the backend minus every capability that changes data.

The Store checks capabilities before any I/O, so a write, delete, move,
copy or atomic write through a read-only stack raises
``CapabilityNotSupported`` without touching the backend. The write
primitives refuse too, for callers that use the backend directly
(spec LAYER-050..053). Either way the error says the store is read-only
(``refusal``), not that the backend lacks the operation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from storeroom._txn_core import BackendTransaction
from storeroom.backend import Backend, Source, unsupported
from storeroom.capabilities import Capability
from storeroom.errors import CapabilityNotSupported, StoreroomError
from storeroom.layers._base import Layer, LayerOptions
from storeroom.models import WriteResult

__all__ = ["WRITE_CAPABILITIES", "ReadOnlyLayer", "refusal"]

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
        C.CONDITIONAL_WRITE,
        C.TRANSACTION,
    }
)


def _read_only_error(cap: Capability, backend: str, op: str) -> CapabilityNotSupported:
    return CapabilityNotSupported(
        f"the store is read-only (readonly layer): {op} is not allowed",
        capability=cap.value,
        backend=backend,
        operation=op,
        hint="write through a store configured without the readonly layer",
    )


def refusal(
    backend: Backend, cap: Capability, op: str, *, path: str | None, store: str | None
) -> CapabilityNotSupported:
    """The error for a Store call gated on ``cap`` that ``backend``'s stack lacks (LAYER-053).

    A read-only layer anywhere in the stack is named as the reason for a
    writing capability; otherwise it is the backend's ``unsupported`` error.
    """
    layer: Any = backend
    while layer is not None and cap in WRITE_CAPABILITIES:
        if isinstance(layer, ReadOnlyLayer):
            err = _read_only_error(cap, backend.type_name, op)
            break
        layer = getattr(layer, "inner", None)
    else:
        err = unsupported(cap, backend.type_name, op)
    err.with_context(path=path, store=store)
    return err


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
        raise _read_only_error(cap, self.type_name, op).with_context(path=key)

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

    def begin_transaction(self) -> BackendTransaction:
        self._refuse(C.TRANSACTION, "transaction", "")

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """GET URLs pass; a PUT URL would let its holder write, so it is refused (SIGN-030)."""
        if method.upper() != "GET":
            self._refuse(C.WRITE, "signed_url", key)
        return self.inner.signed_url(key, expires, method)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._refuse(C.WRITE, "write", key)

    def delete_if_match(self, key: str, etag: str) -> None:
        self._refuse(C.DELETE, "delete", key)
