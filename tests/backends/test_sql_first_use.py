"""SQL-003a: processes using a fresh sql-blob database at the same moment all succeed.

Dask workers, several CLI invocations or a web server's workers often touch a
new SQLite file (or a new table on PostgreSQL) together; the loser of the
CREATE TABLE race must see the winner's tables instead of failing.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig

PROCESSES = 4
TRIALS = 6


def _first_use(url: str, table: str, index: int, barrier: Any, results: Any) -> None:
    config = {
        "backends": {"b": {"type": "sql-blob", "options": {"url": url, "table_name": table}}},
        "stores": {"s": {"backend": "b"}},
    }
    try:
        with Registry(RegistryConfig.from_dict(config)) as registry:
            store = registry.get_store("s")
            barrier.wait(timeout=30)
            store.write(f"p{index}.txt", b"x")
        results.put((index, "ok"))
    except BaseException as exc:  # reported to the parent, which asserts on it
        results.put((index, f"{type(exc).__name__}: {exc} <- {exc.__cause__!r}"))


def _race(url: str, table: str) -> list[tuple[int, str]]:
    # spawn, not fork: a child forked while one of the suite's threads holds a lock
    # (an event loop, a logging handler) can hang before it ever touches SQLite.
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_first_use, args=(url, table, i, barrier, results))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=150) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
    return sorted(outcomes)


def _check(url: str, name: str) -> None:
    """All processes succeed on a fresh database/table, and every file is there."""
    outcomes = _race(url, name)
    assert outcomes == [(i, "ok") for i in range(PROCESSES)], outcomes
    config = {
        "backends": {"b": {"type": "sql-blob", "options": {"url": url, "table_name": name}}},
        "stores": {"s": {"backend": "b"}},
    }
    with Registry(RegistryConfig.from_dict(config)) as registry:
        names = sorted(f.path for f in registry.get_store("s").list_files(""))
    assert names == [f"p{i}.txt" for i in range(PROCESSES)]


def test_fresh_sqlite_file_used_by_several_processes_at_once(tmp_path: Path) -> None:
    # spec: SQL-003a
    for trial in range(TRIALS):
        _check(f"sqlite:///{tmp_path / f'fresh{trial}.db'}", "blobs")


def test_fresh_postgres_table_used_by_several_processes_at_once() -> None:
    # spec: SQL-003a
    url = os.environ.get("STOREROOM_TEST_SQL_URL", "")
    if not url:
        pytest.fail('STOREROOM_TEST_SQL_URL is not set: eval "$(scripts/services up postgres)"')
    for trial in range(TRIALS):
        _check(url, f"race{time.time_ns()}_{trial}")
