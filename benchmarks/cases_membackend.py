"""Per-call timing cases on the ``memory`` backend: write, exists, list.

The baseline (``raw``) is the least a program can do to keep files in memory:
a ``dict`` from path to bytes. Storing a ``bytes`` value keeps a reference
(no copy: ``bytes`` are immutable); ``exists`` is ``path in files``; a listing
is the keys with their sizes. The other contenders:

* ``storeroom``: a ``Store`` from ``Registry(RegistryConfig.from_dict(...))``
  with a ``memory`` backend and a non-empty ``root_path``, as users build one;
* ``remote-store``: the same configuration through remote-store's Registry;
* ``fsspec``: ``MemoryFileSystem`` (its files live in a class-wide dict; the
  case uses its own root folder and removes it afterwards);
* ``obstore``: ``obstore.store.MemoryStore`` (Rust).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from _cases import CaseSpec, fixed, ob_exists, ob_list, ob_put, paired_stores, run_cases, size_label
from _harness import TimingCase, Variant

__all__ = ["MEM_CASE_IDS", "MemoryFixture", "run_memory_backend_cases"]

STORE_ROOT = "bench"
SMALL = 1024


class MemoryFixture:
    """A dict, a storeroom and a remote-store memory store, fsspec and obstore, filled alike."""

    def __init__(self, file_size: int, list_count: int) -> None:
        import fsspec.implementations.memory as fsspec_memory
        import obstore.store

        self.file_size = file_size
        self.list_count = list_count
        config = {
            "backends": {"mem": {"type": "memory"}},
            "stores": {"bench": {"backend": "mem", "root_path": STORE_ROOT}},
        }
        self.sr_registry, self.storeroom, self.rs_registry, self.remote_store = paired_stores(
            config, "bench"
        )
        self.fs = fsspec_memory.MemoryFileSystem()
        self.fs_root = f"/storeroom-bench-{os.getpid()}"
        self.obstore = obstore.store.MemoryStore()
        self.files: dict[str, bytes] = {}  # the raw contender: path -> bytes
        self.listed: dict[str, bytes] = {}  # the raw listing: the folder's files only
        self.data = os.urandom(file_size)
        self.small = os.urandom(SMALL)
        self._put("data/hit.bin", b"x" * 100)
        for i in range(list_count):
            rel = f"list/f{i:06d}.bin"
            self._put(rel, b"y" * (i % 200))
            self.listed[rel] = self.files[rel]

    def _put(self, rel: str, data: bytes) -> None:
        self.files[rel] = data
        self.storeroom.write(rel, data, overwrite=True)
        self.remote_store.write(rel, data, overwrite=True)
        self.fs.pipe_file(f"{self.fs_root}/{rel}", data)
        ob_put(self.obstore, rel, data)

    def close(self) -> None:
        self.sr_registry.close()
        close = getattr(self.rs_registry, "close", None)
        if close is not None:
            close()
        if self.fs.exists(self.fs_root):
            self.fs.rm(self.fs_root, recursive=True)

    def verify(self) -> None:
        """Fail loudly if a contender does not do what the case assumes."""
        sr, rs, fs, ob = self.storeroom, self.remote_store, self.fs, self.obstore
        root, hit, miss = self.fs_root, "data/hit.bin", "data/miss.bin"
        assert hit in self.files and sr.exists(hit) and rs.exists(hit)
        assert fs.exists(f"{root}/{hit}")
        assert ob_exists(ob, hit) and not ob_exists(ob, miss)
        assert not (sr.exists(miss) or rs.exists(miss) or fs.exists(f"{root}/{miss}"))
        n = self.list_count
        assert len(_dict_list(self.listed)) == n
        assert len(list(sr.list_files("list"))) == n, "storeroom list_files count"
        assert len(list(rs.list_files("list"))) == n, "remote-store list_files count"
        assert len(fs.ls(f"{root}/list", detail=True)) == n, "fsspec ls count"
        assert len(ob_list(ob, "list")) == n, "obstore list count"
        for v in self.write_variants(self.data):
            v.prepare(1)()
        assert sr.read_bytes("write/storeroom.bin") == self.data
        assert rs.read_bytes("write/remote-store.bin") == self.data
        assert fs.cat_file(f"{root}/write/fsspec.bin") == self.data
        assert self.files["write/raw.bin"] is self.data

    def write_variants(self, data: bytes) -> list[Variant]:
        files, sr, rs, fs, ob = self.files, self.storeroom, self.remote_store, self.fs, self.obstore
        fs_path = f"{self.fs_root}/write/fsspec.bin"

        def raw() -> None:
            files["write/raw.bin"] = data

        return [
            fixed("raw", raw),
            fixed("storeroom", lambda: sr.write("write/storeroom.bin", data, overwrite=True)),
            fixed("remote-store", lambda: rs.write("write/remote-store.bin", data, overwrite=True)),
            fixed("fsspec", lambda: fs.pipe_file(fs_path, data)),
            fixed("obstore", lambda: ob_put(ob, "write/obstore.bin", data)),
        ]

    def exists_variants(self, rel: str) -> list[Variant]:
        files, sr, rs, fs, ob = self.files, self.storeroom, self.remote_store, self.fs, self.obstore
        fs_path = f"{self.fs_root}/{rel}"
        return [
            fixed("raw", lambda: rel in files),
            fixed("storeroom", lambda: sr.exists(rel)),
            fixed("remote-store", lambda: rs.exists(rel)),
            fixed("fsspec", lambda: fs.exists(fs_path)),
            fixed("obstore", lambda: ob_exists(ob, rel)),
        ]

    def list_variants(self) -> list[Variant]:
        listed, sr, rs = self.listed, self.storeroom, self.remote_store
        fs, ob = self.fs, self.obstore
        fs_path = f"{self.fs_root}/list"
        return [
            fixed("raw", lambda: _dict_list(listed)),
            fixed("storeroom", lambda: list(sr.list_files("list"))),
            fixed("remote-store", lambda: list(rs.list_files("list"))),
            fixed("fsspec", lambda: fs.ls(fs_path, detail=True)),
            fixed("obstore", lambda: ob_list(ob, "list")),
        ]

    def changed_list_variants(self) -> list[Variant]:
        """Overwrite one file of the folder, then list it: a listing of a changed folder."""
        listed, sr, rs = self.listed, self.storeroom, self.remote_store
        fs, ob = self.fs, self.obstore
        rel, data = "list/f000000.bin", b""
        fs_path = f"{self.fs_root}/list"

        def raw() -> object:
            listed[rel] = data
            return _dict_list(listed)

        def storeroom() -> object:
            sr.write(rel, data, overwrite=True)
            return list(sr.list_files("list"))

        def remote() -> object:
            rs.write(rel, data, overwrite=True)
            return list(rs.list_files("list"))

        def fsspec() -> object:
            fs.pipe_file(f"{fs_path}/f000000.bin", data)
            return fs.ls(fs_path, detail=True)

        def obs() -> object:
            ob_put(ob, rel, data)
            return ob_list(ob, "list")

        return [
            fixed("raw", raw),
            fixed("storeroom", storeroom),
            fixed("remote-store", remote),
            fixed("fsspec", fsspec),
            fixed("obstore", obs),
        ]


def _dict_list(files: dict[str, bytes]) -> list[tuple[str, int]]:
    return [(k, len(v)) for k, v in files.items()]


def _specs(fx: MemoryFixture) -> list[CaseSpec[MemoryFixture]]:
    return [
        CaseSpec(
            "mem_write",
            f"memory: write {size_label(fx.file_size)}, overwrite=True",
            lambda f: f.write_variants(f.data),
            2.0,
            note="raw stores a reference in a dict (bytes are immutable, nothing is copied)",
        ),
        CaseSpec(
            "mem_write_small",
            f"memory: write {size_label(SMALL)}, overwrite=True",
            lambda f: f.write_variants(f.small),
            None,
            limit_us=5.0,
        ),
        CaseSpec(
            "mem_exists",
            "memory: exists (hit)",
            lambda f: f.exists_variants("data/hit.bin"),
            3.0,
            note="raw is `path in files`, one dict lookup",
        ),
        CaseSpec(
            "mem_exists_miss",
            "memory: exists (miss)",
            lambda f: f.exists_variants("data/miss.bin"),
            3.0,
        ),
        CaseSpec(
            "mem_list",
            f"memory: list_files, {fx.list_count:,} files in one folder",
            MemoryFixture.list_variants,
            10.0,
            note="raw is [(path, len(data)) for path, data in files.items()] over a dict "
            "holding just that folder's files; storeroom lists an unchanged folder from the "
            "entries it kept (MEM-016)",
        ),
        CaseSpec(
            "mem_list_changed",
            f"memory: write 1 file, then list_files of its {fx.list_count:,}-file folder",
            MemoryFixture.changed_list_variants,
            None,
            note="no target: each call changes the folder first, so storeroom builds every "
            "entry afresh",
        ),
    ]


MEM_CASE_IDS = (
    "mem_write",
    "mem_write_small",
    "mem_exists",
    "mem_exists_miss",
    "mem_list",
    "mem_list_changed",
)


def run_memory_backend_cases(
    fixture: MemoryFixture,
    *,
    rounds: int,
    sample_ns: int,
    overhead_ns: float,
    only: set[str] | None = None,
    log: Callable[[str], Any] = print,
) -> list[TimingCase]:
    return run_cases(
        fixture,
        _specs(fixture),
        rounds=rounds,
        sample_ns=sample_ns,
        overhead_ns=overhead_ns,
        only=only,
        log=log,
        group="memory",
    )
