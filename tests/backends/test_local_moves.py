"""Racing moves of one file keep exactly one copy, on both ways ``local`` claims a name.

The rule itself is checked on every ATOMIC_MOVE target by the conformance suite
(``ConcurrencySuite.test_racing_moves_of_one_file_keep_exactly_one_copy``); here it
runs on the two kernel paths of the local backend, ``renameat2(RENAME_NOREPLACE)``
and the forced hard-link + unlink fallback, which a target cannot select.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from storeroom import Store
from storeroom.backends.local import LocalBackend, _fdpath
from storeroom.capabilities import Capability
from storeroom.errors import NotFound

THREADS = 8
TRIALS = 60


def _race(store: Store, folder: str, overwrite: bool) -> list[tuple[int, str]]:
    """Start ``THREADS`` moves of ``folder/src.bin`` at once; (thread, "won" or "lost")."""
    barrier = threading.Barrier(THREADS)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def mover(i: int) -> None:
        barrier.wait()
        try:
            store.move(f"{folder}/src.bin", f"{folder}/dst{i}.bin", overwrite=overwrite)
            outcome = "won"
        except NotFound:
            outcome = "lost"
        with lock:
            outcomes.append((i, outcome))

    pool = [threading.Thread(target=mover, args=(i,)) for i in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return outcomes


def assert_one_move_wins(store: Store, *, overwrite: bool, trials: int = TRIALS) -> None:
    """``THREADS`` threads move one file to ``THREADS`` names at once, ``trials`` times.

    Each time exactly one move succeeds, the others raise ``NotFound``, and
    exactly one file (the winner's destination, with the content) remains.
    """
    assert store.supports(Capability.ATOMIC_MOVE)
    for trial in range(trials):
        folder = f"race{trial}"
        store.write(f"{folder}/src.bin", b"payload %d" % trial)
        outcomes = _race(store, folder, overwrite)
        winners = [i for i, outcome in outcomes if outcome == "won"]
        assert len(winners) == 1, f"trial {trial}: {outcomes}"
        assert len(outcomes) == THREADS
        left = [str(f.path) for f in store.list_files(folder)]
        assert left == [f"{folder}/dst{winners[0]}.bin"], f"trial {trial}: {left}"
        assert store.read_bytes(left[0]) == b"payload %d" % trial


@pytest.fixture(params=["local-renameat2", "local-link+unlink"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Local with ``renameat2``, and with the hard-link fallback forced."""
    store = Store(LocalBackend(root=str(tmp_path / "root"), durable=False))
    store.exists("x")  # opens the root: the kernel's calls are known from here on
    if request.param == "local-link+unlink":
        monkeypatch.setattr(_fdpath, "_renameat2", None)
    elif _fdpath._renameat2 is None:
        pytest.fail("no renameat2 here: the renameat2 case cannot run")
    return store


@pytest.mark.parametrize("overwrite", [False, True])
def test_racing_moves_of_one_file_keep_exactly_one_copy(store: Store, overwrite: bool) -> None:
    # spec: LOCAL-050, BACKEND-013
    assert_one_move_wins(store, overwrite=overwrite)
