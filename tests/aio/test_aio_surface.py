"""AsyncStore covers every public Store method, each with the right kind (spec ASYNC-001..005)."""

from __future__ import annotations

import asyncio
import inspect
import pickle

import pytest

from storeroom import Registry, Store
from storeroom.aio import AsyncListing, AsyncReader, AsyncStore
from storeroom.aio.store import KIND_ATTR
from storeroom.backends import MemoryBackend
from storeroom.errors import InvalidArgument

#: Store methods that do no I/O and therefore stay plain (synchronous) methods.
#: A new Store method is an I/O coroutine unless it is added here on purpose.
NO_IO = {"supports", "resolve", "native_path", "to_key", "unwrap", "child", "mapper"}
LISTINGS = {"list_files", "list_folders", "iter_children", "glob"}
STREAMS = {"read", "read_seekable"}


def public_store_names() -> list[str]:
    return sorted(n for n in dir(Store) if not n.startswith("_"))


def test_every_public_store_name_exists_on_async_store() -> None:
    """spec: ASYNC-001"""
    missing = [n for n in public_store_names() if not hasattr(AsyncStore, n)]
    assert missing == []


@pytest.mark.parametrize("name", public_store_names())
def test_kind_of_each_method(name: str) -> None:
    """spec: ASYNC-001, ASYNC-002"""
    sync_attr = inspect.getattr_static(Store, name)
    async_attr = inspect.getattr_static(AsyncStore, name)
    if isinstance(sync_attr, property):
        assert isinstance(async_attr, property)
        return
    kind = getattr(async_attr, KIND_ATTR, None)
    assert kind is not None, f"AsyncStore.{name} is not a generated or marked wrapper"
    if name in NO_IO:
        assert kind in {"plain", "child"}
        assert not inspect.iscoroutinefunction(async_attr)
    elif name in LISTINGS:
        assert kind == "listing"
    elif name == "open_atomic":
        assert kind == "atomic"
    elif name == "transaction":
        assert kind == "txn"  # an ``async with`` block (TXN-011)
    elif name in STREAMS:
        # a plain method returning a PendingRead: awaitable and async-iterable (ASYNC-009)
        assert kind == "stream" and not inspect.iscoroutinefunction(async_attr)
    else:
        assert kind in {"call", "write"}
        assert inspect.iscoroutinefunction(async_attr), name


def test_wrappers_keep_the_store_signature_and_docs() -> None:
    """spec: ASYNC-001"""
    assert inspect.signature(AsyncStore.write) == inspect.signature(Store.write)
    assert AsyncStore.read_bytes.__doc__ == Store.read_bytes.__doc__
    assert AsyncStore.read_bytes.__name__ == "read_bytes"


def test_non_store_argument_is_refused() -> None:
    """spec: ASYNC-001"""
    with pytest.raises(InvalidArgument, match="Store, a Backend or an AsyncBackend"):
        AsyncStore(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="already has its root"):
        AsyncStore(Store(MemoryBackend()), "sub")


def test_identity_pickle_and_registry() -> None:
    """spec: ASYNC-006, ASYNC-007"""
    config = {
        "backends": {"m": {"type": "memory"}},
        "stores": {"s": {"backend": "m", "root_path": "x"}},
    }
    with Registry(config) as registry:
        astore = registry.get_async_store("s")
        assert isinstance(astore, AsyncStore)
        assert astore.store is registry.get_store("s")
        assert astore == AsyncStore(registry.get_store("s"))
        assert hash(astore) == hash(AsyncStore(registry.get_store("s")))
        assert astore.name == "s" and astore.root_path == "x"
        assert "AsyncStore(" in repr(astore)
        clone = pickle.loads(pickle.dumps(astore))
        assert isinstance(clone, AsyncStore)
        assert clone.root_path == "x" and clone.name == "s"

        async def use() -> bytes:
            await clone.write("f", b"1")
            return await clone.read_bytes("f")

        assert asyncio.run(use()) == b"1"


def test_listing_and_reader_types() -> None:
    async def main() -> None:
        astore = AsyncStore(Store(MemoryBackend()))
        await astore.write("a", b"x")
        listing = astore.list_files()
        assert isinstance(listing, AsyncListing)
        await listing.aclose()
        reader = await astore.read("a")
        assert isinstance(reader, AsyncReader)
        await reader.close()

    asyncio.run(main())
