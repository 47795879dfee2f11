"""``LimitLayer``: at most ``max_concurrency`` calls at once and ``requests_per_second``.

One instance per backend, so every store on that backend shares the limits,
sync and async callers alike (async calls run in worker threads). Each
primitive call takes one concurrency slot for its duration and one token
from a token bucket (``burst`` tokens, refilled at ``requests_per_second``).
A listing holds its slot until its first entry arrives (the request);
streams returned by ``open_read`` and the rest of a listing are not counted,
so code that reads one file while writing another cannot deadlock itself.
Waiting longer than ``wait_timeout_s`` raises a retryable
``BackendUnavailable`` (spec LAYER-040..045).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TypeVar

from storeroom.backend import Backend, Entry, Source
from storeroom.errors import BackendUnavailable, StoreroomError
from storeroom.layers._base import Layer, LayerOptions, build_options
from storeroom.models import WriteResult

__all__ = ["LimitLayer", "LimitOptions"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class LimitOptions(LayerOptions):
    """Options of the ``limit`` layer; unset limits are off."""

    layer_type = "limit"

    max_concurrency: int | None = None
    requests_per_second: float | None = None
    burst: int | None = None
    wait_timeout_s: float | None = None

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            (
                "max_concurrency",
                self.max_concurrency is None or self.max_concurrency >= 1,
                "an integer >= 1",
            ),
            (
                "requests_per_second",
                self.requests_per_second is None or self.requests_per_second > 0,
                "a number > 0",
            ),
            ("burst", self.burst is None or self.burst >= 1, "an integer >= 1"),
            (
                "wait_timeout_s",
                self.wait_timeout_s is None or self.wait_timeout_s >= 0,
                "a number >= 0",
            ),
        ]


class _Slots:
    """A counting semaphore whose uncontended path is one C-level lock round trip."""

    def __init__(self, n: int) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._free = n
        self._waiting = 0

    def acquire(self, timeout: float | None) -> bool:
        with self._lock:
            if self._free > 0:
                self._free -= 1
                return True
            deadline = None if timeout is None else time.monotonic() + timeout
            self._waiting += 1
            try:
                while self._free <= 0:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                self._free -= 1
                return True
            finally:
                self._waiting -= 1

    def release(self) -> None:
        with self._lock:
            self._free += 1
            if self._waiting:
                self._cond.notify()


class _Bucket:
    """Token bucket by reservation: a caller takes a token now and sleeps until it is due."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def take(self, timeout: float | None) -> float:
        """Reserve one token; return how long to wait for it (or -1 past ``timeout``)."""
        with self._lock:
            now = self._clock()
            tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
            self._last = now
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            if timeout is not None and wait > timeout:
                self._tokens = tokens
                return -1.0
            self._tokens = tokens - 1
            return wait


class LimitLayer(Layer):
    """Caps concurrent calls and call rate for everything using this backend."""

    Options = LimitOptions
    options: LimitOptions

    def __init__(
        self,
        inner: Backend,
        *,
        max_concurrency: int | None = None,
        requests_per_second: float | None = None,
        burst: int | None = None,
        wait_timeout_s: float | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            LimitOptions,
            "limit layer",
            max_concurrency=max_concurrency,
            requests_per_second=requests_per_second,
            burst=burst,
            wait_timeout_s=wait_timeout_s,
        )
        self._custom = (sleep, clock)
        self._sleep = sleep or time.sleep
        self._timeout = wait_timeout_s
        self._slots = _Slots(max_concurrency) if max_concurrency else None
        self._bucket = (
            _Bucket(
                requests_per_second,
                burst or max(1, math.ceil(requests_per_second)),
                clock or time.monotonic,
            )
            if requests_per_second
            else None
        )

    def extras(self) -> dict[str, Any]:
        sleep, clock = self._custom
        return {"sleep": sleep, "clock": clock}

    def _enter(self, op: str, key: str) -> None:
        if self._bucket is not None:
            wait = self._bucket.take(self._timeout)
            if wait:
                if wait < 0:
                    raise self._busy("requests_per_second", op, key)
                self._sleep(wait)
        if self._slots is not None and not self._slots.acquire(self._timeout):
            raise self._busy("max_concurrency", op, key)

    def _busy(self, which: str, op: str, key: str) -> BackendUnavailable:
        return BackendUnavailable(
            f"waited more than {self._timeout}s for the {which} limit",
            path=key,
            backend=self.type_name,
            operation=op,
            hint="raise the limit or wait_timeout_s, or retry later",
        )

    def _run(self, op: str, key: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        self._enter(op, key)
        slots = self._slots
        if slots is None:
            return fn(*args, **kw)
        try:
            return fn(*args, **kw)
        finally:
            slots.release()

    def stat(self, key: str) -> Entry:
        self._enter("stat", key)
        if self._slots is None:
            return self.inner.stat(key)
        try:
            return self.inner.stat(key)
        finally:
            self._slots.release()

    def exists(self, key: str) -> bool:
        return self._run("exists", key, self.inner.exists, key)

    def is_folder(self, key: str) -> bool:
        return self._run("is_folder", key, self.inner.is_folder, key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        return self._run("open_read", key, self.inner.open_read, key, start, end)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        return self._run(
            "write",
            key,
            self.inner.write,
            key,
            src,
            overwrite=overwrite,
            metadata=metadata,
            atomic=atomic,
        )

    def delete(self, key: str) -> None:
        self._run("delete", key, self.inner.delete, key)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        fn = self.inner.write_if_match
        return self._run("write", key, fn, key, src, etag, metadata=metadata, atomic=atomic)

    def delete_if_match(self, key: str, etag: str) -> None:
        self._run("delete", key, self.inner.delete_if_match, key, etag)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """A native bulk delete is one request: one slot, one token."""
        if not self.native_delete_many:
            return super().delete_many(keys)
        return self._run("delete_many", keys[0] if keys else "", self.inner.delete_many, keys)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        return self._run("copy", src, self.inner.copy, src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._run("move", src, self.inner.move, src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._run("remove_folder", key, self.inner.remove_folder, key, recursive=recursive)

    def ping(self) -> None:
        self._run("ping", "", self.inner.ping)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        def first_page() -> Iterator[Entry]:
            entries = iter(self.inner.list(prefix, recursive=recursive, base=base))
            head = next(entries, None)
            if head is None:
                return iter(())
            return itertools.chain((head,), entries)

        return self._run("list", prefix, first_page)
