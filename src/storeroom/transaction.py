"""``Transaction``: changes to one store, published together or not at all.

``with store.transaction() as tx:`` stages ``tx.write``/``write_atomic``/
``delete``/``move``; readers of the store see none of them until the block
exits normally, when they are published together; an exception inside the
block discards them all (spec TXN-*). What a concurrent reader sees *during*
the publish depends on the backend (docs/transactions.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from storeroom._sources import to_source
from storeroom._store_support import check_metadata
from storeroom.backend import unsupported
from storeroom.capabilities import Capability
from storeroom.errors import NotFound

if TYPE_CHECKING:
    from storeroom._store_core import StoreCore
    from storeroom._txn_core import BackendTransaction

__all__ = ["Transaction"]


class Transaction:
    """Pending changes to one store (paths relative to it); a context manager.

    Reads through the transaction (``read_bytes``, ``exists``) see its own
    pending changes; everyone else sees them only after a clean exit.
    """

    __slots__ = ("_core", "_tx")

    def __init__(self, core: StoreCore) -> None:
        if not core._has(Capability.TRANSACTION):
            from storeroom.layers.readonly import refusal  # names a read-only layer as the cause

            cap = Capability.TRANSACTION
            raise refusal(core._backend, cap, "transaction", path=None, store=core._name)
        self._core = core
        try:
            self._tx: BackendTransaction = core._backend.begin_transaction()
        except Exception as exc:
            raise core._fail(exc, "transaction", core._prefix) from None

    def _run(self, op: str, key: str, fn: object, *args: object, **kw: object) -> object:
        try:
            return fn(*args, **kw)  # type: ignore[operator]
        except Exception as exc:
            err = self._core._fail(exc, op, key)
            if err is exc:
                raise
            raise err from exc

    def write(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Stage a write of ``path`` (bytes, str-free binary stream or iterable of bytes)."""
        core = self._core
        key = core._file_key(path)
        if metadata:
            check_metadata(metadata, core._rel(key))
            if not core._has(Capability.USER_METADATA):
                raise unsupported(Capability.USER_METADATA, core._type, "write").with_context(
                    path=core._rel(key), store=core._name
                )
        src = to_source(content)
        self._run("write", key, self._tx.write, key, src, overwrite=overwrite, metadata=metadata)

    def write_atomic(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Same as ``write``: every file a transaction publishes appears whole."""
        self.write(path, content, overwrite=overwrite, metadata=metadata)

    def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Stage a delete of one file; missing: ``NotFound`` unless ``missing_ok``."""
        key = self._core._file_key(path)
        try:
            self._run("delete", key, self._tx.delete, key)
        except NotFound:
            if not missing_ok:
                raise

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Stage a move of a file (published as part of the whole transaction)."""
        skey, dkey = self._core._file_key(src), self._core._file_key(dst)
        self._run("move", skey, self._tx.move, skey, dkey, overwrite=overwrite)

    def read_bytes(self, path: str) -> bytes:
        """Content of ``path`` as this transaction sees it (its pending changes included)."""
        key = self._core._file_key(path)
        data = self._run("read_bytes", key, self._tx.read_bytes, key)
        assert isinstance(data, bytes)
        return data

    def exists(self, path: str) -> bool:
        """True when this transaction sees a file (or folder) at ``path``."""
        key = self._core._file_key(path)
        return bool(self._run("exists", key, self._tx.exists, key))

    def commit(self) -> None:
        """Publish every pending change together (the ``with`` block does this on exit)."""
        self._run("transaction", self._core._prefix, self._tx.commit)

    def rollback(self) -> None:
        """Discard every pending change (the ``with`` block does this on an exception)."""
        self._run("transaction", self._core._prefix, self._tx.rollback)

    @property
    def closed(self) -> bool:
        """True once committed or rolled back."""
        return self._tx.closed

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Transaction(store={self._core._name!r}, {state})"
