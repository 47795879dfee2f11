"""The worker-thread pool every ``AsyncStore`` call runs in, and the one ``run`` helper.

One dedicated, bounded ``ThreadPoolExecutor`` per process (not asyncio's
small default pool), created on first use. Its size is
``STOREROOM_AIO_MAX_WORKERS`` (default 64) or whatever ``configure`` sets;
an ``AsyncStore`` may be given its own ``executor=`` instead. Each call runs
in a copy of the caller's ``contextvars`` context (spec ASYNC-010..013).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from storeroom.errors import ConfigError

__all__ = ["DEFAULT_MAX_WORKERS", "ENV_MAX_WORKERS", "configure", "default_executor", "run"]

P = ParamSpec("P")
R = TypeVar("R")

#: Pool size when neither ``configure`` nor the environment says otherwise.
DEFAULT_MAX_WORKERS = 64
#: Environment variable read when the shared pool is first created.
ENV_MAX_WORKERS = "STOREROOM_AIO_MAX_WORKERS"

_pool: ThreadPoolExecutor | None = None
_size: int | None = None
_lock = threading.Lock()


def _env_size() -> int:
    raw = os.environ.get(ENV_MAX_WORKERS, "").strip()
    if not raw:
        return DEFAULT_MAX_WORKERS
    try:
        size = int(raw)
    except ValueError:
        size = 0
    if size < 1:
        raise ConfigError(
            f"{ENV_MAX_WORKERS}={raw!r}: expected a positive integer",
            key=ENV_MAX_WORKERS,
        )
    return size


def default_executor() -> Executor:
    """The shared pool, created on first use (size: ``configure`` > env > 64)."""
    global _pool
    pool = _pool
    if pool is None:
        with _lock:
            pool = _pool
            if pool is None:
                pool = _pool = ThreadPoolExecutor(
                    max_workers=_size or _env_size(), thread_name_prefix="storeroom-aio"
                )
    return pool


def configure(*, max_workers: int) -> None:
    """Resize the shared pool. Calls already running finish in the old pool."""
    global _pool, _size
    if not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1:
        raise ConfigError(f"max_workers must be a positive integer, got {max_workers!r}")
    with _lock:
        old, _pool, _size = _pool, None, max_workers
    if old is not None:
        old.shutdown(wait=False)


def _after_fork() -> None:
    # A forked child inherits the pool object but none of its threads.
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_after_fork)


async def run(
    executor: Executor | None, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs
) -> R:
    """Run ``fn`` in a worker thread with a copy of the caller's context; await the result.

    Cancelling the awaiting task never interrupts ``fn``: a call not yet
    started never starts, a started one runs to completion.
    """
    loop = asyncio.get_running_loop()
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, fn, *args, **kwargs)
    return await loop.run_in_executor(executor or default_executor(), call)
