"""StoreroomFileSystem behaviour on every writable backend (real servers)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from fsspec_support import fs_on

from every_backend import WRITABLE
from storeroom.errors import AlreadyExists, InvalidPath, NotFound

pytestmark = pytest.mark.parametrize("backend", WRITABLE)


def test_info_and_ls_carry_name_size_type_mtime_etag(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-020, FSSPEC-002
    with fs_on(backend, tmp_path) as fs:
        fs.pipe_file("s/d/a.txt", b"hello")
        fs.pipe_file("s/d/sub/b.txt", b"xy")
        info = fs.info("storeroom://s/d/a.txt")
        assert info["name"] == "s/d/a.txt" and info["size"] == 5 and info["type"] == "file"
        assert isinstance(info["mtime"], float)
        assert info["etag"] == fs.store_for("s").get_file_info("d/a.txt").etag
        assert fs.info("s/d")["type"] == "directory"
        listing = {e["name"]: e for e in fs.ls("s/d", detail=True)}
        assert sorted(listing) == ["s/d/a.txt", "s/d/sub"]
        assert listing["s/d/a.txt"]["etag"] == info["etag"]
        assert listing["s/d/sub"]["type"] == "directory"
        assert fs.ls("s/d/a.txt", detail=False) == ["s/d/a.txt"]
        assert "s" in fs.ls("", detail=False)  # the config root lists its stores
        with pytest.raises(NotFound):
            fs.ls("s/nope")
        with pytest.raises(NotFound):
            fs.info("s/d/missing.txt")


def test_checksum_and_ukey_follow_the_etag(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-024, FSSPEC-025
    with fs_on(backend, tmp_path) as fs:
        fs.pipe_file("s/c.bin", b"one")
        first, key = fs.checksum("s/c.bin"), fs.ukey("s/c.bin")
        assert key == (fs.info("s/c.bin")["etag"] or key)
        assert fs.checksum("s/c.bin") == first
        fs.pipe_file("s/c.bin", b"two!")
        assert fs.checksum("s/c.bin") != first and fs.ukey("s/c.bin") != key
        assert fs.modified("s/c.bin").tzinfo is not None


def test_cat_file_ranges(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-011
    with fs_on(backend, tmp_path) as fs:
        data = bytes(range(256)) * 4
        fs.pipe_file("s/r.bin", data)
        assert fs.cat_file("s/r.bin") == data
        assert fs.cat_file("s/r.bin", 10, 20) == data[10:20]
        assert fs.cat_file("s/r.bin", -16) == data[-16:]
        assert fs.cat_file("s/r.bin", 1000, 5000) == data[1000:]
        assert fs.cat_file("s/r.bin", 5, 5) == b""
        assert fs.cat(["s/r.bin"]) == {"s/r.bin": data}


def test_random_access_read(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-010
    with fs_on(backend, tmp_path) as fs:
        data = bytes(i % 251 for i in range(300_000))
        fs.pipe_file("s/big.bin", data)
        with fs.open("s/big.bin", "rb", block_size=64 * 1024) as f:
            assert f.size == len(data) and f.details["name"] == "s/big.bin"
            f.seek(200_000)
            assert f.read(10) == data[200_000:200_010]
            f.seek(-5, 2)
            assert f.read() == data[-5:]
            f.seek(3)
            assert f.read(100_000) == data[3:100_003]


def test_streamed_write_is_published_on_close_only(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-012
    with fs_on(backend, tmp_path) as fs:
        block = 64 * 1024
        f = fs.open("s/w/out.bin", "wb", block_size=block)
        for i in range(5):  # several blocks: the writer thread is already streaming
            f.write(bytes([i]) * block)
        assert not fs.exists("s/w/out.bin")
        f.close()
        assert fs.cat_file("s/w/out.bin") == b"".join(bytes([i]) * block for i in range(5))
        with fs.open("s/w/out.bin", "wb") as g:  # "wb" overwrites
            g.write(b"new")
        assert fs.cat_file("s/w/out.bin") == b"new"


def test_failed_or_discarded_write_leaves_nothing(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-013
    with fs_on(backend, tmp_path) as fs:
        block = 64 * 1024
        with pytest.raises(RuntimeError), fs.open("s/f/a.bin", "wb", block_size=block) as f:
            f.write(b"x" * block * 3)
            raise RuntimeError("boom")
        assert not fs.exists("s/f/a.bin")
        fs.pipe_file("s/f/keep.bin", b"old")
        f = fs.open("s/f/keep.bin", "wb", block_size=block)
        f.write(b"y" * block * 3)
        f.discard()
        assert fs.cat_file("s/f/keep.bin") == b"old"
        f = fs.open("s/f/dropped.bin", "wb", block_size=block)
        f.write(b"z" * block * 2)
        del f
        gc.collect()
        assert not fs.exists("s/f/dropped.bin")


def test_exclusive_create(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-012, FSSPEC-015, FSSPEC-035
    with fs_on(backend, tmp_path) as fs:
        fs.pipe_file("s/x.txt", b"1")
        with pytest.raises(AlreadyExists):
            fs.open("s/x.txt", "xb")
        with pytest.raises(AlreadyExists):
            fs.pipe_file("s/x.txt", b"2", mode="create")
        f = fs.open("s/y.txt", "xb")
        fs.pipe_file("s/y.txt", b"raced")  # someone else wins before close
        f.write(b"mine")
        with pytest.raises(AlreadyExists):
            f.close()
        assert fs.cat_file("s/y.txt") == b"raced"


def test_mkdir_rmdir_follow_the_folder_model(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-030
    with fs_on(backend, tmp_path) as fs:
        real = fs.store_for("s").backend.real_folders
        fs.mkdir("s/m/n")
        assert fs.exists("s/m/n") is real
        if real:
            assert fs.ls("s/m", detail=False) == ["s/m/n"]
        else:
            assert not fs.exists("s/m")  # nothing was made
        fs.rmdir("s/m/n")  # empty folder (or empty prefix): removed / nothing to do
        assert not fs.exists("s/m/n")
        fs.pipe_file("s/m/f.txt", b"1")
        with pytest.raises(OSError):
            fs.rmdir("s/m")  # not empty
        assert fs.isdir("s/m")


def test_find_glob_du_walk(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-031
    with fs_on(backend, tmp_path) as fs:
        for p in ["a.csv", "b.txt", "x/c.csv", "x/y/d.csv"]:
            fs.pipe_file(f"s/g/{p}", b"12345")
        assert fs.find("s/g") == ["s/g/a.csv", "s/g/b.txt", "s/g/x/c.csv", "s/g/x/y/d.csv"]
        assert fs.find("s/g", maxdepth=1) == ["s/g/a.csv", "s/g/b.txt"]
        assert fs.find("s/g", withdirs=True, maxdepth=2) == [
            "s/g",
            "s/g/a.csv",
            "s/g/b.txt",
            "s/g/x",
            "s/g/x/c.csv",
            "s/g/x/y",
        ]
        assert fs.glob("s/g/**/*.csv") == ["s/g/a.csv", "s/g/x/c.csv", "s/g/x/y/d.csv"]
        assert fs.glob("storeroom://s/g/*.txt") == ["s/g/b.txt"]
        assert fs.du("s/g") == 20
        walked = {root: sorted(files) for root, _, files in fs.walk("s/g")}
        assert walked == {"s/g": ["a.csv", "b.txt"], "s/g/x": ["c.csv"], "s/g/x/y": ["d.csv"]}
        assert fs.find("s/nothing") == []


def test_rm_mv_copy_put_get(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-032, FSSPEC-033, FSSPEC-034
    with fs_on(backend, tmp_path) as fs:
        local = tmp_path / "up"
        (local / "sub").mkdir(parents=True)
        (local / "one.txt").write_bytes(b"1")
        (local / "sub" / "two.txt").write_bytes(b"22")
        fs.put(str(local), "s/p", recursive=True)
        assert fs.find("s/p") == ["s/p/one.txt", "s/p/sub/two.txt"]
        fs.cp("s/p/one.txt", "s/p/copy.txt")
        assert fs.cat_file("s/p/copy.txt") == b"1"
        fs.mv("s/p/copy.txt", "s/q/moved.txt")
        assert not fs.exists("s/p/copy.txt") and fs.cat_file("s/q/moved.txt") == b"1"
        fs.cp("s/p", "s/c", recursive=True)
        assert fs.find("s/c") == ["s/c/one.txt", "s/c/sub/two.txt"]
        fs.get("s/c", str(tmp_path / "down"), recursive=True)
        assert (tmp_path / "down" / "sub" / "two.txt").read_bytes() == b"22"
        fs.rm("s/c", recursive=True)
        assert not fs.exists("s/c")
        fs.rm(["s/p/one.txt", "s/q/moved.txt"])
        assert fs.find("s/p") == ["s/p/sub/two.txt"] and not fs.exists("s/q/moved.txt")
        with pytest.raises(NotFound):
            fs.rm("s/p/gone.txt")


def test_errors_are_storeroom_errors(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-035, FSSPEC-002
    with fs_on(backend, tmp_path) as fs:
        with pytest.raises(NotFound) as missing:
            fs.cat_file("s/none.bin")
        assert missing.value.path == "none.bin" and missing.value.store == "s"
        with pytest.raises(NotFound) as unknown:
            fs.open("nostore/a.csv", "rb")
        assert "known stores: s" in str(unknown.value)
        fs.pipe_file("s/dir/f", b"1")
        with pytest.raises(InvalidPath):
            fs.open("s/dir", "rb")
        with pytest.raises(InvalidPath):
            fs.cat_file("s/../x")
