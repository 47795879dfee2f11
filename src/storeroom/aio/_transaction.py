"""``async with astore.transaction() as tx``: the sync ``Transaction`` run in worker threads.

Each staging call, the begin and the commit or rollback run in the store's
executor; the block's exit publishes or discards exactly as the sync one (TXN-011).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from types import TracebackType
from typing import TYPE_CHECKING

from storeroom.aio._executor import run
from storeroom.aio._streams import bridge_source

if TYPE_CHECKING:
    from storeroom.store import Store
    from storeroom.transaction import Transaction

__all__ = ["AsyncTransaction"]


class AsyncTransaction:
    """The async face of ``Transaction``; use it only as ``async with``."""

    __slots__ = ("_executor", "_store", "_tx")

    def __init__(self, store: Store, executor: Executor | None) -> None:
        self._store = store
        self._executor = executor
        self._tx: Transaction | None = None

    def _sync(self) -> Transaction:
        if self._tx is None:
            from storeroom.errors import InvalidArgument

            raise InvalidArgument(
                "use the transaction as 'async with astore.transaction() as tx:'",
                hint="its changes are published when the block exits",
            )
        return self._tx

    async def write(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Stage a write; ``content`` may also be async (an async iterable or async ``read``)."""
        data, bridge = bridge_source(content)
        try:
            tx = self._sync()
            await run(self._executor, tx.write, path, data, overwrite=overwrite, metadata=metadata)
        except BaseException:
            if bridge is not None:
                bridge.abort()
            raise

    async def write_atomic(
        self,
        path: str,
        content: object,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Same as ``write`` (every file a transaction publishes appears whole)."""
        await self.write(path, content, overwrite=overwrite, metadata=metadata)

    async def delete(self, path: str, *, missing_ok: bool = False) -> None:
        """Stage a delete of one file."""
        await run(self._executor, self._sync().delete, path, missing_ok=missing_ok)

    async def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Stage a move of one file."""
        await run(self._executor, self._sync().move, src, dst, overwrite=overwrite)

    async def read_bytes(self, path: str) -> bytes:
        """Content as this transaction sees it."""
        return await run(self._executor, self._sync().read_bytes, path)

    async def exists(self, path: str) -> bool:
        """Whether this transaction sees a file at ``path``."""
        return await run(self._executor, self._sync().exists, path)

    async def __aenter__(self) -> AsyncTransaction:
        self._tx = await run(self._executor, self._store.transaction)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await run(self._executor, self._sync().__exit__, et, ev, tb)
