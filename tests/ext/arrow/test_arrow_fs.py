"""The StoreHandler contract: errors, atomic outputs, append, folders, pickling (ARROW-*)."""

from __future__ import annotations

import gc
import io
import pickle
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from every_backend import every_store, registry_on
from storeroom import Store
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    InvalidArgument,
    InvalidPath,
    NotFound,
)
from storeroom.ext.arrow import StoreHandler, arrow_filesystem, pyarrow_fs

__all__ = ["every_store"]


def test_typed_errors_come_out_of_pyarrow_calls(every_store: Store) -> None:
    # spec: ARROW-050
    fs = arrow_filesystem(every_store)
    backend = every_store.backend.type_name
    with pytest.raises(NotFound) as err:
        pq.ParquetFile("gone/t.parquet", filesystem=fs)
    assert err.value.path == "gone/t.parquet"
    assert err.value.backend == backend
    assert "gone/t.parquet" in str(err.value) and backend in str(err.value)
    with pytest.raises(NotFound) as err:
        fs.open_input_stream("gone/t.csv")
    assert err.value.path == "gone/t.csv"
    with pytest.raises(FileNotFoundError):  # storeroom errors keep their builtin base
        fs.open_input_file("gone/t.csv")


def test_output_is_invisible_until_close_and_unclosed_writes_nothing(every_store: Store) -> None:
    # spec: ARROW-030, ARROW-031, ARROW-032
    fs = arrow_filesystem(every_store)
    every_store.write("o/f.bin", b"old")
    out = fs.open_output_stream("o/f.bin")
    out.write(b"new content")
    assert every_store.read_bytes("o/f.bin") == b"old"
    out.close()
    assert every_store.read_bytes("o/f.bin") == b"new content"
    fs.get_file_info("o/f.bin")  # remembers the size; a write through fs forgets it
    with fs.open_output_stream("o/f.bin") as out2:
        out2.write(b"longer content than before")
    with fs.open_input_file("o/f.bin") as f:
        assert f.read() == b"longer content than before"

    dropped = fs.open_output_stream("o/never.bin")
    dropped.write(b"x" * 1000)
    del dropped
    gc.collect()
    assert not every_store.exists("o/never.bin")
    assert fs.get_file_info("o/never.bin").type == pafs.FileType.NotFound


def test_aborted_output_leaves_the_old_file(tmp_path: Path) -> None:
    # spec: ARROW-032
    from storeroom.ext.arrow._files import AtomicOutput

    store = Store(LocalBackend(root=str(tmp_path)))
    store.write("f.bin", b"old")
    out = AtomicOutput(store, "f.bin")
    out.write(b"partial")
    out.abort()
    assert out.closed
    assert store.read_bytes("f.bin") == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_append_is_a_typed_refusal() -> None:
    # spec: ARROW-033
    store = Store(MemoryBackend())
    store.write("log.txt", b"a")
    fs = arrow_filesystem(store)
    with pytest.raises(CapabilityNotSupported) as err:
        fs.open_append_stream("log.txt")
    assert err.value.path == "log.txt"
    assert err.value.backend == "memory"
    assert isinstance(err.value, NotImplementedError)
    assert store.read_bytes("log.txt") == b"a"


def test_create_dir_rules(tmp_path: Path) -> None:
    # spec: ARROW-013, ARROW-014
    for store in (Store(LocalBackend(root=str(tmp_path))), Store(MemoryBackend())):
        fs = arrow_filesystem(store)
        with pytest.raises(NotFound):
            fs.create_dir("x/y", recursive=False)
        fs.create_dir("x", recursive=False)
        fs.create_dir("x/y", recursive=False)
        fs.create_dir("x/y", recursive=False)  # exists: fine
        assert store.is_folder("x/y")
        assert list(store.list_files("", recursive=True)) == []
        store.write("f", b"1")
        with pytest.raises(AlreadyExists):
            fs.create_dir("f", recursive=True)
        sel = fs.get_file_info(pafs.FileSelector("", recursive=True))
        assert [(i.path, i.type) for i in sel] == [
            ("f", pafs.FileType.File),
            ("x", pafs.FileType.Directory),
            ("x/y", pafs.FileType.Directory),
        ]
        with pytest.raises(InvalidPath):
            fs.get_file_info(pafs.FileSelector("f"))
        fs.delete_dir_contents("x")
        assert store.is_folder("x") and not store.is_folder("x/y")
        fs.delete_dir_contents("missing", missing_dir_ok=True)
        with pytest.raises(NotFound):
            fs.delete_dir_contents("missing")
        with pytest.raises(InvalidPath):
            fs.handler.delete_dir_contents("", False)
        with pytest.raises(NotFound):
            fs.delete_dir("missing")
        with pytest.raises(NotFound):
            fs.move("missing", "elsewhere")
        out = fs.open_output_stream("f/under-a-file")
        out.write(b"1")
        with pytest.raises(InvalidPath) as err:
            out.close()
        assert err.value.path == "f/under-a-file"
        fs.delete_dir_contents("", accept_root_dir=True)
        assert list(store.iter_children("")) == []


def test_paths_identity_and_seek_bounds() -> None:
    # spec: ARROW-001, ARROW-002, ARROW-022
    store = Store(MemoryBackend(), name="m")
    fs = pyarrow_fs(store)
    assert isinstance(fs, pafs.PyFileSystem)
    assert fs.type_name == "py::storeroom+memory"
    assert fs.equals(arrow_filesystem(store))
    assert not fs.equals(arrow_filesystem(Store(MemoryBackend())))
    assert fs.normalize_path("/a//b/") == "a/b"
    with pytest.raises(InvalidPath) as err:
        fs.normalize_path("../escape")
    assert err.value.store == "m"
    store.write("d/f.bin", bytes(range(100)))
    assert fs.get_file_info("/d/f.bin").size == 100
    with fs.open_input_file("d/f.bin") as f:
        assert f.size() == 100
        assert f.read_at(10, 20) == bytes(range(20, 30))
        f.seek(95)
        assert f.read() == bytes(range(95, 100))
    raw = fs.handler.open_input_file("d/f.bin")
    assert isinstance(raw, pa.NativeFile)
    from storeroom.ext.arrow._files import RangedFile

    with pytest.raises(InvalidArgument):
        RangedFile(store, "d/f.bin", 100).seek(2**63)
    with pytest.raises(TypeError):
        StoreHandler(io.BytesIO())  # type: ignore[arg-type]


def test_pickles_as_the_store(tmp_path: Path) -> None:
    # spec: ARROW-060
    registry = registry_on("local", tmp_path)
    store = registry.get_store("s")
    fs = arrow_filesystem(store)
    pq.write_table(pa.table({"a": [1, 2, 3]}), "t.parquet", filesystem=fs)
    copy = pickle.loads(pickle.dumps(fs))
    assert isinstance(copy.handler, StoreHandler)
    assert copy.handler.store.root_path == store.root_path
    assert pq.read_table("t.parquet", filesystem=copy)["a"].to_pylist() == [1, 2, 3]
    registry.close()


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_pickled_filesystem_works_in_another_process(backend: str, tmp_path: Path) -> None:
    # spec: ARROW-060
    registry = registry_on(backend, tmp_path)
    store = registry.get_store("s")
    fs = arrow_filesystem(store)
    pq.write_table(pa.table({"a": [4, 5]}), "p/t.parquet", filesystem=fs)
    code = (
        "import pickle, sys, pyarrow.parquet as pq\n"
        "fs = pickle.loads(sys.stdin.buffer.read())\n"
        "pq.write_table(pq.read_table('p/t.parquet', filesystem=fs), 'p/back.parquet',"
        " filesystem=fs)\n"
        "print(fs.type_name)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=pickle.dumps(fs),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == f"py::storeroom+{store.backend.type_name}"
    assert pq.read_table("p/back.parquet", filesystem=fs)["a"].to_pylist() == [4, 5]
    store.delete_folder("p", recursive=True)
    registry.close()


def test_each_read_is_one_bounded_ranged_read() -> None:
    # spec: ARROW-021, ARROW-023
    from storeroom.layers import ObserveLayer, Recorder

    recorder = Recorder()
    store = Store(ObserveLayer(MemoryBackend(), log=False, sinks=[recorder]))
    data = bytes(range(256)) * 4096  # 1 MiB
    store.write("big.bin", data)
    fs = arrow_filesystem(store)
    fs.get_file_info("big.bin")
    recorder.clear()
    with fs.open_input_file("big.bin") as f:
        assert f.read_at(100, len(data) - 100) == data[-100:]
        assert f.read_at(50, 1000) == data[1000:1050]
        f.seek(10)
        assert f.read(5) == data[10:15]
    assert [e.bytes for e in recorder.of("read_stream")] == [100, 50, 5]


def test_sizes_seen_open_files_without_a_stat_within_size_ttl() -> None:
    # spec: ARROW-021
    from storeroom.layers import ObserveLayer, Recorder

    recorder = Recorder()
    store = Store(ObserveLayer(MemoryBackend(), log=False, sinks=[recorder]))
    store.write("f.bin", b"12345")
    fs = arrow_filesystem(store)
    fs.get_file_info("f.bin")
    recorder.clear()
    with fs.open_input_file("f.bin") as f:
        assert f.read() == b"12345"
    assert recorder.of("stat") == []

    fresh = arrow_filesystem(store, size_ttl=0)
    fresh.get_file_info("f.bin")
    store.write("f.bin", b"1234567890", overwrite=True)  # changed behind the filesystem
    recorder.clear()
    with fresh.open_input_file("f.bin") as f:
        assert f.read() == b"1234567890"
    assert len(recorder.of("stat")) == 1
    assert pickle.loads(pickle.dumps(fresh)).handler.size_ttl == 0
    with pytest.raises(InvalidArgument):
        arrow_filesystem(store, size_ttl=-1)


def test_the_stores_layers_apply_to_arrow_calls() -> None:
    # spec: ARROW-001
    from storeroom.layers import FaultLayer, RetryLayer

    inner = MemoryBackend()
    Store(inner, owns_backend=False).write(
        "t.parquet", _parquet_bytes(pa.table({"a": list(range(100))}))
    )
    faulty = FaultLayer(inner, rates={"open_read": 1.0}, max_faults=2)
    flaky = arrow_filesystem(Store(faulty))
    from storeroom.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable) as err:
        pq.read_table("t.parquet", filesystem=flaky)
    assert err.value.path == "t.parquet"
    retried = RetryLayer(
        FaultLayer(inner, rates={"open_read": 1.0}, max_faults=2),
        attempts=3,
        base_delay_s=0.0,
        max_delay_s=0.0,
    )
    table = pq.read_table("t.parquet", filesystem=arrow_filesystem(Store(retried)))
    assert table["a"].to_pylist() == list(range(100))


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_pyarrow_is_loaded_only_by_ext_arrow_and_missing_it_names_the_extra() -> None:
    # spec: ARROW-003
    code = (
        "import sys, storeroom, storeroom.ext\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyarrow', 'pandas')))\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'pyarrow':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "try:\n"
        "    import storeroom.ext.arrow\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded, message = done.stdout.strip().splitlines()
    assert loaded == "[]"
    assert 'pip install "storeroom[arrow]"' in message


def test_output_without_atomic_write_is_one_plain_write_at_close() -> None:
    # spec: ARROW-030
    from storeroom.backend import Forwarding
    from storeroom.capabilities import Capability as C

    narrowed = Forwarding(MemoryBackend())
    narrowed.capabilities = narrowed.capabilities - {C.ATOMIC_WRITE, C.ATOMIC_MOVE}
    store = Store(narrowed)
    assert not store.supports(C.ATOMIC_WRITE)
    fs = arrow_filesystem(store)
    store.write("f.bin", b"old")
    out = fs.open_output_stream("f.bin")
    out.write(b"new" * 1000)
    assert store.read_bytes("f.bin") == b"old"
    out.close()
    assert store.read_bytes("f.bin") == b"new" * 1000
    dropped = fs.open_output_stream("g.bin")
    dropped.write(b"x")
    del dropped
    gc.collect()
    assert not store.exists("g.bin")
