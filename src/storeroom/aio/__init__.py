"""asyncio access to storeroom: ``AsyncStore`` runs the one sync core in worker threads.

>>> import asyncio
>>> from storeroom import Store
>>> from storeroom.aio import AsyncStore
>>> from storeroom.backends import MemoryBackend
>>> async def main() -> bytes:
...     async with AsyncStore(Store(MemoryBackend())) as astore:
...         await astore.write("a.txt", b"hi")
...         return await astore.read_bytes("a.txt")
>>> asyncio.run(main())
b'hi'
"""

from __future__ import annotations

from storeroom.aio._executor import (
    DEFAULT_MAX_WORKERS,
    ENV_MAX_WORKERS,
    configure,
    default_executor,
    run,
)
from storeroom.aio._listing import AsyncListing
from storeroom.aio._streams import AsyncReader, AsyncWriter
from storeroom.aio.adapters import AsyncBackendSyncAdapter, SyncBackendAdapter
from storeroom.aio.backend import AsyncBackend, AsyncWritableContent
from storeroom.aio.backends import AsyncAzureBackend, AsyncMemoryBackend
from storeroom.aio.store import AsyncAtomicWrite, AsyncStore

__all__ = [
    "DEFAULT_MAX_WORKERS",
    "ENV_MAX_WORKERS",
    "AsyncAtomicWrite",
    "AsyncAzureBackend",
    "AsyncBackend",
    "AsyncBackendSyncAdapter",
    "AsyncListing",
    "AsyncMemoryBackend",
    "AsyncReader",
    "AsyncStore",
    "AsyncWritableContent",
    "AsyncWriter",
    "SyncBackendAdapter",
    "configure",
    "default_executor",
    "run",
]
