"""``AsyncStore``: the Store API as coroutines, run on the one sync core in worker threads.

The surface is derived from ``Store`` itself: each attribute below is one
wrapper factory applied to the ``Store`` method of the same name, so the
signatures (and mypy's view of them) come from ``Store`` and cannot drift.
Kinds (spec ASYNC-001..005):

- ``_call``: a coroutine running the blocking method in a worker thread;
- ``_write``: the same, also accepting async content (async iterable of
  bytes, or an object with an async ``read``);
- ``_stream``: a coroutine returning an ``AsyncReader``;
- ``_listing``: a plain method returning an ``AsyncListing`` for ``async for``;
- ``_plain``: no I/O, so a plain method, exactly as on ``Store``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from concurrent.futures import Executor
from types import TracebackType
from typing import Any, BinaryIO, Concatenate, ParamSpec, TypeVar

from storeroom.aio._executor import run
from storeroom.aio._listing import AsyncListing
from storeroom.aio._streams import AsyncReader, AsyncWriter, bridge_source
from storeroom.aio._transaction import AsyncTransaction
from storeroom.aio.adapters import AsyncBackendSyncAdapter, SyncBackendAdapter
from storeroom.aio.backend import AsyncBackend
from storeroom.backend import Backend
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument
from storeroom.store import Store

__all__ = ["AsyncAtomicWrite", "AsyncStore", "PendingRead"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

#: Attribute set on every generated wrapper: its kind (see the module docstring).
KIND_ATTR = "__storeroom_aio_kind__"

_Method = Callable[Concatenate[Store, P], R]


def _mark(wrapper: Any, method: Callable[..., Any], kind: str) -> None:
    functools.update_wrapper(wrapper, method)
    wrapper.__qualname__ = f"AsyncStore.{method.__name__}"
    setattr(wrapper, KIND_ATTR, kind)


def _call(method: _Method[P, R]) -> Callable[Concatenate[AsyncStore, P], Coroutine[Any, Any, R]]:
    async def wrapper(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await run(self._executor, method, self._store, *args, **kwargs)

    _mark(wrapper, method, "call")
    return wrapper


def _write(method: _Method[P, R]) -> Callable[Concatenate[AsyncStore, P], Coroutine[Any, Any, R]]:
    async def wrapper(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # content is the second positional argument or the ``content`` keyword.
        bridge = None
        if len(args) >= 2:
            content, bridge = bridge_source(args[1])
            args = (args[0], content, *args[2:])  # type: ignore[assignment]
        elif "content" in kwargs:
            kwargs["content"], bridge = bridge_source(kwargs["content"])
        try:
            return await run(self._executor, method, self._store, *args, **kwargs)
        except asyncio.CancelledError:
            if bridge is not None:
                bridge.abort()  # the worker's next pull fails: the write is abandoned
            raise

    _mark(wrapper, method, "write")
    return wrapper


def _stream(
    method: _Method[P, BinaryIO],
) -> Callable[Concatenate[AsyncStore, P], PendingRead]:
    def wrapper(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> PendingRead:
        path = args[0] if args else kwargs.get("path")
        if path is not None:  # a bad path fails at the call, as the Store's (COMPAT-305)
            self._store._file_key(path)

        async def open_reader() -> AsyncReader:
            stream = await run(self._executor, method, self._store, *args, **kwargs)
            return AsyncReader(stream, self._executor)

        return PendingRead(open_reader)

    _mark(wrapper, method, "stream")
    return wrapper


class PendingRead:
    """What ``read``/``read_seekable`` return: ``await`` it for an ``AsyncReader``,
    or ``async for chunk in astore.read(path)`` to stream the chunks (ASYNC-009)."""

    __slots__ = ("_open",)

    def __init__(self, open_reader: Callable[[], Coroutine[Any, Any, AsyncReader]]) -> None:
        self._open = open_reader

    def __await__(self) -> Generator[Any, None, AsyncReader]:
        return self._open().__await__()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        reader = await self._open()
        async with reader:
            async for chunk in reader:
                yield chunk


def _listing(
    method: _Method[P, Iterator[T]],
) -> Callable[Concatenate[AsyncStore, P], AsyncListing[T]]:
    def wrapper(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> AsyncListing[T]:
        # Building the iterator does no I/O (gate and path checks only), so
        # errors are raised here, exactly as by the Store; entries are pulled
        # in worker threads.
        return AsyncListing(method(self._store, *args, **kwargs), self._executor)

    _mark(wrapper, method, "listing")
    return wrapper


def _plain(method: _Method[P, R]) -> Callable[Concatenate[AsyncStore, P], R]:
    def wrapper(self: AsyncStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return method(self._store, *args, **kwargs)

    _mark(wrapper, method, "plain")
    return wrapper


class AsyncAtomicWrite:
    """``async with astore.open_atomic(path) as w: await w.write(...)``.

    Committed (one atomic write) on clean exit, discarded on an exception,
    including cancellation inside the block. A commit already running when
    the task is cancelled completes: the file is written whole or not at all.
    """

    def __init__(self, astore: AsyncStore, path: str, overwrite: bool) -> None:
        self._astore = astore
        self._cm = astore._store.open_atomic(path, overwrite=overwrite)
        self._writer: AsyncWriter | None = None

    async def __aenter__(self) -> AsyncWriter:
        spool = await run(self._astore._executor, self._cm.__enter__)
        self._writer = AsyncWriter(spool, self._astore._executor)
        return self._writer

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await run(self._astore._executor, self._cm.__exit__, et, ev, tb)


def _as_store(target: object, root_path: str | None) -> Store:
    """The Store an ``AsyncStore`` runs on: the given one, or one over a (sync or async) backend."""
    if isinstance(target, Store):
        if root_path:
            raise InvalidArgument(
                "AsyncStore(store, root_path=...): a Store already has its root",
                hint=f"use AsyncStore(store.child({root_path!r}))",
            )
        return target
    root = root_path or ""
    if isinstance(target, Backend):
        return Store(target, root)
    if isinstance(target, SyncBackendAdapter):  # a sync backend underneath: use it directly
        return Store(target.backend, root)
    if isinstance(target, AsyncBackend):
        return Store(AsyncBackendSyncAdapter(target), root)
    raise InvalidArgument(
        f"AsyncStore needs a Store, a Backend or an AsyncBackend, got {type(target).__name__}",
        hint="e.g. AsyncStore(registry.get_store(name)) or AsyncStore(MemoryBackend())",
    )


class AsyncStore:
    """The ``Store`` API for asyncio code: every I/O method is a coroutine.

    ``AsyncStore(store)``, ``AsyncStore(backend, root_path)`` (a sync or async
    backend, as in remote-store) or ``registry.get_async_store(name)``. Each call runs
    the blocking ``Store`` method in a worker thread (the shared pool, or
    ``executor=``) with the caller's contextvars, so every layer applies
    unchanged and errors are the same storeroom errors. Listings are
    ``async for`` iterables; ``read``/``read_seekable`` give an ``AsyncReader``;
    ``open_atomic`` is an ``async with`` block. Methods without I/O
    (``supports``, ``child``, ``resolve``, ...) stay plain methods.
    """

    __slots__ = ("_executor", "_store")

    def __init__(
        self,
        store: Store | Backend | AsyncBackend,
        root_path: str | None = None,
        *,
        executor: Executor | None = None,
    ) -> None:
        self._store = _as_store(store, root_path)
        self._executor = executor

    # -- identity -------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The blocking ``Store`` this one runs on."""
        return self._store

    @property
    def executor(self) -> Executor | None:
        """The executor given at construction (``None``: the shared pool)."""
        return self._executor

    @property
    def backend(self) -> Backend:
        return self._store.backend

    @property
    def root_path(self) -> str:
        return self._store.root_path

    @property
    def name(self) -> str | None:
        return self._store.name

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._store.capabilities

    def __repr__(self) -> str:
        return f"Async{self._store!r}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncStore) and other._store == self._store

    def __hash__(self) -> int:
        return hash(("aio", self._store))

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its Store (configuration); the executor stays behind.
        return (AsyncStore, (self._store,))

    async def __aenter__(self) -> AsyncStore:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def child(self, subpath: str) -> AsyncStore:
        """An AsyncStore rooted at ``subpath``, sharing the backend and executor."""
        return AsyncStore(self._store.child(subpath), executor=self._executor)

    def open_atomic(self, path: str, *, overwrite: bool = False) -> AsyncAtomicWrite:
        """``async with`` block yielding an ``AsyncWriter``; see ``Store.open_atomic``."""
        return AsyncAtomicWrite(self, path, overwrite)

    def transaction(self) -> AsyncTransaction:
        """``async with`` block of changes published together; see ``Store.transaction``."""
        return AsyncTransaction(self._store, self._executor)

    # -- the derived surface: one line per Store method -----------------------

    supports = _plain(Store.supports)
    resolve = _plain(Store.resolve)
    native_path = _plain(Store.native_path)
    to_key = _plain(Store.to_key)
    unwrap = _plain(Store.unwrap)
    mapper = _plain(Store.mapper)  # the synchronous mapping: its calls block

    read = _stream(Store.read)
    read_seekable = _stream(Store.read_seekable)
    read_bytes = _call(Store.read_bytes)
    read_text = _call(Store.read_text)
    read_range = _call(Store.read_range)

    write = _write(Store.write)
    write_atomic = _write(Store.write_atomic)
    write_text = _call(Store.write_text)

    delete = _call(Store.delete)
    delete_folder = _call(Store.delete_folder)

    list_files = _listing(Store.list_files)
    list_folders = _listing(Store.list_folders)
    iter_children = _listing(Store.iter_children)
    glob = _listing(Store.glob)

    move = _call(Store.move)
    copy = _call(Store.copy)

    exists = _call(Store.exists)
    is_file = _call(Store.is_file)
    is_folder = _call(Store.is_folder)
    get_file_info = _call(Store.get_file_info)
    head = _call(Store.head)
    get_folder_info = _call(Store.get_folder_info)
    ping = _call(Store.ping)
    url = _call(Store.url)  # a coroutine: signing may ask the service (Azure delegation key)
    close = _call(Store.close)
    aclose = _call(Store.close)  # remote-store's name


for _name, _kind in (("child", "child"), ("open_atomic", "atomic"), ("transaction", "txn")):
    setattr(getattr(AsyncStore, _name), KIND_ATTR, _kind)
del _name, _kind
