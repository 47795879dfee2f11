"""Async backends under remote-store's names (spec ASYNC-054).

``AsyncMemoryBackend`` is the memory backend run inline on the event loop;
``AsyncAzureBackend`` is the Azure backend run in worker threads (needs
``storeroom[azure]``). Both are ``SyncBackendAdapter``\\ s: one implementation
per backend, sync and async alike.
"""

from __future__ import annotations

from typing import Any

from storeroom.aio.adapters import SyncBackendAdapter

__all__ = ["AsyncAzureBackend", "AsyncMemoryBackend"]


class AsyncMemoryBackend(SyncBackendAdapter):
    """An in-memory ``AsyncBackend``; takes the memory backend's options."""

    def __init__(self, **options: Any) -> None:
        from storeroom.backends.memory import MemoryBackend

        super().__init__(MemoryBackend(**options), inline=True)


class AsyncAzureBackend(SyncBackendAdapter):
    """The Azure backend as an ``AsyncBackend``; takes ``AzureBackend``'s options."""

    def __init__(self, **options: Any) -> None:
        from storeroom.backends import AzureBackend

        super().__init__(AzureBackend(**options))
