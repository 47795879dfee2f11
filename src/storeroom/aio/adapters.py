"""Bridges between the sync and async backend contracts (spec ASYNC-051..053).

``SyncBackendAdapter(backend)`` is an ``AsyncBackend`` running a sync
``Backend``'s primitives in worker threads (or inline, for in-memory
backends). ``AsyncBackendSyncAdapter(async_backend)`` is a ``Backend`` running
an ``AsyncBackend``'s coroutines on a private event loop in one daemon
thread, so blocking code (and the ``Store``) can use it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any, BinaryIO, TypeVar

from storeroom._sources import to_source
from storeroom.aio._executor import run
from storeroom.aio._streams import bridge_source
from storeroom.aio.backend import AsyncBackend, AsyncWritableContent
from storeroom.backend import Backend, Entry, Source
from storeroom.capabilities import Capability, CapabilitySet
from storeroom.errors import InvalidArgument, StoreroomError
from storeroom.models import WriteResult

__all__ = ["AsyncBackendSyncAdapter", "SyncBackendAdapter"]

T = TypeVar("T")
CHUNK = 1024 * 1024
_END = object()


class SyncBackendAdapter(AsyncBackend):
    """An ``AsyncBackend`` over a sync ``Backend``: each primitive runs in a worker thread.

    ``inline=True`` calls the backend directly on the event loop instead (only
    for backends that never block, such as memory).
    """

    def __init__(
        self, backend: Backend, *, executor: Executor | None = None, inline: bool = False
    ) -> None:
        if not isinstance(backend, Backend):
            raise InvalidArgument(
                f"SyncBackendAdapter needs a storeroom Backend, got {type(backend).__name__}",
                hint="pass e.g. LocalBackend(root=...) or MemoryBackend()",
            )
        self.backend = backend
        self.type_name = backend.type_name
        self.capabilities = CapabilitySet(backend.capabilities)
        self.real_folders = backend.real_folders
        self.native_delete_many = backend.native_delete_many
        self._executor = executor
        self._inline = inline

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._inline:
            return fn(*args, **kwargs)
        return await run(self._executor, fn, *args, **kwargs)

    async def stat(self, key: str) -> Entry:
        return await self._call(self.backend.stat, key)

    async def read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[bytes]:
        stream = await self._call(self.backend.open_read, key, start, end)
        try:
            while chunk := await self._call(stream.read, CHUNK):
                yield chunk
        finally:
            await self._call(stream.close)

    async def write(
        self,
        key: str,
        src: AsyncWritableContent,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        source: Source
        if isinstance(src, bytes | bytearray | memoryview):
            source = bytes(src)
        elif self._inline:  # nothing may block the loop: gather the chunks first
            source = b"".join([bytes(chunk) async for chunk in src])
        else:
            chunks, _bridge = bridge_source(src)
            source = to_source(chunks)
        return await self._call(
            self.backend.write, key, source, overwrite=overwrite, metadata=metadata, atomic=atomic
        )

    async def delete(self, key: str) -> None:
        await self._call(self.backend.delete, key)

    async def write_if_match(
        self,
        key: str,
        src: AsyncWritableContent,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """The sync backend's conditional write (spec COND-031); the content is gathered first."""
        data = src if isinstance(src, bytes) else b"".join([bytes(c) async for c in src])
        return await self._call(
            self.backend.write_if_match, key, data, etag, metadata=metadata, atomic=atomic
        )

    async def delete_if_match(self, key: str, etag: str) -> None:
        await self._call(self.backend.delete_if_match, key, etag)

    async def list(
        self, prefix: str, *, recursive: bool = False, base: str = ""
    ) -> AsyncIterator[Entry]:
        entries = self.backend.list(prefix, recursive=recursive, base=base)
        try:
            while (entry := await self._call(next, entries, _END)) is not _END:
                yield entry
        finally:
            close = getattr(entries, "close", None)
            if close is not None:
                await self._call(close)

    async def exists(self, key: str) -> bool:
        return await self._call(self.backend.exists, key)

    async def is_folder(self, key: str) -> bool:
        return await self._call(self.backend.is_folder, key)

    async def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        return await self._call(self.backend.copy, src, dst, overwrite=overwrite)

    async def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        await self._call(self.backend.move, src, dst, overwrite=overwrite)

    async def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        await self._call(self.backend.remove_folder, key, recursive=recursive)

    async def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        return await self._call(self.backend.delete_many, keys)

    async def ping(self) -> None:
        await self._call(self.backend.ping)

    async def signed_url(self, key: str, expires: int, method: str) -> str:
        return await self._call(self.backend.signed_url, key, expires, method)

    def native_path(self, key: str) -> str:
        return self.backend.native_path(key)

    def describe(self) -> Mapping[str, object]:
        return self.backend.describe()

    async def aclose(self) -> None:
        await self._call(self.backend.close)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.backend!r})"


class AsyncBackendSyncAdapter(Backend):
    """A ``Backend`` over an ``AsyncBackend``: its coroutines run on a private loop thread.

    Calls block the calling thread until the coroutine finishes. ``close()``
    closes the async backend and stops the loop; a later call starts a new one.
    """

    def __init__(self, async_backend: AsyncBackend) -> None:
        if not isinstance(async_backend, AsyncBackend):
            raise InvalidArgument(
                "AsyncBackendSyncAdapter needs a storeroom.aio.AsyncBackend, "
                f"got {type(async_backend).__name__}",
                hint="a sync Backend needs no adapter: use it directly",
            )
        self.async_backend = async_backend
        self.type_name = async_backend.type_name
        # reads arrive as chunks: the stream handed to the Store cannot seek
        lost = {Capability.SEEKABLE_READ}
        if not async_backend.defines("write_if_match"):
            lost.add(Capability.CONDITIONAL_WRITE)  # nothing to forward it to
        self.capabilities = async_backend.capabilities - lost
        self.real_folders = async_backend.real_folders
        self.native_delete_many = async_backend.native_delete_many
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- the loop ---------------------------------------------------------------------

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="storeroom-async-backend", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def _submit(self, coro: Coroutine[Any, Any, T]) -> T:
        loop = self._running_loop()
        if threading.current_thread() is self._thread:
            coro.close()
            raise InvalidArgument(
                "AsyncBackendSyncAdapter was called from its own event loop (it would deadlock)",
                hint="inside async code, await the AsyncBackend (or an AsyncStore) directly",
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _pull(self, agen: AsyncIterator[T]) -> Iterator[T]:
        try:
            while True:
                try:
                    yield self._submit(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and self._loop is not None:
                self._submit(aclose())

    # -- required primitives ------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        return self._submit(self.async_backend.stat(key))

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        chunks = self._pull(self.async_backend.read(key, start, end))
        first = next(chunks, b"")  # a missing file fails here, at open, as the contract says
        return io.BufferedReader(_ChunkStream(first, chunks))

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        content: AsyncWritableContent = src if isinstance(src, bytes) else _chunks_of(src)
        return self._submit(
            self.async_backend.write(
                key, content, overwrite=overwrite, metadata=metadata, atomic=atomic
            )
        )

    def delete(self, key: str) -> None:
        self._submit(self.async_backend.delete(key))

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        if not self.async_backend.defines("write_if_match"):
            return super().write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
        content: AsyncWritableContent = src if isinstance(src, bytes) else _chunks_of(src)
        coro = self.async_backend.write_if_match(  # type: ignore[attr-defined]
            key, content, etag, metadata=metadata, atomic=atomic
        )
        result: WriteResult = self._submit(coro)
        return result

    def delete_if_match(self, key: str, etag: str) -> None:
        if not self.async_backend.defines("delete_if_match"):
            super().delete_if_match(key, etag)
            return
        self._submit(self.async_backend.delete_if_match(key, etag))  # type: ignore[attr-defined]

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        return self._pull(self.async_backend.list(prefix, recursive=recursive, base=base))

    # -- optional primitives: the async backend's own, else Backend's generic ones --------

    def exists(self, key: str) -> bool:
        if self.async_backend.defines("exists"):
            return bool(self._submit(self.async_backend.exists(key)))  # type: ignore[attr-defined]
        return super().exists(key)

    def is_folder(self, key: str) -> bool:
        if self.async_backend.defines("is_folder"):
            return bool(self._submit(self.async_backend.is_folder(key)))  # type: ignore[attr-defined]
        return super().is_folder(key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        if self.async_backend.defines("copy"):
            coro = self.async_backend.copy(src, dst, overwrite=overwrite)  # type: ignore[attr-defined]
            result: WriteResult = self._submit(coro)
            return result
        return super().copy(src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        if self.async_backend.defines("move"):
            self._submit(self.async_backend.move(src, dst, overwrite=overwrite))  # type: ignore[attr-defined]
            return
        super().move(src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        if self.async_backend.defines("remove_folder"):
            self._submit(self.async_backend.remove_folder(key, recursive=recursive))  # type: ignore[attr-defined]
            return
        super().remove_folder(key, recursive=recursive)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        if self.async_backend.defines("delete_many"):
            found: dict[str, StoreroomError | None] = self._submit(
                self.async_backend.delete_many(keys)  # type: ignore[attr-defined]
            )
            return found
        return super().delete_many(keys)

    def ping(self) -> None:
        if self.async_backend.defines("ping"):
            self._submit(self.async_backend.ping())  # type: ignore[attr-defined]
            return
        super().ping()

    def signed_url(self, key: str, expires: int, method: str) -> str:
        if self.async_backend.defines("signed_url"):
            coro = self.async_backend.signed_url(key, expires, method)  # type: ignore[attr-defined]
            url: str = self._submit(coro)
            return url
        return super().signed_url(key, expires, method)

    def native_path(self, key: str) -> str:
        return self.async_backend.native_path(key)

    def describe(self) -> Mapping[str, object]:
        return self.async_backend.describe()

    def close(self) -> None:
        """Close the async backend, then stop the loop thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.async_backend.aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    def __repr__(self) -> str:
        return f"AsyncBackendSyncAdapter({self.async_backend!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # as configuration: the async backend pickles itself; the loop thread stays behind
        return (AsyncBackendSyncAdapter, (self.async_backend,))


async def _chunks_of(src: BinaryIO) -> AsyncIterator[bytes]:
    """A sync stream as async chunks, read in a worker thread (never blocking the loop)."""
    while chunk := await asyncio.to_thread(src.read, CHUNK):
        yield chunk


class _ChunkStream(io.RawIOBase):
    """A raw stream over chunks pulled from the async backend."""

    def __init__(self, first: bytes, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._buf = first
        self._chunks = chunks

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._buf = nxt
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                close()
        super().close()
