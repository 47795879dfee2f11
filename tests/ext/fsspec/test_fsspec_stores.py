"""Several stores in one config, stores without ATOMIC_WRITE or COPY, path forms."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storeroom import RegistryConfig, Store
from storeroom.backend import Forwarding
from storeroom.backends.memory import MemoryBackend
from storeroom.capabilities import Capability
from storeroom.errors import InvalidPath, NotFound
from storeroom.ext.fsspec import StoreroomFileSystem, clear_registry_cache
from storeroom.layers.observe import ObserveLayer


@pytest.fixture
def two_stores() -> Iterator[StoreroomFileSystem]:
    config = RegistryConfig.from_dict(
        {
            "backends": {
                "m": {"type": "memory", "layers": [{"type": "observe", "record": 50, "log": False}]}
            },
            "stores": {
                "a": {"backend": "m", "root_path": "a"},
                "b": {"backend": "m", "root_path": "b"},
            },
        }
    )
    yield StoreroomFileSystem(config=config)
    clear_registry_cache()


def test_copy_within_a_store_is_server_side_and_across_stores_streams(
    two_stores: StoreroomFileSystem,
) -> None:
    # spec: FSSPEC-033
    fs = two_stores
    fs.pipe_file("a/x.bin", b"payload")
    recorder = fs.store_for("a").unwrap(ObserveLayer).recorder
    assert recorder is not None
    recorder.clear()
    fs.cp_file("a/x.bin", "a/y.bin")
    assert [e.operation for e in recorder.events if e.operation in ("copy", "write")] == ["copy"]
    recorder.clear()
    fs.cp_file("storeroom://a/x.bin", "b/x.bin")  # another store: read, then write
    assert fs.cat_file("b/x.bin") == b"payload"
    assert [e.operation for e in recorder.events if e.operation in ("copy", "write")] == ["write"]
    recorder.clear()
    fs.mv("a/y.bin", "a/z.bin")
    assert [e.operation for e in recorder.events if e.operation in ("move", "copy")] == ["move"]
    assert fs.ls("", detail=False) == ["a", "b"]
    with pytest.raises(InvalidPath):
        fs.cat_file("")


def test_paths_ignore_protocol_and_slashes(two_stores: StoreroomFileSystem) -> None:
    # spec: FSSPEC-005
    fs = two_stores
    fs.pipe_file("storeroom://a/dir/f.txt", b"1")
    assert fs.cat_file("/a/dir/f.txt") == b"1"
    assert fs.ls("a/dir/", detail=False) == ["a/dir/f.txt"]
    assert fs.info("storeroom://a/dir/")["name"] == "a/dir"
    with pytest.raises(InvalidPath):
        fs.cat_file("a/dir/../../b/x")


class _NoAtomic(Forwarding):
    """A store stack without ATOMIC_WRITE (nor COPY nor MOVE)."""

    def __init__(self, inner: MemoryBackend) -> None:
        super().__init__(inner)
        self.capabilities = inner.capabilities - {
            Capability.ATOMIC_WRITE,
            Capability.COPY,
            Capability.MOVE,
        }


def test_store_without_atomic_write_spools_and_writes_on_close() -> None:
    # spec: FSSPEC-014, FSSPEC-033
    store = Store(_NoAtomic(MemoryBackend()))
    fs = StoreroomFileSystem(store=store)
    f = fs.open("out.bin", "wb", block_size=1024)
    f.write(b"a" * 5000)
    assert not store.exists("out.bin")  # nothing is written before close
    f.close()
    assert store.read_bytes("out.bin") == b"a" * 5000
    with pytest.raises(RuntimeError), fs.open("gone.bin", "wb", block_size=1024) as g:
        g.write(b"b" * 5000)
        raise RuntimeError("boom")
    assert not store.exists("gone.bin")
    fs.pipe_file("p.bin", b"pp")
    fs.cp_file("p.bin", "q.bin")  # no COPY: streamed
    fs.mv("q.bin", "r.bin")  # no MOVE: copy then delete
    assert fs.find("") == ["out.bin", "p.bin", "r.bin"]


def test_mkdir_without_parents_under_a_missing_folder() -> None:
    # spec: FSSPEC-030
    fs = StoreroomFileSystem(store=Store(MemoryBackend()))
    with pytest.raises(NotFound):
        fs.mkdir("no/such/child", create_parents=False)
    fs.makedirs("x/y")
    assert fs.isdir("x/y") and fs.ls("x/y") == []
    fs.makedirs("x/y", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.makedirs("x/y")
