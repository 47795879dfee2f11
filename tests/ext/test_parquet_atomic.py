"""Atomic publishing of Parquet datasets: a writer killed with SIGKILL at random points,
failures injected at every step of a write, readers racing a writer (spec PARQUET-011..015,
PARQUET-024)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pytest

import storeroom
from storeroom import Store
from storeroom.backend import Backend, Forwarding, Source
from storeroom.backends.memory import MemoryBackend
from storeroom.errors import BackendUnavailable, DatasetIncomplete, NotFound
from storeroom.ext.parquet import ParquetDatasetStore
from storeroom.models import WriteResult
from storeroom.testing.conformance.targets import registered_targets

KILLS = 12


def generation(gen: int) -> pa.Table:
    """Version ``gen`` of the dataset: every row says ``gen``; its size depends on ``gen``."""
    rows = 120 + (gen % 7) * 40
    return pa.table(
        {
            "gen": pa.array([gen] * rows, pa.int64()),
            "i": range(rows),
            "p": [i % 3 for i in range(rows)],
        }
    )


def expected_rows(gen: int) -> int:
    return 120 + (gen % 7) * 40


def assert_whole(table: pa.Table) -> int:
    """One complete generation, never a mix; returns it."""
    gens = set(table["gen"].to_pylist())
    assert len(gens) == 1, f"a mix of versions: {sorted(gens)}"
    gen = gens.pop()
    assert table.num_rows == expected_rows(gen)
    assert sorted(table["i"].to_pylist()) == list(range(expected_rows(gen)))
    return int(gen)


# Imports once, then forks one writer per kill: a fresh interpreter per kill would
# spend seconds importing pyarrow. Each writer opens its own store after the fork.
ZYGOTE = """
import json, os, sqlite3, sys
import pyarrow as pa
import sqlalchemy, sqlalchemy.dialects.sqlite
import storeroom.backends.local, storeroom.backends.sql
from storeroom import Registry, RegistryConfig
from storeroom.ext.parquet import ParquetDatasetStore

config = json.loads(sys.argv[1])
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:
        try:
            store = Registry(RegistryConfig.from_dict(config)).get_store("s")
            pds = ParquetDatasetStore(store, max_rows_per_file=25)
            print("ready", os.getpid(), flush=True)
            gen = int(line)
            while True:
                rows = 120 + (gen % 7) * 40
                table = pa.table({"gen": pa.array([gen] * rows, pa.int64()), "i": range(rows),
                                  "p": [i % 3 for i in range(rows)]})
                pds.write_dataset(table, "ds", overwrite=True, partition_cols=["p"])
                gen += 1
        finally:
            os._exit(1)
    os.waitpid(pid, 0)
    print("dead", flush=True)
"""


@pytest.mark.parametrize("backend", ["local", "sql-sqlite"])
def test_writer_killed_at_random_points(backend: str, tmp_path: Path) -> None:
    # spec: PARQUET-012, PARQUET-013, PARQUET-014
    table = registered_targets()[backend].backend_table(tmp_path)
    config = {"backends": {"b": table}, "stores": {"s": {"backend": "b", "root_path": "kill"}}}
    registry = storeroom.Registry(storeroom.RegistryConfig.from_dict(config))
    store = registry.get_store("s")
    pds = ParquetDatasetStore(store)
    env = {**os.environ, "PYTHONPATH": str(Path(storeroom.__file__).parents[1])}
    zygote = subprocess.Popen(
        [sys.executable, "-c", ZYGOTE, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert zygote.stdin is not None and zygote.stdout is not None
    rng = random.Random(73)
    seen: list[int] = []
    orphaned = 0
    try:
        for kill in range(KILLS):
            zygote.stdin.write(f"{kill * 10_000}\n")
            zygote.stdin.flush()
            word, pid = zygote.stdout.readline().split()
            assert word == "ready"
            time.sleep(rng.uniform(0.0, 0.3))
            os.kill(int(pid), signal.SIGKILL)
            assert zygote.stdout.readline().strip() == "dead"
            if len(list(store.list_folders("ds/_parts"))) > 1:
                orphaned += 1  # this kill landed between staging parts and the sweep
            try:
                gen = assert_whole(pds.read_dataset("ds"))
            except (DatasetIncomplete, NotFound):
                assert not seen, "a published dataset disappeared"
                continue
            assert gen // 10_000 == kill or gen in seen[-1:]
            seen.append(gen)
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=30)
        zygote.stdout.close()
    print(f"{backend}: {orphaned} of {KILLS} kills left orphaned parts")
    assert orphaned >= 2  # kills really landed in the middle of writes
    assert len(seen) >= KILLS // 2  # most kills landed after a publish: a real test
    assert len({g // 10_000 for g in seen}) >= KILLS // 2
    survivors = sorted(e.name for e in store.list_folders("ds/_parts"))
    final = pds.write_dataset(generation(5), "ds", overwrite=True)
    assert sorted(e.name for e in store.list_folders("ds/_parts")) == [final.version]
    assert assert_whole(pds.read_dataset("ds")) == 5
    assert final.version not in survivors
    registry.close()


class FailAt(Forwarding):
    """Raises ``BackendUnavailable`` on the ``n``-th write whose key passes ``match``."""

    def __init__(self, inner: Backend, n: int, match: Callable[[str], bool]) -> None:
        super().__init__(inner)
        self.n, self.match, self.seen = n, match, 0

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        if self.match(key):
            self.seen += 1
            if self.seen == self.n:
                raise BackendUnavailable("injected failure", path=key)
        return super().write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)


def parts_only(key: str) -> bool:
    return key.endswith(".parquet")


@pytest.mark.parametrize(
    ("n", "match"),
    [(1, parts_only), (4, parts_only), (1, lambda k: k.endswith("manifest.json"))],
    ids=["first-part", "fourth-part", "manifest"],
)
def test_failure_before_publish_keeps_previous_and_removes_staged(
    n: int, match: Callable[[str], bool], tmp_path: Path
) -> None:
    # spec: PARQUET-012, PARQUET-013
    from storeroom.backends.local import LocalBackend

    inner = LocalBackend(root=str(tmp_path))
    good = ParquetDatasetStore(Store(inner, owns_backend=False), max_rows_per_file=25)
    first = good.write_dataset(generation(1), "ds", partition_cols=["p"])
    failing = ParquetDatasetStore(Store(FailAt(inner, n, match)), max_rows_per_file=25)
    with pytest.raises(BackendUnavailable):
        failing.write_dataset(generation(2), "ds", overwrite=True, partition_cols=["p"])
    assert assert_whole(good.read_dataset("ds")) == 1
    staged = sorted(p.name for p in (tmp_path / "ds" / "_parts").iterdir())
    assert staged == [first.version]
    assert (tmp_path / "ds" / "_SUCCESS").read_text() == first.version


def test_failure_after_publish_is_the_new_version_and_cleanup_fixes_marker(
    tmp_path: Path,
) -> None:
    # spec: PARQUET-011, PARQUET-042
    inner = MemoryBackend()
    good = ParquetDatasetStore(Store(inner, owns_backend=False))
    first = good.write_dataset(generation(1), "ds")
    failing = ParquetDatasetStore(Store(FailAt(inner, 1, lambda k: k.endswith("_SUCCESS"))))
    with pytest.raises(BackendUnavailable):
        failing.write_dataset(generation(2), "ds", overwrite=True)
    assert assert_whole(good.read_dataset("ds")) == 2  # the manifest is the commit point
    store = Store(inner, owns_backend=False)
    assert store.read_text("ds/_SUCCESS") == first.version  # stale marker
    removed = good.cleanup("ds")
    assert removed == [f"ds/_parts/{first.version}"]
    assert store.read_text("ds/_SUCCESS") == good.read_manifest("ds").version


class SwapOnFirstRead(Forwarding):
    """On the first part read, publishes a new version underneath the reader."""

    def __init__(self, inner: Backend, swap: Callable[[], None]) -> None:
        super().__init__(inner)
        self.swap: Callable[[], None] | None = swap

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        if self.swap is not None and key.endswith(".parquet"):
            swap, self.swap = self.swap, None
            swap()
        return super().open_read(key, start, end)


def test_reader_follows_a_version_published_while_it_reads() -> None:
    # spec: PARQUET-024
    inner = MemoryBackend()
    writer = ParquetDatasetStore(Store(inner, owns_backend=False), max_rows_per_file=30)
    writer.write_dataset(generation(1), "ds")
    swapping = SwapOnFirstRead(
        inner, lambda: writer.write_dataset(generation(2), "ds", overwrite=True)
    )
    reader = ParquetDatasetStore(Store(swapping))
    assert assert_whole(reader.read_dataset("ds")) == 2


def test_readers_racing_a_writer_see_whole_versions(tmp_path: Path) -> None:
    # spec: PARQUET-012
    from storeroom.backends.local import LocalBackend

    store = Store(LocalBackend(root=str(tmp_path)))
    pds = ParquetDatasetStore(store, max_rows_per_file=40)
    pds.write_dataset(generation(0), "ds", partition_cols=["p"])
    stop = threading.Event()

    def write_forever() -> None:
        gen = 1
        while not stop.is_set():
            pds.write_dataset(generation(gen), "ds", overwrite=True, partition_cols=["p"])
            gen += 1

    thread = threading.Thread(target=write_forever)
    thread.start()
    try:
        seen = {assert_whole(pds.read_dataset("ds")) for _ in range(60)}
    finally:
        stop.set()
        thread.join()
    assert len(seen) > 1  # the writer really published while readers read
