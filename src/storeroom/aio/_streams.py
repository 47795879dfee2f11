"""Async wrappers over the Store's blocking streams, and async write sources.

``AsyncReader`` wraps a binary reader (``Store.read``/``read_seekable``):
each ``await reader.read(n)`` runs one blocking read in a worker thread.
A read whose awaiting task is cancelled still completes in its thread; its
bytes are kept and returned by the next read, so no byte is ever lost or
duplicated (spec ASYNC-031). ``AsyncWriter`` wraps a writable binary stream
the same way. ``bridge_source`` lets ``AsyncStore.write`` take an async
iterable of bytes or an object with an async ``read``.
"""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import AsyncIterator, Awaitable, Iterator
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from types import TracebackType
from typing import Any, BinaryIO

from storeroom.aio._executor import run

__all__ = ["CHUNK", "AsyncReader", "AsyncWriter", "bridge_source"]

#: Chunk size of ``async for chunk in reader``.
CHUNK = 1024 * 1024


class AsyncReader:
    """A binary reader whose blocking calls run in worker threads.

    ``async with await astore.read(path) as reader: data = await reader.read()``;
    ``async for chunk in reader`` yields chunks of up to 1 MiB. Calls on one
    reader are serialised; ``raw`` is the underlying blocking stream.
    """

    def __init__(self, stream: BinaryIO, executor: Executor | None = None) -> None:
        self._raw = stream
        self._executor = executor
        self._lock = asyncio.Lock()
        self._leftover = b""
        self._pending: asyncio.Future[bytes] | None = None

    @property
    def raw(self) -> BinaryIO:
        return self._raw

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def seekable(self) -> bool:
        return bool(self._raw.seekable())

    def readable(self) -> bool:
        return True

    async def _settle(self) -> None:
        """Collect the bytes of a read whose awaiting task was cancelled."""
        if self._pending is not None:
            data = await asyncio.shield(self._pending)
            self._pending = None
            self._leftover += data

    async def _read_raw(self, size: int) -> bytes:
        read = self._raw.read
        self._pending = asyncio.ensure_future(run(self._executor, read, size))
        data = await asyncio.shield(self._pending)
        self._pending = None
        return data

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all remaining for ``-1``); ``b""`` at the end."""
        async with self._lock:
            await self._settle()
            if self._leftover:
                if size is None or size < 0:
                    rest = await self._read_raw(-1)
                    data, self._leftover = self._leftover + rest, b""
                    return data
                data, self._leftover = self._leftover[:size], self._leftover[size:]
                return data
            return await self._read_raw(-1 if size is None else size)

    async def readinto(self, buffer: Any) -> int:
        """Read into a writable buffer; returns the number of bytes stored."""
        view = memoryview(buffer).cast("B")
        data = await self.read(len(view))
        view[: len(data)] = data
        return len(data)

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        async with self._lock:
            await self._settle()
            if whence == io.SEEK_CUR and self._leftover:
                offset -= len(self._leftover)
            self._leftover = b""
            return int(await run(self._executor, self._raw.seek, offset, whence))

    async def tell(self) -> int:
        async with self._lock:
            await self._settle()
            return int(await run(self._executor, self._raw.tell)) - len(self._leftover)

    async def close(self) -> None:
        async with self._lock:
            if self._pending is not None:
                await asyncio.shield(self._pending)
                self._pending = None
            self._leftover = b""
            await run(self._executor, self._raw.close)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.iter_chunks()

    async def iter_chunks(self, size: int = CHUNK) -> AsyncIterator[bytes]:
        """Yield the rest of the stream in chunks of up to ``size`` bytes."""
        while True:
            chunk = await self.read(size)
            if not chunk:
                return
            yield chunk

    async def __aenter__(self) -> AsyncReader:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncReader({self._raw!r})"


class AsyncWriter:
    """A writable binary stream whose blocking calls run in worker threads.

    A write whose awaiting task is cancelled still completes in its thread.
    """

    def __init__(self, stream: BinaryIO, executor: Executor | None = None) -> None:
        self._raw = stream
        self._executor = executor
        self._lock = asyncio.Lock()

    @property
    def raw(self) -> BinaryIO:
        return self._raw

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def writable(self) -> bool:
        return True

    async def write(self, data: bytes | bytearray | memoryview) -> int:
        async with self._lock:
            return int(await run(self._executor, self._raw.write, data))

    async def flush(self) -> None:
        async with self._lock:
            await run(self._executor, self._raw.flush)

    async def close(self) -> None:
        async with self._lock:
            await run(self._executor, self._raw.close)

    async def __aenter__(self) -> AsyncWriter:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncWriter({self._raw!r})"


class WriteCancelled(Exception):
    """Raised inside the worker when the task awaiting a streaming write was cancelled."""


class _Bridge:
    """A blocking view of an async source, read from a worker thread.

    Each pull schedules one coroutine on the caller's loop and waits for it;
    ``abort()`` (called when the awaiting task is cancelled) makes the next or
    current pull raise, so the write fails and an atomic write leaves nothing.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, pull: Any, chunked: bool) -> None:
        self._loop = loop
        self._pull = pull
        self._chunked = chunked
        self._aborted = False

    def abort(self) -> None:
        self._aborted = True

    def _wait(self, aw: Awaitable[Any]) -> Any:
        fut = asyncio.run_coroutine_threadsafe(_as_coro(aw), self._loop)
        while True:
            if self._aborted or self._loop.is_closed():
                fut.cancel()
                raise WriteCancelled("the async write was cancelled")
            try:
                return fut.result(timeout=0.05)
            except FutureTimeout:
                continue

    # Iterable of chunks (async iterator source).
    def __iter__(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._wait(self._pull())
            except StopAsyncIteration:
                return
            yield chunk

    # File-like (async read source).
    def read(self, size: int = -1) -> bytes:
        data = self._wait(self._pull(size))
        return bytes(data)


async def _as_coro(aw: Awaitable[Any]) -> Any:
    return await aw


def bridge_source(content: object) -> tuple[object, _Bridge | None]:
    """``content`` made usable by the blocking Store, plus the bridge to abort (if any).

    An ``AsyncReader`` with nothing buffered is replaced by its blocking stream.
    """
    if isinstance(content, AsyncReader) and not content._leftover and content._pending is None:
        return content.raw, None
    loop = asyncio.get_running_loop()
    if hasattr(content, "__aiter__"):
        it = content.__aiter__()
        bridge = _Bridge(loop, it.__anext__, chunked=True)
        return iter(bridge), bridge
    read = getattr(content, "read", None)
    if read is not None and inspect.iscoroutinefunction(read):
        bridge = _Bridge(loop, read, chunked=False)
        return bridge, bridge
    return content, None
