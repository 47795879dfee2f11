"""The crypt layer on its own: format, ranges, tampering, names, config, pickling, async."""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from every_backend import WRITABLE, registry_on
from storeroom import Registry, RegistryConfig, Store
from storeroom.backend import Backend, Forwarding
from storeroom.backends.local import LocalBackend
from storeroom.backends.memory import MemoryBackend
from storeroom.errors import ConfigError, DecryptionError, NotFound
from storeroom.layers import CryptLayer
from storeroom.layers._crypt_data import (
    BLOCK,
    CHUNK,
    HEADER,
    decrypted_size,
    encrypted_size,
    obscure,
)
from storeroom.models import FileInfo

SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1, 200_000]


class Counting(Forwarding):
    """Counts the stored bytes read through ``open_read`` streams (a real backend below)."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.bytes_read = 0
        self.opens: list[tuple[int | None, int | None]] = []

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self.opens.append((start, end))
        stream = self.inner.open_read(key, start, end)
        outer = self

        class _Counted(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def read(self, size: int | None = -1) -> bytes:
                data = stream.read(-1 if size is None else size)
                outer.bytes_read += len(data)
                return data

            def readinto(self, buf: Any) -> int:
                data = self.read(len(buf))
                buf[: len(data)] = data
                return len(data)

            def close(self) -> None:
                stream.close()
                super().close()

        return _Counted()  # type: ignore[return-value]


def data_of(size: int) -> bytes:
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


def crypt_store(inner: Backend | None = None, **opts: Any) -> Store:
    opts.setdefault("password", "correct horse")
    return Store(CryptLayer(inner or MemoryBackend(), **opts))


# -- content ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_and_stored_size(size: int) -> None:
    # spec: CRYPT-010, CRYPT-013, CRYPT-030
    inner = MemoryBackend()
    store = crypt_store(inner)
    data = data_of(size)
    result = store.write("f.bin", data)
    assert result.size == size
    store.write("stream.bin", io.BytesIO(data))
    assert store.read_bytes("f.bin") == data
    assert store.read_bytes("stream.bin") == data
    stored = [e for e in inner.list("", recursive=True) if isinstance(e, FileInfo)]
    assert sorted(e.size for e in stored) == [encrypted_size(size)] * 2
    assert all(decrypted_size(e.size) == size for e in stored)
    assert store.get_file_info("f.bin").size == size
    assert {f.size for f in store.list_files("")} == {size}


def test_stored_bytes_are_header_then_sealed_chunks() -> None:
    # spec: CRYPT-010, CRYPT-011
    inner = MemoryBackend()
    store = crypt_store(inner, filename_encryption="off")
    data = data_of(3 * CHUNK)
    store.write("a", data)
    store.write("b", data)
    a = inner.open_read("a.bin").read()
    b = inner.open_read("b.bin").read()
    assert a[:8] == b"RCLONE\x00\x00" and len(a) == HEADER + 3 * BLOCK
    assert a[8:32] != b[8:32], "each file gets a fresh random nonce"
    assert data[:1000] not in a


def test_ranged_read_decrypts_only_the_chunks_it_needs() -> None:
    # spec: CRYPT-014
    counting = Counting(MemoryBackend())
    store = crypt_store(counting)
    data = data_of(10 * CHUNK + 123)
    store.write("big", data)
    counting.bytes_read = 0
    start = 5 * CHUNK + 10
    assert store.read_range("big", start, start + 100) == data[start : start + 100]
    assert counting.bytes_read == HEADER + BLOCK  # the header and one chunk
    counting.bytes_read = 0
    assert store.read_range("big", CHUNK - 5, CHUNK + 5) == data[CHUNK - 5 : CHUNK + 5]
    assert counting.bytes_read == HEADER + 2 * BLOCK
    counting.bytes_read = 0
    assert store.read_range("big", 10 * CHUNK) == data[10 * CHUNK :]
    assert counting.bytes_read == HEADER + 123 + 16
    assert store.read_range("big", len(data) + 5, len(data) + 50) == b""


def test_seekable_read_reads_little() -> None:
    # spec: CRYPT-014
    counting = Counting(MemoryBackend())
    store = crypt_store(counting)
    data = data_of(40 * CHUNK)
    store.write("big", data)
    counting.bytes_read = 0
    with store.read_seekable("big") as f:
        f.seek(30 * CHUNK + 7)
        assert f.read(10) == data[30 * CHUNK + 7 : 30 * CHUNK + 17]
        f.seek(3)
        assert f.read(5) == data[3:8]
        assert f.seek(0, io.SEEK_END) == len(data)
    assert counting.bytes_read < 12 * BLOCK  # far less than the 40 stored chunks


def test_tampered_chunk_raises_and_untouched_chunks_still_read(tmp_path: Path) -> None:
    # spec: CRYPT-016
    store = crypt_store(LocalBackend(str(tmp_path)), filename_encryption="off")
    data = data_of(3 * CHUNK)
    store.write("f", data)
    raw = bytearray((tmp_path / "f.bin").read_bytes())
    raw[HEADER + BLOCK + 100] ^= 1  # inside chunk 1
    (tmp_path / "f.bin").write_bytes(bytes(raw))
    with pytest.raises(DecryptionError) as info:
        store.read_bytes("f")
    assert "chunk 1" in str(info.value) and info.value.path == "f"
    assert store.read_range("f", 0, 100) == data[:100]
    assert store.read_range("f", 2 * CHUNK, 2 * CHUNK + 10) == data[2 * CHUNK : 2 * CHUNK + 10]
    with pytest.raises(DecryptionError):
        store.read_range("f", CHUNK + 5, CHUNK + 6)


def test_tampered_header_and_truncation_raise(tmp_path: Path) -> None:
    # spec: CRYPT-015, CRYPT-016
    store = crypt_store(LocalBackend(str(tmp_path)), filename_encryption="off")
    store.write("f", data_of(1000))
    path = tmp_path / "f.bin"
    raw = path.read_bytes()
    path.write_bytes(b"RCLONX" + raw[6:])
    with pytest.raises(DecryptionError, match="header"):
        store.read_bytes("f")
    path.write_bytes(raw[:8] + bytes([raw[8] ^ 1]) + raw[9:])  # nonce changed
    with pytest.raises(DecryptionError, match="authentication"):
        store.read_bytes("f")
    path.write_bytes(raw[: HEADER + 10])  # cut inside the tag
    with pytest.raises(DecryptionError):
        store.get_file_info("f")
    with pytest.raises(DecryptionError):
        store.read_bytes("f")
    path.write_bytes(raw[:-1])  # one byte short: the tag no longer matches
    with pytest.raises(DecryptionError):
        store.read_bytes("f")


def test_wrong_password_is_a_typed_error(tmp_path: Path) -> None:
    # spec: CRYPT-017
    local = LocalBackend(str(tmp_path))
    crypt_store(local, filename_encryption="off").write("f", b"secret data")
    wrong = crypt_store(local, password="wrong", filename_encryption="off")
    with pytest.raises(DecryptionError, match="password"):
        wrong.read_bytes("f")
    crypt_store(local).write("g", b"x")
    wrong_names = crypt_store(local, password="wrong")
    assert [f.path for f in wrong_names.list_files("", recursive=True)] == []
    with pytest.raises(NotFound):
        wrong_names.read_bytes("g")


# -- operations ---------------------------------------------------------------------------


def test_copy_move_delete_and_folders() -> None:
    # spec: CRYPT-031
    store = crypt_store()
    store.write("a/one", b"1" * 70000)
    store.copy("a/one", "b/two")
    store.move("a/one", "c/three")
    assert store.read_bytes("b/two") == b"1" * 70000
    assert store.read_bytes("c/three") == b"1" * 70000
    assert not store.exists("a/one")
    store.delete("b/two")
    store.delete("c/three", missing_ok=True)
    store.delete("c/three", missing_ok=True)
    store.write("x/y/z", b"z")
    store.delete_folder("x", recursive=True)
    assert not store.exists("x")
    with pytest.raises(NotFound):
        store.delete("nope")


def test_write_atomic_and_overwrite() -> None:
    # spec: CRYPT-030
    store = crypt_store()
    store.write("f", b"old")
    store.write_atomic("f", b"new", overwrite=True)
    assert store.read_text("f") == "new"
    assert store.get_folder_info("").total_size == 3


# -- configuration ----------------------------------------------------------------------


def test_config_file_layer_and_secrets_masked(tmp_path: Path) -> None:
    # spec: CRYPT-001, CRYPT-002
    config = RegistryConfig.from_dict(
        {
            "backends": {
                "disk": {
                    "type": "local",
                    "options": {"root": str(tmp_path)},
                    "layers": [
                        {
                            "type": "crypt",
                            "password": "hunter2-long",
                            "password2": "pepper-long",
                            "filename_encryption": "obfuscate",
                        }
                    ],
                }
            },
            "stores": {"s": {"backend": "disk"}},
        }
    )
    with Registry(config) as registry:
        store = registry.get_store("s")
        store.write("doc.txt", b"hello")
        assert store.read_bytes("doc.txt") == b"hello"
        layer = store.unwrap(CryptLayer)
        text = repr(config) + repr(layer) + repr(layer.options) + repr(config.backends["disk"])
        assert "hunter2-long" not in text and "pepper-long" not in text
    assert not (tmp_path / "doc.txt").exists()


@pytest.mark.parametrize(
    ("opts", "key"),
    [
        ({}, "password"),
        ({"password": ""}, "password"),
        ({"password": "p", "filename_encryption": "rot13"}, "filename_encryption"),
        ({"password": "p", "suffix": "bin"}, "suffix"),
        ({"password": "not-obscured!", "obscured": True}, "password"),
        ({"password": "p", "colour": "red"}, "colour"),
    ],
)
def test_bad_options_are_config_errors(opts: dict[str, Any], key: str) -> None:
    # spec: CRYPT-002, CRYPT-003
    raw = {
        "backends": {"m": {"type": "memory", "layers": [{"type": "crypt", **opts}]}},
        "stores": {"s": {"backend": "m"}},
    }
    with pytest.raises(ConfigError) as info:
        RegistryConfig.from_dict(raw).validate()
    assert info.value.key == f"backends.m.layers[0].{key}"
    assert "not-obscured!" not in str(info.value)


def test_obscured_passwords_are_revealed() -> None:
    # spec: CRYPT-003
    inner = MemoryBackend()
    crypt_store(inner, password="pw one", password2="pw two").write("f", b"data")
    store = crypt_store(
        inner, password=obscure("pw one"), password2=obscure("pw two"), obscured=True
    )
    assert store.read_bytes("f") == b"data"


def test_pickles_as_configuration(tmp_path: Path) -> None:
    # spec: CRYPT-004
    store = crypt_store(LocalBackend(str(tmp_path)), password="pickled pw")
    store.write("a/b", b"payload")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.read_bytes("a/b") == b"payload"
    assert "pickled pw" not in repr(copy.unwrap(CryptLayer).options)


def test_async_store_round_trip(tmp_path: Path) -> None:
    # spec: CRYPT-005
    from storeroom.aio import AsyncStore

    async def main() -> None:
        async with AsyncStore(CryptLayer(LocalBackend(str(tmp_path)), password="a pw")) as s:
            await s.write("x/y.txt", b"async" * 30000)
            assert await s.read_bytes("x/y.txt") == b"async" * 30000
            assert await s.read_range("x/y.txt", 70000, 70005) == (b"async" * 30000)[70000:70005]
            assert [f.path async for f in s.list_files("", recursive=True)] == ["x/y.txt"]

    asyncio.run(main())
    assert not (tmp_path / "x").exists()


def test_import_storeroom_does_not_load_crypto_libraries() -> None:
    # spec: CRYPT-006
    code = (
        "import storeroom, storeroom.layers, sys; "
        "print(any(m in sys.modules for m in ('nacl', 'cryptography', 'storeroom.layers.crypt')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("backend", WRITABLE)
def test_through_real_backends(backend: str, tmp_path: Path) -> None:
    # spec: CRYPT-007
    layers = [{"type": "crypt", "password": "backend pw", "filename_encryption": "standard"}]
    registry = registry_on(backend, tmp_path, layers=layers)
    try:
        store = registry.get_store("s")
        data = data_of(3 * CHUNK + 5)
        store.write("dir/file.dat", data)
        store.write("empty", b"")
        store.write("dir/streamed.dat", io.BytesIO(data[: CHUNK + 9]))
        assert store.read_bytes("dir/streamed.dat") == data[: CHUNK + 9]
        store.delete("dir/streamed.dat")
        assert store.read_bytes("dir/file.dat") == data
        assert (
            store.read_range("dir/file.dat", 2 * CHUNK + 1, 2 * CHUNK + 9)
            == data[2 * CHUNK + 1 : 2 * CHUNK + 9]
        )
        listing = {f.path: f.size for f in store.list_files("", recursive=True)}
        assert listing == {"dir/file.dat": len(data), "empty": 0}
        raw = Store(registry.get_backend("b"), owns_backend=False)
        # The store's root is a path inside the encrypted namespace (CRYPT-008).
        root = store.unwrap(CryptLayer).names.dir_key(store.root_path)
        assert root != store.root_path
        stored = list(raw.list_files(root, recursive=True))
        assert len(stored) == 2 and all("file" not in f.path for f in stored)
        assert sorted(f.size for f in stored) == [HEADER, encrypted_size(len(data))]
        store.delete_folder("dir", recursive=True)
        store.delete("empty")
    finally:
        registry.close()


def test_bad_chunk_deep_in_a_batch_is_named(tmp_path: Path) -> None:
    # spec: CRYPT-016, CRYPT-060
    store = crypt_store(LocalBackend(str(tmp_path)), filename_encryption="off")
    data = data_of(20 * CHUNK + 3)
    store.write("f", data)
    raw = bytearray((tmp_path / "f.bin").read_bytes())
    raw[HEADER + 13 * BLOCK + 40] ^= 0x10
    (tmp_path / "f.bin").write_bytes(bytes(raw))
    with pytest.raises(DecryptionError, match="chunk 13 "):
        store.read_bytes("f")
    with store.read("f") as stream:
        assert stream.read(13 * CHUNK) == data[: 13 * CHUNK]
        with pytest.raises(DecryptionError, match="chunk 13 "):
            stream.read(CHUNK)


class Trickle(io.RawIOBase):
    """A source that hands out a few bytes per read (odd sizes across chunk edges)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._step = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        self._step = self._step % 7 + 1
        n = min(self._step * 9999, len(self._data) - self._pos)
        if size is not None and size >= 0:
            n = min(n, size)
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out


def test_stream_sources_with_short_reads_seal_the_same_content() -> None:
    # spec: CRYPT-030
    store = crypt_store()
    data = data_of(3 * CHUNK + 777)
    result = store.write("t", Trickle(data))  # type: ignore[arg-type]
    assert result.size == len(data)
    assert store.read_bytes("t") == data


def test_whole_file_stream_seeks_natively_on_seekable_backends(tmp_path: Path) -> None:
    # spec: CRYPT-014, CRYPT-018
    counting = Counting(LocalBackend(str(tmp_path)))
    store = crypt_store(LocalBackend(str(tmp_path)))
    data = data_of(9 * CHUNK + 11)
    store.write("f", data)
    with store.read("f") as stream:
        assert stream.seekable()
        assert stream.read(5) == data[:5] and stream.tell() == 5
        assert stream.seek(7 * CHUNK + 3) == 7 * CHUNK + 3
        assert stream.read(CHUNK) == data[7 * CHUNK + 3 : 8 * CHUNK + 3]
        assert stream.seek(-4, io.SEEK_CUR) == 8 * CHUNK - 1
        assert stream.read(2) == data[8 * CHUNK - 1 : 8 * CHUNK + 1]
        assert stream.seek(-3, io.SEEK_END) == len(data) - 3
        assert stream.read() == data[-3:]
        assert stream.seek(len(data) + 10) == len(data) + 10 and stream.read(4) == b""
    memory = crypt_store(counting)
    memory.write("g", data)
    counting.bytes_read = 0
    with memory.read_seekable("g") as stream:
        stream.seek(8 * CHUNK)
        assert stream.read(10) == data[8 * CHUNK : 8 * CHUNK + 10]
    assert counting.bytes_read < 3 * BLOCK


def _read_in_child(folder: str, queue: Any) -> None:
    store = crypt_store(LocalBackend(folder), filename_encryption="off")
    queue.put(store.read_bytes("f") == data_of(20 * CHUNK))


def test_forked_child_reads_after_the_parent_used_the_thread_pool(tmp_path: Path) -> None:
    # spec: CRYPT-060
    import multiprocessing

    store = crypt_store(LocalBackend(str(tmp_path)), filename_encryption="off")
    store.write("f", data_of(20 * CHUNK))
    assert store.read_bytes("f") == data_of(20 * CHUNK)  # the parent's pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_read_in_child, args=(str(tmp_path), queue))
    child.start()
    child.join(60)
    if child.is_alive():  # hung: do not leave it behind
        child.kill()
        child.join()
    assert child.exitcode == 0 and queue.get(timeout=5) is True


# spec: CRYPT-034
def test_no_signed_urls_through_the_layer_even_over_s3(tmp_path: Path) -> None:
    from storeroom.capabilities import Capability
    from storeroom.errors import CapabilityNotSupported

    with registry_on("s3", tmp_path) as reg:
        plain = reg.get_store("s")
        assert plain.supports(Capability.SIGNED_URL)
        layered = Store(CryptLayer(plain.backend, password="pw"), plain.root_path)
        assert not layered.supports(Capability.SIGNED_URL)
        layered.write("secret.txt", b"sealed")
        with pytest.raises(CapabilityNotSupported):
            layered.url("secret.txt")
        with pytest.raises(CapabilityNotSupported):
            layered.backend.signed_url("secret.txt", 60, "GET")


# spec: CRYPT-035
@pytest.mark.parametrize("backend", ["memory", "local", "sql-sqlite"])
def test_conditional_writes_are_sealed_and_compare_the_stored_etag(
    backend: str, tmp_path: Path
) -> None:
    from storeroom.errors import PreconditionFailed

    with registry_on(backend, tmp_path) as reg:
        plain = reg.get_store("s")
        store = Store(CryptLayer(plain.backend, password="pw"), plain.root_path)
        store.write("counter.txt", b"1")
        tag = store.head("counter.txt").etag
        assert tag
        store.write("counter.txt", b"2", if_match=tag)
        assert store.read_bytes("counter.txt") == b"2"
        layer = store.backend
        assert isinstance(layer, CryptLayer)
        stored = layer.names.file_key(f"{plain.root_path}/counter.txt".lstrip("/"))
        with plain.backend.open_read(stored) as raw:
            assert raw.read(8) == b"RCLONE\x00\x00"
        with pytest.raises(PreconditionFailed):
            store.write("counter.txt", b"3", if_match=tag)
        with pytest.raises(PreconditionFailed):
            store.delete("counter.txt", if_match=tag)
        assert store.read_bytes("counter.txt") == b"2"
        store.delete("counter.txt", if_match=store.head("counter.txt").etag)
        assert not store.exists("counter.txt")


# spec: CRYPT-036
def test_transactions_are_refused_rather_than_staging_plain_bytes(tmp_path: Path) -> None:
    from storeroom.capabilities import Capability
    from storeroom.errors import CapabilityNotSupported

    inner = LocalBackend(str(tmp_path))
    assert Capability.TRANSACTION in inner.capabilities
    store = Store(CryptLayer(inner, password="pw"))
    assert not store.supports(Capability.TRANSACTION)
    with pytest.raises(CapabilityNotSupported), store.transaction() as tx:
        tx.write("a.txt", b"plain?")
    assert list(tmp_path.rglob("*.txt")) == []
