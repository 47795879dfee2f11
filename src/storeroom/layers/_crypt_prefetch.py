"""Read-ahead of a crypt stream's stored bytes on one helper thread (spec CRYPT-061).

When fetching the stored bytes is a noticeable share of a batch's time (a
network backend), the next batches are fetched while the current one is
opened; at most ``DEPTH`` batches wait, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

#: Batches fetched ahead at most (each about 1 MiB).
DEPTH = 2


class Prefetcher:
    """Calls ``fetch()`` on a helper thread until it returns b"" or raises; ``get()`` in order."""

    def __init__(self, fetch: Callable[[], bytes]) -> None:
        self._fetch = fetch
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=DEPTH)
        self._stop = threading.Event()
        self._last: bytes | BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name="storeroom-crypt-prefetch", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._fetch()
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reading thread, raised there
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def get(self) -> bytes:
        """The next fetched batch (b"" at the end); re-raises what ``fetch`` raised."""
        item = self._last if self._last is not None else self._queue.get()
        if isinstance(item, BaseException) or not item:
            self._last = item
        if isinstance(item, BaseException):
            raise item
        return item

    def stop(self) -> None:
        """Stop fetching and wait for the thread (at most one ``fetch()`` still running)."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()
