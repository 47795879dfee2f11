"""``apply``: carry out a ``SyncPlan`` (copies in parallel on any executor, then deletions).

Copies overwrite and land atomically; deletions run only when every copy
succeeded, so a failed sync never removes anything. ``dry_run=True`` reports
the plan as if done and changes nothing (spec SYNC-020..031).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument, StoreroomError
from storeroom.ext._transfer_jobs import FileTransfer
from storeroom.ext.progress import TransferProgress
from storeroom.ext.sync._plan import SyncAction, SyncPlan
from storeroom.ext.sync._sides import Side
from storeroom.ext.sync._work import Item, run_item

__all__ = ["SyncOutcome", "SyncReport", "apply"]

#: A process pool or a cluster gets about this many tasks (fewer, larger ones
#: than threads: each task costs a round trip), of at most ``REMOTE_BATCH`` files.
REMOTE_TASKS = 64
REMOTE_BATCH = 256

Status = Literal["done", "failed", "skipped", "planned"]


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What happened to one planned action."""

    path: str
    action: Literal["copy", "update", "delete"]
    reason: str
    status: Status
    bytes: int = 0
    error: StoreroomError | None = None


@dataclass(frozen=True)
class SyncReport:
    """Every action's outcome; ``ok`` when none failed."""

    plan: SyncPlan
    outcomes: tuple[SyncOutcome, ...]
    dry_run: bool = False
    seconds: float = 0.0

    def __iter__(self) -> Iterator[SyncOutcome]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def copied(self) -> list[SyncOutcome]:
        """Copies and updates done (or, in a dry run, planned)."""
        return [
            o for o in self.outcomes if o.action != "delete" and o.status in ("done", "planned")
        ]

    @property
    def deleted(self) -> list[SyncOutcome]:
        return [
            o for o in self.outcomes if o.action == "delete" and o.status in ("done", "planned")
        ]

    @property
    def failed(self) -> list[SyncOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def bytes(self) -> int:
        return sum(o.bytes for o in self.copied)

    def summary(self) -> str:
        verb = "would copy" if self.dry_run else "copied"
        gone = "would delete" if self.dry_run else "deleted"
        return (
            f"sync {self.plan.src.label} -> {self.plan.dst.label}: {len(self.copied)} {verb} "
            f"({self.bytes} bytes), {len(self.deleted)} {gone}, {self.plan.unchanged} unchanged, "
            f"{len(self.failed)} failed"
        )

    __str__ = summary

    def raise_on_error(self) -> SyncReport:
        """Raise ``PartialFailure`` (cause: the first error) if any action failed."""
        from storeroom.ext._pool import PartialFailure

        failures = [(o.path, o.error) for o in self.failed if o.error is not None]
        if failures:
            first = failures[0][1]
            err = PartialFailure(f"{self.summary()}; first: {first}", failures)
            err.operation = "sync"
            raise err from first
        return self


def _absolute(side: Side) -> Side:
    """A local side by absolute path, so a worker in another folder finds the files."""
    if side.local is None or side.local.is_absolute():
        return side
    return Side(local=Path.cwd() / side.local, leftovers=side.leftovers)


def _items(plan: SyncPlan) -> list[Item]:
    src, dst = _absolute(plan.src), _absolute(plan.dst)
    if src.store is None and dst.store is None:  # two local folders: read one as a store
        from storeroom.backends.local.backend import LocalBackend
        from storeroom.store import Store

        assert src.local is not None
        src = Side(store=Store(LocalBackend(root=str(src.local), create_root=False)))
    record = plan.compare == "checksum" and dst.keeps_metadata
    atomic = dst.store is not None and dst.store.supports(Capability.ATOMIC_WRITE)
    if src.store is None:
        kind: Any = "upload"
    elif dst.store is None:
        kind = "download"
    elif src.store.backend is dst.store.backend and src.store.supports(Capability.COPY):
        kind = "copy" if record else "server_copy"
    else:
        kind = "copy"
    return [
        Item(
            kind,
            src.store,
            src.path_of(a.path),
            dst.store,
            dst.path_of(a.path),
            a.size,
            atomic,
            record,
        )
        for a in plan.transfers
    ]


def _delete(dst: Side, rels: list[str], workers: int | None) -> dict[str, StoreroomError]:
    """Delete destination files; returns the failures by relative path."""
    if dst.store is not None:
        from storeroom.ext.batch import batch_delete

        keys = [dst.path_of(rel) for rel in rels]
        result = batch_delete(dst.store, keys, missing_ok=True, max_workers=workers)
        by_key = dict(zip(keys, rels, strict=True))
        return {by_key[str(k)]: err for k, err in result.errors.items()}
    from storeroom.backends.local.errors import TABLE

    failures: dict[str, StoreroomError] = {}
    for rel in rels:
        path = dst.path_of(rel)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # noqa: PTH108
        except OSError as exc:
            failures[rel] = TABLE.map(exc, path, operation="delete")
    return failures


def _batch(
    batch_size: int | None, executor: Executor | None, stop_on_error: bool, count: int
) -> int | None:
    """Files per task: as given, else a process pool or cluster gets large batches."""
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgument(f"batch_size must be a positive integer, got {batch_size!r}")
        return batch_size
    if stop_on_error or executor is None or isinstance(executor, ThreadPoolExecutor):
        return None
    return max(1, min(REMOTE_BATCH, -(-count // REMOTE_TASKS)))


def _outcome(action: SyncAction, result: FileTransfer | None) -> SyncOutcome:
    if result is None or result.status == "skipped":  # not started (``stop_on_error``)
        return SyncOutcome(action.path, action.action, action.reason, "skipped")
    if result.status == "failed":
        return SyncOutcome(action.path, action.action, action.reason, "failed", 0, result.error)
    return SyncOutcome(action.path, action.action, action.reason, "done", result.bytes)


def apply(
    plan: SyncPlan,
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: TransferProgress | None = None,
    on_file: Callable[[FileTransfer], object] | None = None,
    dry_run: bool = False,
    stop_on_error: bool = False,
    batch_size: int | None = None,
) -> SyncReport:
    """Carry out ``plan``: copy and update (in parallel), then delete unless a copy failed.

    ``executor`` is any ``concurrent.futures.Executor`` (threads, processes, a
    Dask ``client.get_executor()``, one backed by Ray); without one a thread pool of
    ``max_workers`` (default 16) runs the copies. Work goes to an executor in
    batches of ``batch_size`` files (default: up to 32 for threads; for
    others about 64 tasks of at most 256 files).
    """
    started = time.perf_counter()
    if dry_run:
        planned = tuple(
            SyncOutcome(
                a.path, a.action, a.reason, "planned", 0 if a.action == "delete" else a.size
            )
            for a in plan.actions
        )
        return SyncReport(plan, planned, True, time.perf_counter() - started)
    from storeroom.ext.transfer import _run_jobs

    transfers = plan.transfers
    report = _run_jobs(
        _items(plan),
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=None,
        on_file=on_file,
        run=run_item,
        chunk=_batch(batch_size, executor, stop_on_error, len(transfers)),
    )
    outcomes = [_outcome(a, r) for a, r in zip(transfers, report.files, strict=True)]
    deletes = [a for a in plan.actions if a.action == "delete"]
    if deletes and all(o.status == "done" for o in outcomes):  # never delete after a failure
        failures = _delete(plan.dst, [a.path for a in deletes], max_workers)
        outcomes.extend(
            SyncOutcome(a.path, "delete", a.reason, "failed", 0, failures[a.path])
            if a.path in failures
            else SyncOutcome(a.path, "delete", a.reason, "done")
            for a in deletes
        )
    _sweep(plan.dst.leftovers)
    return SyncReport(plan, tuple(outcomes), False, time.perf_counter() - started)


def _sweep(leftovers: list[str]) -> None:
    """Remove temporary files a killed copy left, once nobody has written them for a while."""
    from storeroom.backends.local._fileops import is_stale_temp

    now = time.time()
    for path in leftovers:
        with contextlib.suppress(OSError):
            if is_stale_temp(os.stat(path, follow_symlinks=False), now):  # noqa: PTH116
                os.unlink(path)  # noqa: PTH108
