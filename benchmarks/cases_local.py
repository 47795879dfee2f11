"""Per-call timing cases on the local disk: exists, read, write, list.

All contenders work on the same folder of the same temporary directory:

* ``raw``: plain ``os``/``open`` calls, the baseline of every ratio;
* ``pathlib``: the same through :class:`pathlib.Path` (``exists`` only);
* ``storeroom``: a ``Store`` from ``Registry(RegistryConfig.from_dict(...))``
  with a non-empty ``root_path``, as users build one;
* ``remote-store``: the same configuration through remote-store's Registry;
* ``fsspec``: ``LocalFileSystem(auto_mkdir=True)`` on absolute paths (like
  storeroom, it creates missing parent folders on write);
* ``obstore``: ``obstore.store.LocalStore`` with the store's folder as its
  prefix (Rust; the fastest client a user can pick today);
* ``raw-unsorted`` (listing only): ``os.scandir`` plus one ``stat`` per entry,
  not sorted: the least work that yields names, sizes and times.

The plain-Python and fsspec contenders build the absolute path inside the
timed call (``os.path.join(root, rel)``), because that is work their users do
on every call; storeroom and remote-store take the store-relative path.
"""

from __future__ import annotations

import itertools
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from _cases import (
    CaseSpec,
    MiB,
    fixed,
    ob_exists,
    ob_get,
    ob_list,
    ob_put,
    paired_stores,
    run_cases,
    size_label,
)
from _harness import TimingCase, Variant

__all__ = ["LocalFixture", "Sizes", "run_timing_cases"]

STORE_ROOT = "bench"  # the stores' root_path inside the backend root


@dataclass(frozen=True)
class Sizes:
    file_size: int = MiB
    list_count: int = 1000


class LocalFixture:
    """The files and the four clients every timing case uses."""

    def __init__(self, base: str, sizes: Sizes) -> None:
        import fsspec.implementations.local as fsspec_local
        import obstore.store

        self.sizes = sizes
        self.backend_root = os.path.join(base, "disk")
        self.root = os.path.join(self.backend_root, STORE_ROOT)  # what rel paths hang off
        os.makedirs(self.root, exist_ok=True)
        config = {
            "backends": {"disk": {"type": "local", "options": {"root": self.backend_root}}},
            "stores": {"bench": {"backend": "disk", "root_path": STORE_ROOT}},
        }
        self.sr_registry, self.storeroom, self.rs_registry, self.remote_store = paired_stores(
            config, "bench"
        )
        self.fs = fsspec_local.LocalFileSystem(auto_mkdir=True)
        self.obstore = obstore.store.LocalStore(self.root)
        self.data = os.urandom(sizes.file_size)
        self._counter = itertools.count()

        self._put("data/hit.bin", b"x" * 100)
        self._put("data/read.bin", self.data)
        for name in WRITERS:
            self._put(f"write/{name}.bin", self.data)
        os.makedirs(os.path.join(self.root, "fresh"), exist_ok=True)
        for i in range(sizes.list_count):
            self._put(f"list/f{i:06d}.bin", b"y" * (i % 200))

    def _put(self, rel: str, data: bytes) -> None:
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    def close(self) -> None:
        self.sr_registry.close()
        close = getattr(self.rs_registry, "close", None)
        if close is not None:
            close()

    # -- sanity: every contender sees the same thing ---------------------------------

    def verify(self) -> None:
        """Fail loudly if a contender does not do what the case assumes."""
        root, rel_hit, rel_miss = self.root, "data/hit.bin", "data/miss.bin"
        sr, rs, fs = self.storeroom, self.remote_store, self.fs
        assert sr.exists(rel_hit) and rs.exists(rel_hit) and fs.exists(f"{root}/{rel_hit}")
        assert not (sr.exists(rel_miss) or rs.exists(rel_miss) or fs.exists(f"{root}/{rel_miss}"))
        assert ob_exists(self.obstore, rel_hit) and not ob_exists(self.obstore, rel_miss)
        assert bytes(ob_get(self.obstore, "data/read.bin")) == self.data
        assert sr.read_bytes("data/read.bin") == self.data
        assert rs.read_bytes("data/read.bin") == self.data
        assert fs.cat_file(f"{root}/data/read.bin") == self.data
        n = self.sizes.list_count
        assert len(list(sr.list_files("list"))) == n, "storeroom list_files count"
        assert len(list(rs.list_files("list"))) == n, "remote-store list_files count"
        assert len(fs.ls(f"{root}/list", detail=True)) == n, "fsspec ls count"
        assert len(_raw_list(os.path.join(root, "list"))) == n
        assert len(_raw_unsorted(os.path.join(root, "list"))) == n
        assert len(ob_list(self.obstore, "list")) == n, "obstore list count"
        names = [i.name for i in sr.list_files("list")]
        assert names == sorted(names), "storeroom listing must be sorted"
        self._verify_writes()

    def _verify_writes(self) -> None:
        """Each write variant leaves exactly the data on disk, fresh and overwritten."""
        shorter = self.data[: len(self.data) // 2]
        for variants in (self.create_variants(), self.overwrite_variants()):
            for v in variants:
                op = v.prepare(1)
                op()
                if v.after is not None:
                    v.after()
        for name in WRITERS:
            with open(os.path.join(self.root, f"write/{name}.bin"), "rb") as f:
                assert f.read() == self.data, f"{name}: overwrite left other content"
        # An overwrite with shorter content must not keep the old tail.
        self.storeroom.write("write/storeroom.bin", shorter, overwrite=True)
        with open(os.path.join(self.root, "write/storeroom.bin"), "rb") as f:
            assert f.read() == shorter, "storeroom: shorter overwrite kept old bytes"
        self.storeroom.write("write/storeroom.bin", self.data, overwrite=True)
        created = [
            self.storeroom.write("fresh/verify-sr.bin", self.data),
            self.remote_store.write("fresh/verify-rs.bin", self.data),
        ]
        assert all(r.size == len(self.data) for r in created)
        for rel in ("fresh/verify-sr.bin", "fresh/verify-rs.bin"):
            path = os.path.join(self.root, rel)
            with open(path, "rb") as f:
                assert f.read() == self.data, f"{rel}: create-only write content"
            os.unlink(path)
        assert not os.listdir(os.path.join(self.root, "fresh")), "create variants left files"

    # -- variants ----------------------------------------------------------------------

    def exists_variants(self, rel: str) -> list[Variant]:
        root, join, exists = self.root, os.path.join, os.path.exists
        proot = pathlib.Path(root)
        sr, rs, fs, ob = self.storeroom, self.remote_store, self.fs, self.obstore
        return [
            fixed("raw", lambda: exists(join(root, rel))),
            fixed("pathlib", lambda: (proot / rel).exists()),
            fixed("storeroom", lambda: sr.exists(rel)),
            fixed("remote-store", lambda: rs.exists(rel)),
            fixed("fsspec", lambda: fs.exists(join(root, rel))),
            fixed("obstore", lambda: ob_exists(ob, rel)),
        ]

    def read_variants(self) -> list[Variant]:
        root, join, rel = self.root, os.path.join, "data/read.bin"
        sr, rs, fs = self.storeroom, self.remote_store, self.fs

        def raw() -> bytes:
            with open(join(root, rel), "rb") as f:
                return f.read()

        ob = self.obstore
        return [
            fixed("raw", raw),
            fixed("storeroom", lambda: sr.read_bytes(rel)),
            fixed("remote-store", lambda: rs.read_bytes(rel)),
            fixed("fsspec", lambda: fs.cat_file(join(root, rel))),
            fixed("obstore", lambda: ob_get(ob, rel)),
        ]

    def overwrite_variants(self) -> list[Variant]:
        root, join, data = self.root, os.path.join, self.data
        sr, rs, fs = self.storeroom, self.remote_store, self.fs

        def raw() -> None:
            with open(join(root, "write/raw.bin"), "wb") as f:
                f.write(data)

        return [
            fixed("raw", raw),
            fixed("storeroom", lambda: sr.write("write/storeroom.bin", data, overwrite=True)),
            fixed("remote-store", lambda: rs.write("write/remote-store.bin", data, overwrite=True)),
            fixed("fsspec", lambda: fs.pipe_file(join(root, "write/fsspec.bin"), data)),
            fixed("obstore", lambda: ob_put(self.obstore, "write/obstore.bin", data)),
        ]

    def create_variants(self) -> list[Variant]:
        """Create-only writes, each call to a name that does not exist yet."""
        root, join, data = self.root, os.path.join, self.data
        sr, rs, fs = self.storeroom, self.remote_store, self.fs

        def raw(rel: str) -> None:
            with open(join(root, rel), "xb") as f:  # "x": fail if it exists, like the others
                f.write(data)

        return [
            self._fresh("raw", raw),
            self._fresh("storeroom", lambda rel: sr.write(rel, data)),
            self._fresh("remote-store", lambda rel: rs.write(rel, data)),
            self._fresh("fsspec", lambda rel: fs.pipe_file(join(root, rel), data, mode="create")),
            self._fresh("obstore", lambda rel: ob_put(self.obstore, rel, data, mode="create")),
        ]

    def _fresh(self, name: str, write: Callable[[str], object]) -> Variant:
        made: list[str] = []

        def prepare(number: int) -> Callable[[], object]:
            made[:] = [f"fresh/{name}-{next(self._counter)}.bin" for _ in range(number)]
            names = iter(made)
            return lambda: write(next(names))

        def after() -> None:
            for rel in made:
                try:
                    os.unlink(os.path.join(self.root, rel))
                except FileNotFoundError:
                    pass
            made.clear()

        return Variant(name, prepare, after)

    def list_variants(self) -> list[Variant]:
        root, join = self.root, os.path.join
        sr, rs, fs = self.storeroom, self.remote_store, self.fs
        folder = join(root, "list")
        ob = self.obstore
        return [
            fixed("raw", lambda: _raw_list(folder)),
            fixed("raw-unsorted", lambda: _raw_unsorted(folder)),
            fixed("storeroom", lambda: list(sr.list_files("list"))),
            fixed("remote-store", lambda: list(rs.list_files("list"))),
            fixed("fsspec", lambda: fs.ls(join(root, "list"), detail=True)),
            fixed("obstore", lambda: ob_list(ob, "list")),
        ]


#: Contenders of the write cases (each overwrites its own file).
WRITERS = ("raw", "storeroom", "remote-store", "fsspec", "obstore")


def _raw_list(d: str) -> list[tuple[str, int, float]]:
    return sorted(
        (e.name, st.st_size, st.st_mtime) for e in os.scandir(d) if e.is_file() for st in [e.stat()]
    )


def _raw_unsorted(d: str) -> list[tuple[str, int, float]]:
    return [
        (e.name, st.st_size, st.st_mtime) for e in os.scandir(d) if e.is_file() for st in [e.stat()]
    ]


def _specs(sizes: Sizes) -> list[CaseSpec[LocalFixture]]:
    size = size_label(sizes.file_size)
    return [
        CaseSpec("exists_hit", "exists (hit)", lambda fx: fx.exists_variants("data/hit.bin"), 2.0),
        CaseSpec(
            "exists_miss", "exists (miss)", lambda fx: fx.exists_variants("data/miss.bin"), 2.0
        ),
        CaseSpec("read_bytes", f"read_bytes {size}", LocalFixture.read_variants, 1.2),
        CaseSpec(
            "write_overwrite",
            f"write {size}, overwrite=True onto existing",
            LocalFixture.overwrite_variants,
            1.3,
            note="raw opens with 'wb', which truncates to zero first; on ext4 closing a "
            "file truncated that way starts writeback of its data. storeroom writes a "
            "temporary file and exchanges it with the target (crash-safe), which does not; "
            "neither side fsyncs (storeroom fsyncs only atomic writes)",
        ),
        CaseSpec(
            "write_create",
            f"write {size}, create-only, fresh names",
            LocalFixture.create_variants,
            1.3,
            note="raw uses open(p, 'xb'), the create-only equivalent",
        ),
        CaseSpec(
            "list_files",
            f"list_files, {sizes.list_count:,} files in one folder",
            LocalFixture.list_variants,
            1.5,
            note="raw sorts by name like storeroom; raw-unsorted is os.scandir plus one "
            "stat per entry and nothing else; the 1.5x target is checked against both",
            baselines=("raw", "raw-unsorted"),
        ),
    ]


CASE_IDS = (
    "exists_hit",
    "exists_miss",
    "read_bytes",
    "write_overwrite",
    "write_create",
    "list_files",
)


def run_timing_cases(
    fixture: LocalFixture,
    *,
    rounds: int,
    sample_ns: int,
    overhead_ns: float,
    only: set[str] | None = None,
    log: Callable[[str], Any] = print,
) -> list[TimingCase]:
    return run_cases(
        fixture,
        _specs(fixture.sizes),
        rounds=rounds,
        sample_ns=sample_ns,
        overhead_ns=overhead_ns,
        only=only,
        log=log,
    )
