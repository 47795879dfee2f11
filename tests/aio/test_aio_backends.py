"""Async backends the remote-store way: AsyncStore(backend, root_path), both adapters, S3."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest

from every_backend import registry_on
from storeroom import FileInfo, FolderEntry, Store
from storeroom.aio import (
    AsyncBackend,
    AsyncBackendSyncAdapter,
    AsyncMemoryBackend,
    AsyncStore,
    SyncBackendAdapter,
)
from storeroom.aio.ext.write import write_with_hash
from storeroom.backend import Entry, check_overwrite, derive_folders, rel_key
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument, NotFound
from storeroom.models import WriteResult
from storeroom.path import RemotePath

C = Capability


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


class DictBackend(AsyncBackend):
    """A minimal async backend: only the five required coroutines, on a dict."""

    type_name = "dict"
    capabilities = frozenset({C.READ, C.WRITE, C.DELETE, C.LIST, C.MOVE, C.COPY, C.METADATA})

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.closed = 0

    async def stat(self, key: str) -> Entry:
        if key not in self.files:
            raise NotFound("no such file", path=key)
        return FileInfo(RemotePath(key), RemotePath(key).name, len(self.files[key]), None)  # type: ignore[arg-type]

    async def read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AsyncIterator[bytes]:
        data = self.files.get(key)
        if data is None:
            raise NotFound("no such file", path=key)
        data = data[start or 0 : end]
        for i in range(0, len(data), 3):  # small chunks: the bridge must join them
            yield data[i : i + 3]

    async def write(
        self,
        key: str,
        src: bytes | AsyncIterator[bytes],
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        check_overwrite(key in self.files, key, overwrite)
        data = src if isinstance(src, bytes) else b"".join([c async for c in src])
        self.files[key] = data
        return WriteResult(RemotePath(key), len(data))

    async def delete(self, key: str) -> None:
        if self.files.pop(key, None) is None:
            raise NotFound("no such file", path=key)

    async def list(
        self, prefix: str, *, recursive: bool = False, base: str = ""
    ) -> AsyncIterator[Entry]:
        below = prefix + "/" if prefix else ""
        infos = [
            FileInfo(RemotePath(rel_key(k, base)), k.rsplit("/", 1)[-1], len(v), None)  # type: ignore[arg-type]
            for k, v in sorted(self.files.items())
            if k.startswith(below)
        ]
        entries = derive_folders(infos, rel_key(prefix, base))
        for entry in entries:
            if recursive or "/" not in str(entry.path)[len(rel_key(below, base)) :].rstrip("/"):
                yield entry

    async def aclose(self) -> None:
        self.closed += 1


def test_async_store_over_an_async_memory_backend() -> None:
    """spec: ASYNC-001, ASYNC-054, ASYNC-009"""

    async def main() -> None:
        async with AsyncStore(AsyncMemoryBackend(), root_path="data") as astore:
            assert astore.root_path == "data"
            await astore.write("a/b.txt", b"hello")
            await astore.write("c.txt", chunks(b"x", b"y", b"z"))
            assert await astore.read_bytes("a/b.txt") == b"hello"
            assert b"".join([c async for c in astore.read("c.txt")]) == b"xyz"
            reader = await astore.read("a/b.txt")
            assert await reader.read() == b"hello"
            await reader.close()
            names = [str(f.path) async for f in astore.list_files("", recursive=True)]
            assert names == ["a/b.txt", "c.txt"]
            assert await astore.exists("a") and not await astore.exists("nope")
            with pytest.raises(NotFound):
                await astore.read_bytes("nope")
            with pytest.raises(NotFound):
                [c async for c in astore.read("nope")]
            await astore.aclose()

    asyncio.run(main())


def test_async_store_over_a_sync_backend(tmp_path: Path) -> None:
    """spec: ASYNC-001"""

    async def main() -> None:
        astore = AsyncStore(LocalBackend(root=str(tmp_path)), "sub")
        await astore.write("f.txt", b"on disk")
        assert (tmp_path / "sub" / "f.txt").read_bytes() == b"on disk"
        assert isinstance(astore.backend, LocalBackend)
        await astore.close()

    asyncio.run(main())


def test_async_store_over_a_minimal_async_backend() -> None:
    """spec: ASYNC-050, ASYNC-052"""
    backend = DictBackend()

    async def main() -> None:
        async with AsyncStore(backend, "r") as astore:
            assert isinstance(astore.backend, AsyncBackendSyncAdapter)
            await astore.write("d/one.txt", b"0123456789")
            await astore.write("d/two.txt", chunks(b"ab", b"cd"))
            assert await astore.read_bytes("d/one.txt") == b"0123456789"
            assert await astore.read_range("d/one.txt", 2, 7) == b"23456"
            assert await astore.exists("d/two.txt") and await astore.is_folder("d")
            await astore.copy("d/two.txt", "e/copy.txt")  # Backend's generic copy
            await astore.move("d/one.txt", "e/moved.txt")  # generic copy + delete
            found = [str(f.path) async for f in astore.list_files("", recursive=True)]
            assert found == ["d/two.txt", "e/copy.txt", "e/moved.txt"]
            folders = [str(f.path) async for f in astore.list_folders("")]
            assert folders == ["d", "e"]
            await astore.delete_folder("e", recursive=True)
            assert sorted(backend.files) == ["r/d/two.txt"]
            info = await astore.get_file_info("d/two.txt")
            assert info.size == 4 and info.path == "d/two.txt"

    asyncio.run(main())
    assert backend.closed == 1  # closing the AsyncStore closed the async backend


def test_async_backend_sync_adapter_from_blocking_code() -> None:
    """spec: ASYNC-052, ASYNC-053"""
    before = {t.name for t in threading.enumerate()}
    adapter = AsyncBackendSyncAdapter(AsyncMemoryBackend())
    with Store(adapter) as store:
        store.write("a.txt", b"sync over async")
        assert store.read_bytes("a.txt") == b"sync over async"
        assert [str(f.path) for f in store.list_files("")] == ["a.txt"]
        with store.read("a.txt") as stream:
            assert stream.read(4) == b"sync"
        store.delete("a.txt")
        assert not store.exists("a.txt")
        with pytest.raises(NotFound):
            store.read("a.txt")
    after = {t.name for t in threading.enumerate()}
    assert "storeroom-async-backend" not in after - before  # close() stopped the loop thread
    with pytest.raises(InvalidArgument, match=r"needs a storeroom\.aio\.AsyncBackend"):
        AsyncBackendSyncAdapter(MemoryBackend())  # type: ignore[arg-type]


def test_sync_backend_adapter_as_an_async_backend(tmp_path: Path) -> None:
    """spec: ASYNC-051"""

    async def main() -> None:
        adapter = SyncBackendAdapter(LocalBackend(root=str(tmp_path)))
        assert adapter.type_name == "local" and C.WRITE in adapter.capabilities
        result = await adapter.write("x/a.bin", chunks(b"12", b"34"))
        assert result.size == 4 and (tmp_path / "x" / "a.bin").read_bytes() == b"1234"
        assert b"".join([c async for c in adapter.read("x/a.bin", 1, 3)]) == b"23"
        entry = await adapter.stat("x/a.bin")
        assert isinstance(entry, FileInfo) and entry.size == 4
        listed = [e async for e in adapter.list("", recursive=True)]
        assert [str(e.path) for e in listed] == ["x", "x/a.bin"]
        assert isinstance(listed[0], FolderEntry)
        await adapter.copy("x/a.bin", "x/b.bin")
        assert await adapter.exists("x/b.bin")
        await adapter.delete("x/b.bin")
        await adapter.remove_folder("x", recursive=True)
        assert not await adapter.is_folder("x")
        await adapter.ping()
        await adapter.aclose()
        with pytest.raises(InvalidArgument):
            SyncBackendAdapter(DictBackend())  # type: ignore[arg-type]

    asyncio.run(main())


def test_s3_through_both_adapters(tmp_path: Path) -> None:
    """spec: ASYNC-001, ASYNC-051, ASYNC-052"""
    with registry_on("s3", tmp_path) as registry:
        s3 = registry.get_backend("b")
        root = f"aio-{uuid.uuid4().hex[:8]}"

        async def main() -> None:
            astore = AsyncStore(SyncBackendAdapter(s3), root_path=root)
            await astore.write("big.bin", chunks(b"a" * 70_000, b"b" * 70_000))
            assert await astore.get_file_info("big.bin") is not None
            data = b"".join([c async for c in astore.read("big.bin")])
            assert data == b"a" * 70_000 + b"b" * 70_000
            digest = await write_with_hash(astore, "h.bin", chunks(b"he", b"llo"))
            assert digest.digest is not None
            assert digest.digest.value == hashlib.sha256(b"hello").hexdigest()

        asyncio.run(main())
        # the other direction: blocking code over S3 seen through an async backend
        bridged = Store(AsyncBackendSyncAdapter(SyncBackendAdapter(s3)), root, owns_backend=False)
        assert bridged.read_bytes("h.bin") == b"hello"
        assert sorted(str(f.path) for f in bridged.list_files("")) == ["big.bin", "h.bin"]
        bridged.delete("big.bin")
        bridged.delete("h.bin")
        assert not Store(s3, root, owns_backend=False).exists("h.bin")
        bridged.backend.close()


def test_async_write_with_hash_bytes() -> None:
    """spec: COMPAT-013"""

    async def main() -> None:
        async with AsyncStore(AsyncMemoryBackend()) as astore:
            result = await write_with_hash(astore, "a", b"abc", algorithm="md5")
            assert result.digest is not None
            assert (result.digest.algorithm, result.digest.value) == (
                "md5",
                hashlib.md5(b"abc").hexdigest(),
            )

    asyncio.run(main())


def test_adapter_refuses_calls_from_its_own_loop() -> None:
    """spec: ASYNC-052"""
    adapter = AsyncBackendSyncAdapter(DictBackend())

    class Reentrant(DictBackend):
        async def stat(self, key: str) -> Entry:
            return adapter.stat(key)  # a blocking call from inside the adapter's loop

    adapter.async_backend = Reentrant()
    with pytest.raises(InvalidArgument, match="deadlock"):
        adapter.stat("x")
    adapter.close()


def test_async_azure_backend_on_azurite(tmp_path: Path) -> None:
    """spec: ASYNC-054"""
    from storeroom.aio import AsyncAzureBackend
    from storeroom.testing.conformance.targets import registered_targets

    options = dict(registered_targets()["azure"].backend_table(tmp_path)["options"])
    root = f"aio-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        backend = AsyncAzureBackend(**options)
        assert backend.type_name == "azure" and C.WRITE in backend.capabilities
        async with AsyncStore(backend, root) as astore:
            await astore.write("a/b.txt", chunks(b"from ", b"azurite"))
            assert [c async for c in astore.read("a/b.txt")] == [b"from azurite"]
            assert [str(f.path) async for f in astore.list_files("", recursive=True)] == ["a/b.txt"]
            await astore.delete("a/b.txt")
            assert not await astore.exists("a/b.txt")

    asyncio.run(main())
