"""Run one function over many work items in an executor, keeping input order.

Shared by ``batch`` and ``transfer``. Without an ``executor`` the items
first run on the calling thread, for as long as each takes under
``INLINE_LIMIT``: on local disk or in memory an item costs microseconds and a
thread pool would only add overhead (spec EXT-005). The first slower item
(a network round trip) hands the rest to the pool. Items are submitted in
small chunks and the in-flight window is bounded, so a million items never
become a million futures at once; with ``stop_on_error`` no new item is
started after the first failure (items already running finish and are
reported). Work handed to threads runs in a copy of the caller's
``contextvars`` context, so a span or correlation id set by the caller is
seen by every item.
"""

from __future__ import annotations

import contextvars
import functools
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

from storeroom.errors import InvalidArgument, StoreroomError, UnexpectedError

__all__ = ["DEFAULT_WORKERS", "PartialFailure", "as_error", "run_parallel"]

W = TypeVar("W")
R = TypeVar("R")

#: Threads used when neither ``max_workers`` nor ``executor`` is given.
DEFAULT_WORKERS = 16

#: Items faster than this (seconds) keep running on the calling thread.
INLINE_LIMIT = 0.001


def as_error(exc: BaseException) -> StoreroomError:
    """``exc`` as a storeroom error (anything else becomes ``UnexpectedError``)."""
    if isinstance(exc, StoreroomError):
        return exc
    err = UnexpectedError(f"{type(exc).__name__}: {exc}")
    err.__cause__ = exc
    return err


class PartialFailure(StoreroomError):
    """Some items of a batch or transfer failed; ``failures`` lists (item, error).

    ``__cause__`` is the first error; ``retryable`` is true when every failure is.
    """

    def __init__(
        self, message: str = "", failures: Sequence[tuple[Any, StoreroomError]] = ()
    ) -> None:
        super().__init__(
            message, retryable=bool(failures) and all(e.retryable for _, e in failures)
        )
        self.failures = list(failures)


def check_workers(max_workers: int | None) -> None:
    if max_workers is not None and (
        not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
    ):
        raise InvalidArgument(f"max_workers must be a positive integer, got {max_workers!r}")


def _notify(done_q: queue.SimpleQueue[tuple[int, Any]], start: int, fut: Future[Any]) -> None:
    done_q.put((start, fut))


def _apply(fn: Callable[[W], R], chunk: Sequence[W]) -> list[R]:
    return [fn(item) for item in chunk]


def chunk_size_for(count: int, workers: int, stop_on_error: bool) -> int:
    """Items per submitted task: about eight tasks per worker, at most 32 items each.

    Fewer, larger tasks cut the per-future cost that dominates fast backends;
    eight per worker keeps every worker busy to the end on slow ones.
    """
    if stop_on_error:
        return 1
    return max(1, min(32, count // (workers * 8)))


def run_parallel(
    fn: Callable[[W], R],
    items: Sequence[W],
    *,
    max_workers: int | None,
    executor: Executor | None,
    stop_on_error: bool,
    failed: Callable[[R], bool],
    on_exception: Callable[[W, BaseException], R],
    on_done: Callable[[R], None] | None = None,
    per_task: int | None = None,
) -> list[R | None]:
    """``fn(item)`` for every item; results in input order, ``None`` for items never started.

    ``fn`` should return failures as values; an exception escaping it (or the
    executor, e.g. a broken process pool) becomes ``on_exception(item, exc)``
    for each item of its task. ``per_task`` fixes the items per task (a cluster
    prefers fewer, larger tasks). Completions are collected through a queue fed
    by done-callbacks (cheaper than ``wait`` per completion).
    """
    check_workers(max_workers)
    results: list[R | None] = [None] * len(items)
    if not items:
        return results
    first = 0
    if executor is None:
        first = _run_inline(fn, items, results, stop_on_error, failed, on_exception, on_done)
        if first < 0:
            return results
        items = items[first:]
    workers = max_workers or DEFAULT_WORKERS
    size = per_task or chunk_size_for(len(items), workers, stop_on_error)
    starts = list(range(0, len(items), size))
    own = executor is None
    pool: Executor = (
        ThreadPoolExecutor(min(workers, len(starts))) if own else executor  # type: ignore[assignment]
    )
    task = functools.partial(_apply, fn)
    # Threads run each task in a copy of the caller's context (an open span, a
    # correlation id); a process pool or cluster cannot take a Context along.
    in_threads = isinstance(pool, ThreadPoolExecutor)
    window = workers * 2
    done_q: queue.SimpleQueue[tuple[int, Future[list[R]]]] = queue.SimpleQueue()
    pending: dict[Future[list[R]], int] = {}
    next_task = 0
    stopped = False

    def record(start: int, outcomes: list[R]) -> None:
        nonlocal stopped
        for offset, outcome in enumerate(outcomes):
            results[first + start + offset] = outcome
            if on_done is not None:
                on_done(outcome)
            if stop_on_error and failed(outcome):
                stopped = True

    try:
        while True:
            while not stopped and next_task < len(starts) and len(pending) < window:
                start = starts[next_task]
                chunk = items[start : start + size]
                next_task += 1
                try:
                    if in_threads:
                        fut = pool.submit(contextvars.copy_context().run, task, chunk)
                    else:
                        fut = pool.submit(task, chunk)
                except Exception as exc:  # a shut-down or broken executor
                    record(start, [on_exception(item, exc) for item in chunk])
                    continue
                pending[fut] = start
                fut.add_done_callback(functools.partial(_notify, done_q, start))
            if not pending:
                break
            start, fut = done_q.get()
            del pending[fut]
            chunk = items[start : start + size]
            try:
                outcomes = fut.result()
            except Exception as exc:
                outcomes = [on_exception(item, exc) for item in chunk]
            record(start, outcomes)
    finally:
        for fut in pending:
            fut.cancel()
        if own:
            pool.shutdown(wait=True)
    return results


def _run_inline(
    fn: Callable[[W], R],
    items: Sequence[W],
    results: list[R | None],
    stop_on_error: bool,
    failed: Callable[[R], bool],
    on_exception: Callable[[W, BaseException], R],
    on_done: Callable[[R], None] | None,
) -> int:
    """Run items on this thread while each takes under ``INLINE_LIMIT``.

    Returns the index of the first item left for the pool, or -1 when nothing
    is left (all done, or stopped by ``stop_on_error``).
    """
    clock = time.perf_counter
    for index, item in enumerate(items):
        started = clock()
        try:
            outcome = fn(item)
        except Exception as exc:
            outcome = on_exception(item, exc)
        results[index] = outcome
        if on_done is not None:
            on_done(outcome)
        if stop_on_error and failed(outcome):
            return -1
        if clock() - started >= INLINE_LIMIT:
            return index + 1 if index + 1 < len(items) else -1
    return -1
