"""Pipelined opening of a sequential crypt stream on the crypt pool (spec CRYPT-064).

Once a stream reads on sequentially, the next batches are fetched and handed
to the pool's threads (libsodium runs without the GIL) while the caller
consumes the current one: opening overlaps fetching, and every core opens.
At most ``depth`` batches wait, so memory stays bounded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from storeroom.layers._crypt_box import BLOCK, TAG, Box, pool, workers

__all__ = ["Pipeline"]


class Pipeline:
    """Batches from ``fetch()`` opened ahead on the pool; ``next()`` hands them out in order.

    ``fail(what)`` builds the error raised for a bad chunk or a truncated tag;
    an error of ``fetch`` is raised after the batches fetched before it.
    """

    def __init__(
        self,
        box: Box,
        fetch: Callable[[], bytes],
        fail: Callable[[str], BaseException],
        start: int,
        index: int,
        depth: int | None = None,
    ) -> None:
        self._box = box
        self._fetch = fetch
        self._fail = fail
        self._start = start
        self._index = index
        self._depth = depth or workers() + 1
        self._queue: deque[Future[tuple[bytes, int | None]] | BaseException] = deque()
        self._ended = False
        self._failed: BaseException | None = None

    def _fill(self) -> None:
        """Fetch and submit batches until ``depth`` wait or the stream ends."""
        while not self._ended and len(self._queue) < self._depth:
            try:
                sealed = self._fetch()
            except BaseException as exc:  # raised in order, after the batches before it
                self._queue.append(exc)
                self._ended = True
                return
            if not sealed:
                self._ended = True
                return
            if len(sealed) % BLOCK and len(sealed) % BLOCK <= TAG:
                self._queue.append(self._fail("the file ends inside a chunk's tag (truncated)"))
                self._ended = True
                return
            job = pool().submit(self._box.open_alone, sealed, self._start, self._index)
            self._queue.append(job)
            self._index += -(-len(sealed) // BLOCK)

    def next(self) -> tuple[bytes, int]:
        """The next batch's plain bytes and its chunk count; (b"", 0) at the end."""
        if self._failed is not None:
            raise self._failed
        self._fill()
        if not self._queue:
            return b"", 0
        item = self._queue.popleft()
        if isinstance(item, BaseException):
            self._failed = item
            raise item
        plain, bad = item.result()
        if bad is not None:
            self._failed = self._fail(f"chunk {bad} failed authentication")
            raise self._failed
        return plain, -(-len(plain) // (BLOCK - TAG))

    def close(self) -> None:
        """Drop the waiting batches (waiting for those being opened: they hold buffers)."""
        while self._queue:
            item = self._queue.popleft()
            if isinstance(item, Future) and not item.cancel():
                item.exception()
        self._ended = True
