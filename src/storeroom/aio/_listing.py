"""``AsyncListing``: ``async for`` over a Store listing, pulled in chunks by worker threads."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from itertools import islice
from types import TracebackType
from typing import Generic, TypeVar

from storeroom.aio._executor import run

__all__ = ["DEFAULT_CHUNK", "AsyncListing"]

T = TypeVar("T")

#: Entries fetched per worker-thread hop.
DEFAULT_CHUNK = 512


class AsyncListing(Generic[T]):
    """An async iterator over a blocking Store listing (spec ASYNC-020..023).

    Entries are pulled ``chunk_size`` at a time in a worker thread, so memory
    stays bounded however long the listing is. A pull whose awaiting task is
    cancelled completes and its entries are kept for the next ``__anext__``:
    none is skipped. ``aclose()`` (or ``async with``) closes the listing early.
    """

    def __init__(
        self, source: Iterator[T], executor: Executor | None = None, chunk_size: int = DEFAULT_CHUNK
    ) -> None:
        self._source: Iterator[T] | None = source
        self._executor = executor
        self._chunk = max(1, chunk_size)
        self._buffer: deque[T] = deque()
        self._pending: asyncio.Future[list[T]] | None = None
        self._lock: asyncio.Lock | None = None

    def _pull(self) -> list[T]:
        source = self._source
        if source is None:
            return []
        return list(islice(source, self._chunk))

    def __aiter__(self) -> AsyncListing[T]:
        return self

    async def __anext__(self) -> T:
        if self._buffer:
            return self._buffer.popleft()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if not self._buffer and self._source is not None:
                if self._pending is None:
                    self._pending = asyncio.ensure_future(run(self._executor, self._pull))
                try:
                    chunk = await asyncio.shield(self._pending)
                except asyncio.CancelledError:
                    raise
                except BaseException:
                    self._pending = None
                    self._source = None
                    raise
                self._pending = None
                if len(chunk) < self._chunk:
                    self._source = None  # exhausted; the generator has finished
                self._buffer.extend(chunk)
        if self._buffer:
            return self._buffer.popleft()
        raise StopAsyncIteration

    async def to_list(self) -> list[T]:
        """Every remaining entry (loads the whole listing into memory)."""
        return [entry async for entry in self]

    async def aclose(self) -> None:
        """Stop early: waits for a pull in flight, then closes the blocking iterator."""
        if self._pending is not None:
            try:
                await asyncio.shield(self._pending)
            except Exception:
                pass
            self._pending = None
        source, self._source = self._source, None
        self._buffer.clear()
        close = getattr(source, "close", None)
        if close is not None:
            await run(self._executor, close)

    async def __aenter__(self) -> AsyncListing[T]:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
