"""Many Store calls at once, each with its own result: ``batch_delete``, ``batch_copy``,
``batch_exists``, ``batch_read`` (spec EXT-001..008).

Calls run in a thread pool (``max_workers``, default 16) or in any
``concurrent.futures.Executor`` given as ``executor=`` (a process pool or a
Dask client's executor: the Store pickles as configuration and reconnects
in the worker). A failure is recorded for its item and the batch goes on,
unless ``stop_on_error=True``: then no new item starts, and the items never
started are reported as ``"skipped"``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from storeroom.errors import CapabilityNotSupported, InvalidArgument, NotFound, StoreroomError
from storeroom.ext._pool import DEFAULT_WORKERS, PartialFailure, as_error, run_parallel
from storeroom.store import Store

__all__ = [
    "BatchResult",
    "ItemResult",
    "PartialFailure",
    "batch_copy",
    "batch_delete",
    "batch_exists",
    "batch_read",
]

T = TypeVar("T")
Status = Literal["ok", "error", "skipped"]


@dataclass(frozen=True, slots=True)
class ItemResult(Generic[T]):
    """What happened to one item: its ``value`` when ``ok``, else its ``error``."""

    item: Any
    status: Status
    value: T | None = None
    error: StoreroomError | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _key(item: Any) -> Any:
    """The name an item goes by in ``succeeded``/``failed``: a copy's source path."""
    return item[0] if isinstance(item, tuple) else item


@dataclass(frozen=True)
class BatchResult(Generic[T]):
    """Outcome of one batch call: the keys that ``succeeded``, the ones that ``failed``.

    Keys are the paths given (a copy's source path). ``items`` keeps one
    ``ItemResult`` per input item, in input order, with each value.
    """

    succeeded: tuple[Any, ...] = ()
    failed: Mapping[Any, StoreroomError] = field(default_factory=dict)
    skipped: tuple[Any, ...] = ()
    operation: str = ""
    items: tuple[ItemResult[T], ...] = ()

    @classmethod
    def from_items(cls, operation: str, items: Iterable[ItemResult[T]]) -> BatchResult[T]:
        """Build the key views from per-item results (input order kept)."""
        rows = tuple(items)
        return cls(
            succeeded=tuple(_key(r.item) for r in rows if r.status == "ok"),
            failed={_key(r.item): r.error for r in rows if r.error is not None},
            skipped=tuple(_key(r.item) for r in rows if r.status == "skipped"),
            operation=operation,
            items=rows,
        )

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ItemResult[T]]:
        return iter(self.items)

    @property
    def all_succeeded(self) -> bool:
        """True when no item failed or was skipped."""
        return not self.failed and not self.skipped

    @property
    def ok(self) -> bool:
        """Same as ``all_succeeded``."""
        return self.all_succeeded

    @property
    def total(self) -> int:
        """Items processed: succeeded plus failed (skipped ones were never started)."""
        return len(self.succeeded) + len(self.failed)

    @property
    def values(self) -> dict[Any, T]:
        """``key -> value`` for the items that succeeded (``batch_read``: the bytes)."""
        return {_key(r.item): r.value for r in self.items if r.status == "ok"}  # type: ignore[misc]

    @property
    def errors(self) -> Mapping[Any, StoreroomError]:
        """Same as ``failed``."""
        return self.failed

    def summary(self) -> str:
        n_ok, n_err, n_skip = len(self.succeeded), len(self.failed), len(self.skipped)
        text = f"{self.operation or 'batch'}: {n_ok} ok, {n_err} failed"
        return text + (f", {n_skip} skipped" if n_skip else "")

    def raise_on_error(self) -> BatchResult[T]:
        """Raise ``PartialFailure`` if any item failed or was skipped; else return self."""
        failures = list(self.failed.items())
        if failures or self.skipped:
            first = failures[0][1] if failures else None
            detail = f"; first: {first}" if first is not None else ""
            err = PartialFailure(self.summary() + detail, failures)
            err.operation = self.operation
            raise err from first
        return self


# -- work done per item (module level, so process pools can pickle it) ------------


def _run(op: str, store: Store, kwargs: Mapping[str, Any], item: Any) -> ItemResult[Any]:
    value: Any = None
    try:
        if op == "delete":
            store.delete(item, **kwargs)
        elif op == "copy":
            store.copy(item[0], item[1], **kwargs)
        elif op == "exists":
            value = store.exists(item)
        else:
            value = store.read_bytes(item)
    except Exception as exc:
        return ItemResult(item, "error", error=as_error(exc))
    return ItemResult(item, "ok", value)


def _delete_chunk(store: Store, missing_ok: bool, paths: list[str]) -> list[ItemResult[None]]:
    """Delete ``paths`` with one ``delete_many`` call (spec EXT-009)."""
    out: list[ItemResult[None] | None] = [None] * len(paths)
    keys: dict[int, str] = {}
    for i, path in enumerate(paths):
        try:
            keys[i] = store._file_key(path)
        except Exception as exc:
            out[i] = ItemResult(path, "error", error=as_error(exc))
    try:
        store._gate("delete")
        results = store.backend.delete_many(list(dict.fromkeys(keys.values())))
    except Exception as exc:
        for i, key in keys.items():
            out[i] = ItemResult(paths[i], "error", error=as_error(store._fail(exc, "delete", key)))
        return out  # type: ignore[return-value]
    for i, key in keys.items():
        err = results.get(key)
        if err is None or (missing_ok and isinstance(err, NotFound)):
            out[i] = ItemResult(paths[i], "ok")
        else:
            out[i] = ItemResult(paths[i], "error", error=as_error(store._fail(err, "delete", key)))
    return out  # type: ignore[return-value]


def _bulk_delete(
    store: Store,
    items: list[str],
    missing_ok: bool,
    max_workers: int | None,
    executor: Executor | None,
    stop_on_error: bool,
    chunk_size: int | None,
) -> BatchResult[None]:
    workers = max_workers or DEFAULT_WORKERS
    size = chunk_size or min(1000, max(250, math.ceil(len(items) / workers)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    fn = functools.partial(_delete_chunk, store, missing_ok)

    def failed(rows: list[ItemResult[None]]) -> bool:
        return any(r.status == "error" for r in rows)

    def crashed(chunk: list[str], exc: BaseException) -> list[ItemResult[None]]:
        return [ItemResult(p, "error", error=as_error(exc)) for p in chunk]

    results = run_parallel(
        fn,
        chunks,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        failed=failed,
        on_exception=crashed,
    )
    out: list[ItemResult[None]] = []
    for chunk, rows in zip(chunks, results, strict=True):
        out.extend(rows if rows is not None else [ItemResult(p, "skipped") for p in chunk])
    return BatchResult.from_items("delete", out)


def _batch(
    op: str,
    store: Store,
    items: list[Any],
    kwargs: Mapping[str, Any],
    max_workers: int | None,
    executor: Executor | None,
    stop_on_error: bool,
) -> BatchResult[Any]:
    fn = functools.partial(_run, op, store, dict(kwargs))
    results = run_parallel(
        fn,
        items,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        failed=lambda r: r.status == "error",
        on_exception=lambda item, exc: ItemResult(item, "error", error=as_error(exc)),
    )
    out = tuple(
        r if r is not None else ItemResult(item, "skipped")
        for item, r in zip(items, results, strict=True)
    )
    return BatchResult.from_items(op, out)


def _workers(
    concurrent: bool | None, max_workers: int | None, executor: Executor | None
) -> int | None:
    """``concurrent=False`` runs items one at a time, in order (remote-store's default)."""
    if concurrent is False:
        if executor is not None:
            raise InvalidArgument(
                "concurrent=False runs items one at a time; it cannot use executor=",
                hint="drop concurrent=False, or drop executor=",
            )
        return 1
    return max_workers


def _capability_first(result: BatchResult[T]) -> BatchResult[T]:
    """A missing capability concerns the whole call: raise it instead of reporting it."""
    for error in result.failed.values():
        if isinstance(error, CapabilityNotSupported):
            raise error
    return result


def batch_delete(
    store: Store,
    paths: Iterable[str],
    *,
    missing_ok: bool = False,
    stop_on_error: bool = False,
    concurrent: bool | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    chunk_size: int | None = None,
) -> BatchResult[None]:
    """Delete many files in parallel; each missing one is ``NotFound`` unless ``missing_ok``.

    On a backend with a native bulk delete (S3 ``DeleteObjects``) the paths go
    in chunks of ``chunk_size`` (default: spread over the workers, 250 to
    1,000) through ``delete_many``, the chunks in parallel; elsewhere each
    path is one ``delete``. ``stop_on_error`` then stops at chunk granularity.
    """
    items = list(paths)
    workers = _workers(concurrent, max_workers, executor)
    if store.backend.native_delete_many:
        result = _bulk_delete(
            store, items, missing_ok, workers, executor, stop_on_error, chunk_size
        )
    else:
        kwargs = {"missing_ok": missing_ok}
        result = _batch("delete", store, items, kwargs, workers, executor, stop_on_error)
    return _capability_first(result)


def batch_copy(
    store: Store,
    pairs: Mapping[str, str] | Iterable[tuple[str, str]],
    *,
    overwrite: bool = False,
    stop_on_error: bool = False,
    concurrent: bool | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
) -> BatchResult[None]:
    """Copy ``src -> dst`` pairs within one store (server-side where the backend can).

    Items are ``(src, dst)`` tuples; results are keyed by the source path. For
    copies between stores use ``storeroom.ext.transfer.transfer``.
    """
    items = list(pairs.items()) if isinstance(pairs, Mapping) else [tuple(p) for p in pairs]
    workers = _workers(concurrent, max_workers, executor)
    kwargs = {"overwrite": overwrite}
    return _capability_first(_batch("copy", store, items, kwargs, workers, executor, stop_on_error))


def batch_exists(
    store: Store,
    paths: Iterable[str],
    *,
    concurrent: bool | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
) -> dict[str, bool]:
    """``{path: exists}`` for many paths, in input order; the first error is raised."""
    items = list(paths)
    workers = _workers(concurrent, max_workers, executor)
    result = _batch("exists", store, items, {}, workers, executor, True)
    for row in result.items:
        if row.error is not None:
            raise row.error
    return {row.item: bool(row.value) for row in result.items}


def batch_read(
    store: Store,
    paths: Iterable[str],
    *,
    stop_on_error: bool = False,
    concurrent: bool | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
) -> BatchResult[bytes]:
    """Whole content of many files (all held in memory: meant for small files)."""
    workers = _workers(concurrent, max_workers, executor)
    return _capability_first(
        _batch("read", store, list(paths), {}, workers, executor, stop_on_error)
    )
