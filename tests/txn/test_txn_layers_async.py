"""Transactions through layers and AsyncStore (spec TXN-010..012)."""

from __future__ import annotations

import asyncio

import pytest

from storeroom import Capability, Store
from storeroom.aio import AsyncStore
from storeroom.backends import MemoryBackend
from storeroom.errors import CapabilityNotSupported
from storeroom.layers.cache import CacheLayer
from storeroom.layers.readonly import ReadOnlyLayer
from storeroom.layers.retry import RetryLayer


# spec: TXN-012
def test_a_cache_layer_forgets_what_a_commit_changed() -> None:
    inner = MemoryBackend()
    store = Store(CacheLayer(inner))
    store.write("a.txt", b"old")
    assert store.read_bytes("a.txt") == b"old"  # now cached
    assert store.exists("b.txt") is False  # a cached miss
    with store.transaction() as tx:
        tx.write("a.txt", b"new", overwrite=True)
        tx.write("b.txt", b"b")
    assert store.read_bytes("a.txt") == b"new"
    assert store.exists("b.txt")


# spec: TXN-010
def test_layers_forward_and_read_only_refuses() -> None:
    store = Store(RetryLayer(MemoryBackend()))
    assert store.supports(Capability.TRANSACTION)
    with store.transaction() as tx:
        tx.write("x", b"1")
    assert store.read_bytes("x") == b"1"
    ro = Store(ReadOnlyLayer(MemoryBackend()))
    assert not ro.supports(Capability.TRANSACTION)
    with pytest.raises(CapabilityNotSupported, match="read-only"):
        ro.transaction()


# spec: TXN-011
def test_async_transaction_publishes_on_exit_and_rolls_back_on_error() -> None:
    async def main() -> None:
        astore = AsyncStore(MemoryBackend())

        async def chunks():  # type: ignore[no-untyped-def]
            yield b"as"
            yield b"ync"

        async with astore.transaction() as tx:
            await tx.write("a.txt", chunks())
            await tx.write_atomic("b.txt", b"b")
            assert await tx.read_bytes("a.txt") == b"async"
            assert not await astore.exists("a.txt")
        assert await astore.read_bytes("a.txt") == b"async"
        with pytest.raises(ValueError):
            async with astore.transaction() as tx:
                await tx.delete("a.txt")
                await tx.move("b.txt", "c.txt")
                raise ValueError("no")
        assert await astore.exists("a.txt") and await astore.exists("b.txt")
        assert not await astore.exists("c.txt")

    asyncio.run(main())
