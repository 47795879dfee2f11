"""Every AsyncStore method does what the Store method does, on memory and local (ASYNC-0xx)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aio_support import make_store

from storeroom import Capability, FileInfo, FolderEntry, Store
from storeroom.aio import AsyncStore
from storeroom.backend import Backend, Forwarding
from storeroom.backends import MemoryBackend
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
    StoreroomError,
)


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = make_store(request.param, tmp_path)
    yield s
    s.close()


def test_read_write_family(store: Store) -> None:
    """spec: ASYNC-002, ASYNC-030"""

    async def main() -> None:
        a = AsyncStore(store)
        r = await a.write("d/a.bin", b"0123456789")
        assert r.path == "d/a.bin" and r.size == 10
        assert await a.read_bytes("d/a.bin") == b"0123456789"
        assert await a.read_range("d/a.bin", 2, 5) == b"234"
        await a.write_text("d/t.txt", "héllo")
        assert await a.read_text("d/t.txt") == "héllo"
        await a.write_atomic("d/atomic", b"A" * 100)
        assert await a.read_bytes("d/atomic") == b"A" * 100
        await a.write("d/a.bin", io.BytesIO(b"new"), overwrite=True)
        assert store.read_bytes("d/a.bin") == b"new"
        # Content given as a keyword works too.
        await a.write(path="d/kw", content=b"kw")
        assert store.read_bytes("d/kw") == b"kw"

        async with await a.read("d/atomic") as reader:
            assert await reader.read(10) == b"A" * 10
            buf = bytearray(5)
            assert await reader.readinto(buf) == 5
            assert await reader.read() == b"A" * 85
            assert await reader.read() == b""
        assert reader.closed

        big = bytes(range(256)) * 10_000  # 2.5 MB: several chunks
        await a.write("big", big)
        chunks = [c async for c in await a.read("big")]
        assert len(chunks) >= 2 and b"".join(chunks) == big

        async with await a.read_seekable("big") as sk:
            assert sk.seekable()
            await sk.seek(1000)
            assert await sk.tell() == 1000
            assert await sk.read(3) == big[1000:1003]
            await sk.seek(-3, io.SEEK_END)
            assert await sk.read() == big[-3:]

        async with a.open_atomic("d/spooled") as w:
            await w.write(b"part1-")
            await w.write(b"part2")
        assert store.read_bytes("d/spooled") == b"part1-part2"

    asyncio.run(main())


def test_async_sources_for_write(store: Store) -> None:
    """spec: ASYNC-032"""

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(5):
            await asyncio.sleep(0)
            yield f"c{i}".encode()

    class AsyncFile:
        def __init__(self, data: bytes) -> None:
            self._buf = io.BytesIO(data)

        async def read(self, size: int = -1) -> bytes:
            await asyncio.sleep(0)
            return self._buf.read(size)

    async def main() -> None:
        a = AsyncStore(store)
        await a.write("gen", chunks())
        assert store.read_bytes("gen") == b"c0c1c2c3c4"
        await a.write_atomic("afile", AsyncFile(b"x" * 3_000_000))
        assert store.read_bytes("afile") == b"x" * 3_000_000
        # An AsyncReader of another store streams straight through.
        await a.write("copy", await a.read("afile"))
        assert store.get_file_info("copy").size == 3_000_000
        # Partly read AsyncReader: the rest is copied, nothing lost.
        reader = await a.read("gen")
        assert await reader.read(2) == b"c0"
        await a.write("rest", reader)
        await reader.close()
        assert store.read_bytes("rest") == b"c1c2c3c4"

    asyncio.run(main())


def test_delete_move_copy_metadata(store: Store) -> None:
    """spec: ASYNC-002"""

    async def main() -> None:
        a = AsyncStore(store)
        for p in ["x/1", "x/2", "x/y/3", "z"]:
            await a.write(p, p.encode())
        await a.copy("z", "z2")
        await a.move("z2", "x/z3")
        assert not await a.exists("z2")
        assert await a.exists("x/z3") and await a.is_file("x/z3")
        assert await a.is_folder("x/y") and not await a.is_folder("z")
        info = await a.get_file_info("x/1")
        assert info == store.get_file_info("x/1")
        head = await a.head("x/1")
        assert head.size == 3
        folder = await a.get_folder_info("x")
        assert folder.file_count == 4
        await a.delete("x/1")
        await a.delete("x/1", missing_ok=True)
        with pytest.raises(DirectoryNotEmpty):
            await a.delete_folder("x")
        await a.delete_folder("x", recursive=True)
        assert not await a.exists("x")
        await a.ping()

    asyncio.run(main())


def test_listings_match_the_store(store: Store) -> None:
    """spec: ASYNC-020, ASYNC-021"""
    for i in range(1200):  # several chunks of DEFAULT_CHUNK entries
        store.write(f"many/{i // 100:02d}/f{i:04d}", b"")
    store.write("top.txt", b"t")

    async def main() -> None:
        a = AsyncStore(store)
        got = [f async for f in a.list_files("many", recursive=True)]
        assert got == list(store.list_files("many", recursive=True))
        assert len(got) == 1200
        assert [f async for f in a.list_folders("many")] == list(store.list_folders("many"))
        assert [e async for e in a.iter_children()] == list(store.iter_children())
        assert await a.glob("many/0[1-2]/*9").to_list() == list(store.glob("many/0[1-2]/*9"))
        async with a.list_files("many", recursive=True) as listing:
            first = await anext(listing)
            assert isinstance(first, FileInfo)
        assert [x async for x in listing] == []  # closed early: nothing more
        kids = await a.iter_children().to_list()
        assert {type(k) for k in kids} == {FileInfo, FolderEntry}

    asyncio.run(main())


def test_plain_methods_and_child(store: Store) -> None:
    """spec: ASYNC-003, ASYNC-004"""
    a = AsyncStore(store)
    assert a.supports(Capability.READ) and a.capabilities == store.capabilities
    assert a.resolve("q") == store.resolve("q")
    assert a.native_path("q") == store.native_path("q")
    assert a.to_key(store.native_path("q/r")) == "q/r"
    assert a.unwrap(Backend) is store.backend
    assert a.backend is store.backend
    sub = a.child("sub")
    assert isinstance(sub, AsyncStore) and sub.root_path == "root/sub"

    async def main() -> None:
        await sub.write("f", b"1")
        assert store.read_bytes("sub/f") == b"1"
        async with AsyncStore(Store(MemoryBackend())) as owned:
            await owned.write("f", b"")

    asyncio.run(main())


class NoWrite(Forwarding):
    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.capabilities = inner.capabilities - {
            Capability.WRITE,
            Capability.ATOMIC_WRITE,
            Capability.LIST,
        }


def test_errors_are_the_same_typed_storeroom_errors(store: Store) -> None:
    """spec: ASYNC-008"""
    store.write("exists", b"1")

    async def check(coro_factory: object, sync_call: object, cls: type[StoreroomError]) -> None:
        with pytest.raises(cls) as sync_err:
            sync_call()  # type: ignore[operator]
        with pytest.raises(cls) as async_err:
            await coro_factory()  # type: ignore[operator]
        assert type(async_err.value) is type(sync_err.value)
        assert str(async_err.value) == str(sync_err.value)

    async def main() -> None:
        a = AsyncStore(store)
        await check(lambda: a.read_bytes("nope"), lambda: store.read_bytes("nope"), NotFound)
        await check(
            lambda: a.write("exists", b"2"), lambda: store.write("exists", b"2"), AlreadyExists
        )
        await check(lambda: a.read_bytes("../x"), lambda: store.read_bytes("../x"), InvalidPath)
        await check(
            lambda: a.read_range("exists", 5, 1),
            lambda: store.read_range("exists", 5, 1),
            InvalidArgument,
        )
        with pytest.raises(NotFound):
            await a.read("nope")
        # Listing errors are raised at the call, as by the Store.
        ro = AsyncStore(Store(NoWrite(store.backend), "root"))
        with pytest.raises(CapabilityNotSupported):
            ro.list_files()
        with pytest.raises(CapabilityNotSupported):
            await ro.write("w", b"")
        with pytest.raises(CapabilityNotSupported):
            async with ro.open_atomic("w"):
                pass
        with pytest.raises(AlreadyExists):
            async with a.open_atomic("exists"):
                pass
        # A NotFound is still a FileNotFoundError.
        with pytest.raises(FileNotFoundError):
            await a.get_file_info("nope")

    asyncio.run(main())
