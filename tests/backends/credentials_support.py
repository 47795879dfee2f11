"""What the refreshing-credentials tests of every backend share: busy round trips, leak checks."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterable

from storeroom import Store


def round_trips(store: Store, seconds: float, threads: int = 1) -> int:
    """Writes and reads in ``threads`` loops for ``seconds``; every round trip must succeed.

    Returns how many round trips were made; the first failure is raised.
    """
    done = [0] * threads
    errors: list[BaseException] = []

    def loop(i: int) -> None:
        end, n = time.monotonic() + seconds, 0
        try:
            while time.monotonic() < end:
                data = f"{i}-{n}".encode()
                store.write(f"t{i}/f{n % 4}.txt", data, overwrite=True)
                assert store.read_bytes(f"t{i}/f{n % 4}.txt") == data
                n += 1
                time.sleep(0.05)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        done[i] = n

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return sum(done)


def shown(store: Store, err: BaseException) -> list[str]:
    """What users and logs see of ``store`` and ``err``: reprs, message, whole traceback."""
    return [
        repr(store),
        repr(store._given),
        str(err),
        "".join(traceback.format_exception(err)),
    ]


def assert_hidden(secrets: Iterable[str], texts: Iterable[str]) -> None:
    """No secret appears in any of ``texts`` (the secret itself is never printed)."""
    blob = "\n".join(texts)
    leaked = [i for i, secret in enumerate(secrets) if secret in blob]
    assert not leaked, f"secrets number {leaked} appear in what users and logs see"
