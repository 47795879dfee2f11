"""Run one function over many work items in an executor, keeping input order.

Shared by ``batch`` and ``transfer``. The in-flight window is bounded, so a
million items never become a million futures at once; with
``stop_on_error`` no new item is started after the first failure (items
already running finish and are reported).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from storeroom.errors import InvalidArgument, StoreroomError, UnexpectedError

__all__ = ["DEFAULT_WORKERS", "PartialFailure", "as_error", "run_parallel"]

W = TypeVar("W")
R = TypeVar("R")

#: Threads used when neither ``max_workers`` nor ``executor`` is given.
DEFAULT_WORKERS = 16


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
) -> list[R | None]:
    """``fn(item)`` for every item; results in input order, ``None`` for items never started.

    ``fn`` should return failures as values; an exception escaping it (or the
    executor, e.g. a broken process pool) becomes ``on_exception(item, exc)``.
    """
    check_workers(max_workers)
    results: list[R | None] = [None] * len(items)
    if not items:
        return results
    workers = max_workers or DEFAULT_WORKERS
    own = executor is None
    pool: Executor = ThreadPoolExecutor(min(workers, len(items))) if own else executor  # type: ignore[assignment]
    window = workers * 2
    pending: dict[Future[R], int] = {}
    next_index = 0
    stopped = False
    try:
        while True:
            while not stopped and next_index < len(items) and len(pending) < window:
                try:
                    fut = pool.submit(fn, items[next_index])
                except Exception as exc:  # a shut-down or broken executor
                    results[next_index] = outcome = on_exception(items[next_index], exc)
                    if on_done is not None:
                        on_done(outcome)
                    stopped = stopped or stop_on_error
                else:
                    pending[fut] = next_index
                next_index += 1
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as exc:
                    outcome = on_exception(items[i], exc)
                results[i] = outcome
                if on_done is not None:
                    on_done(outcome)
                if stop_on_error and failed(outcome):
                    stopped = True
    finally:
        for fut in pending:
            fut.cancel()
        if own:
            pool.shutdown(wait=True)
    return results
