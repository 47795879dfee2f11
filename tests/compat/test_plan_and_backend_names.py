"""remote-store's ResolutionPlan names and backend ``name``/``capabilities`` on storeroom."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

import pytest

from every_backend import registry_on
from storeroom import Capability, CapabilitySet, Forwarding, ResolutionPlan, Store
from storeroom.aio import AsyncMemoryBackend, AsyncStore, SyncBackendAdapter
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.errors import CapabilityNotSupported, InvalidArgument, InvalidPath
from storeroom.ext.transfer import download, transfer
from storeroom.layers import ReadOnlyLayer


def test_plan_takes_either_set_of_names() -> None:
    # spec: COMPAT-300
    theirs = ResolutionPlan(
        kind="sql-blob", backend="warehouse", key="q1/a.csv", native_path="t:q1/a.csv", details={}
    )
    ours = ResolutionPlan("sql-blob", "q1/a.csv", "t:q1/a.csv", {"table": "t"})
    assert (theirs.kind, theirs.backend_type) == ("sql-blob", "sql-blob")
    assert (theirs.key, theirs.store_path) == ("q1/a.csv", "q1/a.csv")
    assert theirs.backend == "warehouse" and ours.backend == "sql-blob"
    assert ours.details == {"table": "t"} and ours.options is ours.details
    with pytest.raises(TypeError, match="does not support item assignment"):
        ours.details["table"] = "u"  # type: ignore[index]
    with pytest.raises(TypeError, match="backend_type= or kind="):
        ResolutionPlan("s3", kind="s3", key="a", native_path="a")
    with pytest.raises(TypeError, match="needs backend_type="):
        ResolutionPlan(key="a", native_path="a")
    with pytest.raises(TypeError, match="unhashable"):
        hash(ours)
    with pytest.raises(AttributeError):
        theirs.kind = "s3"  # type: ignore[misc]
    assert ResolutionPlan(kind="memory", key="", native_path="").key == ""


@pytest.mark.parametrize("backend", ["local", "sql-sqlite", "s3"])
def test_store_resolve_reads_back_with_remote_store_names(backend: str, tmp_path: Path) -> None:
    # spec: COMPAT-300
    store = registry_on(backend, tmp_path).get_store("s")
    store.write("in/a.csv", b"a")
    plan = store.resolve("in/a.csv")
    assert plan.key == "in/a.csv" == plan.store_path
    assert plan.kind == store.backend.type_name == plan.backend
    assert plan.native_path == store.native_path("in/a.csv")
    assert isinstance(plan.details, Mapping) and dict(plan.details) == dict(plan.options)
    child = store.child("in")
    assert child.resolve("a.csv").key == "a.csv"
    assert child.resolve("").key == ""


def test_backends_have_a_name_and_a_capability_set(tmp_path: Path) -> None:
    # spec: COMPAT-302
    local = LocalBackend(root=str(tmp_path))
    for backend in (MemoryBackend(), local):
        assert backend.name == backend.type_name
        assert isinstance(backend.capabilities, CapabilitySet)
        assert backend.capabilities.supports(Capability.WRITE)
        assert backend.capabilities.supports("read")
    assert LocalBackend.capabilities.supports(Capability.READ)  # on the class too
    layer = ReadOnlyLayer(MemoryBackend())
    assert layer.name == "memory" and not Store(layer).supports(Capability.WRITE)


def test_async_backends_have_a_name_and_a_capability_set(tmp_path: Path) -> None:
    # spec: COMPAT-302
    native = AsyncMemoryBackend()
    adapted = SyncBackendAdapter(LocalBackend(root=str(tmp_path)))
    assert (native.name, adapted.name) == ("memory", "local")
    for backend in (native, adapted):
        assert isinstance(backend.capabilities, CapabilitySet)
        assert backend.capabilities.supports(Capability.READ)

    async def roundtrip() -> bytes:
        async with AsyncStore(adapted, root_path="data") as store:
            await store.write("a.txt", b"hi")
            return await store.read_bytes("a.txt")

    assert asyncio.run(roundtrip()) == b"hi"
    assert (tmp_path / "data" / "a.txt").read_bytes() == b"hi"


@pytest.mark.parametrize("backend", ["memory", "sql-sqlite", "s3", "azure"])
def test_user_metadata_follows_remote_store_rules(backend: str, tmp_path: Path) -> None:
    # spec: COMPAT-303
    store = registry_on(backend, tmp_path).get_store("s")
    assert store.supports(Capability.USER_METADATA)
    for bad in ({"_owner": "ana"}, {"": "x"}, {"propriétaire": "ana"}, {"k": "v" * 2048}):
        with pytest.raises(ValueError, match=r"underscore|2048 bytes") as caught:
            store.write("m.bin", b"m", metadata=bad)
        assert isinstance(caught.value, InvalidArgument)
        assert not store.exists("m.bin")  # refused before anything was written
    ok = {"owner": "ana", "note": "n" * 2036}  # 5 + 3 + 4 + 2036 = 2048 bytes
    assert store.write("m.bin", b"m", metadata=ok).metadata == ok
    assert dict(store.get_file_info("m.bin").metadata or {}) == ok


def test_async_store_checks_metadata_the_same_way() -> None:
    # spec: COMPAT-303
    async def attempt() -> None:
        async with AsyncStore(AsyncMemoryBackend()) as store:
            with pytest.raises(InvalidArgument, match="underscore"):
                await store.write("f.bin", b"x", metadata={"_bad": "v"})
            assert not await store.exists("f.bin")

    asyncio.run(attempt())


def test_async_read_checks_its_path_at_the_call(tmp_path: Path) -> None:
    # spec: COMPAT-305
    store = AsyncStore(SyncBackendAdapter(LocalBackend(root=str(tmp_path))), root_path="data")
    for bad in ("", "..", "a/../..", "x\x00"):
        with pytest.raises(InvalidPath):
            store.read(bad)  # no await, no iteration
        with pytest.raises(InvalidPath):
            store.read_seekable(path=bad)

    async def good() -> tuple[bytes, list[bytes]]:
        await store.write("f.txt", b"hi")
        async with await store.read("f.txt") as reader:
            whole = await reader.read()
        return whole, [chunk async for chunk in store.read(path="f.txt")]

    assert asyncio.run(good()) == (b"hi", [b"hi"])


class _NoRead(Forwarding):
    """The inner backend without READ: what a write-only drop box offers."""

    def __init__(self, inner: MemoryBackend) -> None:
        super().__init__(inner)
        self.capabilities = CapabilitySet(set(inner.capabilities) - {Capability.READ})


def test_transfers_from_a_store_that_cannot_read_fail_first(tmp_path: Path) -> None:
    # spec: COMPAT-307
    inner = MemoryBackend()
    Store(inner).write("f.txt", b"data")
    drop_box = Store(_NoRead(inner))
    target = Store(LocalBackend(root=str(tmp_path / "t")))
    for missing_or_not in ("f.txt", "missing.txt"):
        with pytest.raises(CapabilityNotSupported, match="'read' is not supported"):
            download(drop_box, missing_or_not, tmp_path / "out.txt")
        with pytest.raises(CapabilityNotSupported, match="'read' is not supported"):
            transfer(drop_box, missing_or_not, target, "o.txt")
    assert not (tmp_path / "out.txt").exists() and not target.exists("o.txt")
    transfer(Store(inner), "f.txt", target, "o.txt")  # the readable store still transfers
    assert target.read_bytes("o.txt") == b"data"
