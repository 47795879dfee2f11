"""Racing moves of one file keep exactly one copy on every ATOMIC_MOVE backend (BACKEND-013).

Eight threads move the same file to eight different names at once, 60 times over:
exactly one move succeeds, the others raise ``NotFound``, and exactly one file remains,
under the winner's name, with the original content.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Store
from storeroom.capabilities import Capability
from storeroom.errors import NotFound

TRIALS = 60
THREADS = 8
#: SFTP round trips are slower: fewer trials keep it to a few seconds (the old
#: link-then-unlink move broke about every second trial).
TRIALS_OF = {"sftp": 30}


def _config(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    if kind == "memory":
        return {"type": "memory"}
    if kind == "local":
        return {"type": "local", "options": {"root": str(tmp_path / "disk")}}
    if kind == "sqlite":
        return {"type": "sql-blob", "options": {"url": f"sqlite:///{tmp_path / 'blobs.db'}"}}
    if kind == "postgres":
        url = getattr(sys.modules["storeroom_service_target_postgres"], "PG_URL", None)
        if not url:
            pytest.fail('STOREROOM_TEST_SQL_URL is not set: eval "$(scripts/services up postgres)"')
        return {"type": "sql-blob", "options": {"url": url, "pool_size": THREADS}}
    target = sys.modules["storeroom_service_target_sftp"]
    if target.ENV is None:
        pytest.fail('no SFTP test server: eval "$(scripts/services up sftp)"')
    return {"type": "sftp", "options": target.sftp_options(target.ENV)}


@pytest.fixture(params=["local", "memory", "sqlite", "postgres", "sftp"])
def racing(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, int]]:
    """A fresh store of each ATOMIC_MOVE backend, with its number of trials."""
    config = {
        "backends": {"b": _config(request.param, tmp_path, request)},
        "stores": {"s": {"backend": "b", "root_path": f"race-{uuid.uuid4().hex[:12]}"}},
    }
    with Registry(RegistryConfig.from_dict(config)) as registry:
        s = registry.get_store("s")
        yield s, TRIALS_OF.get(request.param, TRIALS)
        root = Store(s.backend, owns_backend=False)
        root.delete_folder(s.root_path, recursive=True, missing_ok=True)


def test_racing_moves_of_one_file_leave_exactly_one_copy(racing: tuple[Store, int]) -> None:
    # spec: BACKEND-013, MEM-021, SQL-022, SFTP-044
    store, trials = racing
    assert store.supports(Capability.ATOMIC_MOVE)
    for t in range(trials):
        store.write(f"t{t}/src", f"content {t}".encode())
    barrier = threading.Barrier(THREADS)
    outcomes: list[list[str]] = [[] for _ in range(THREADS)]

    def mover(i: int) -> None:
        for t in range(trials):
            barrier.wait()
            try:
                store.move(f"t{t}/src", f"t{t}/dst{i}")
                outcomes[i].append("moved")
            except NotFound:
                outcomes[i].append("not found")
            except Exception as exc:  # anything else is a failure of the test
                outcomes[i].append(repr(exc))

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    bad = []
    for t in range(trials):
        results = [outcomes[i][t] for i in range(THREADS)]
        winners = [i for i, r in enumerate(results) if r == "moved"]
        files = sorted(str(f.path) for f in store.list_files(f"t{t}"))
        ok = len(winners) == 1 and results.count("not found") == THREADS - 1
        ok = ok and files == [f"t{t}/dst{winners[0]}"]
        if not ok or store.read_bytes(files[0]) != f"content {t}".encode():
            bad.append((t, results, files))
    assert not bad, f"{len(bad)} of {trials} trials broke: {bad[:3]}"
