"""``RetryLayer``: tries a primitive again when the error says it may succeed.

Only errors with ``retryable=True`` are retried (spec LAYER-010..019), with
exponential backoff and jitter: before retry ``n`` it waits a random time in
``[cap * (1 - jitter), cap]`` where ``cap = min(max_delay_s, base_delay_s * 2**(n-1))``
(``jitter=1``: "full jitter"). A server's ``retry_after`` hint on the error
raises the wait to at least that. ``attempts`` counts the first try;
``deadline_s`` bounds the whole call, waits included: a retry whose wait
would end past the deadline is not started. The error finally raised has
``attempts`` set to the number of tries made.

A write is retried only when its source can be rewound: bytes, or a
seekable stream (its position is recorded and restored); any other stream
was consumed by the failed try, so its error is raised at once. A stream
from ``open_read`` that fails mid-way resumes with a new ranged
``open_read`` at the byte offset reached (``resume_reads``), and a listing
that fails mid-way re-lists and skips what was already yielded
(``resume_listings``): both are possible because reads are ranged and
listings are sorted.

Caveat: a try that failed after the backend applied it (the reply was
lost) is retried all the same, so a create-only write or a delete can then
report ``AlreadyExists`` / ``NotFound`` for its own earlier success (and a
conditional write ``PreconditionFailed``, whose hint then says so).
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, TypeVar

from storeroom.backend import Backend, Entry, Source, entry_sort_key
from storeroom.errors import ConfigError, PreconditionFailed, StoreroomError
from storeroom.layers._base import Layer, LayerOptions, ProxyStream, build_options, current_call
from storeroom.models import WriteResult

__all__ = ["RetryLayer", "RetryOptions"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class RetryOptions(LayerOptions):
    """The one retry configuration shape (spec LAYER-019, CONFIG-008).

    Used by the ``retry`` layer, a store's or backend's ``retry`` table and a
    backend's ``options.retry`` shorthand alike, with these defaults.
    remote-store's ``RetryPolicy`` names are aliases, also readable as
    attributes (``opts.max_attempts``).
    """

    layer_type = "retry"
    aliases = {
        "max_attempts": "attempts",
        "timeout": "deadline_s",
        "backoff_base": "base_delay_s",
        "backoff_max": "max_delay_s",
    }

    attempts: int = 3
    deadline_s: float | None = None
    base_delay_s: float = 0.1
    max_delay_s: float = 10.0
    jitter: float = 1.0
    resume_reads: bool = True
    resume_listings: bool = True
    jitter_s: float = 0.0

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("attempts", self.attempts >= 1, "an integer >= 1"),
            ("deadline_s", self.deadline_s is None or self.deadline_s > 0, "a number > 0"),
            ("base_delay_s", self.base_delay_s >= 0, "a number >= 0"),
            ("max_delay_s", self.max_delay_s >= 0, "a number >= 0"),
            ("jitter", 0 <= self.jitter <= 1, "a number from 0 to 1"),
            ("jitter_s", self.jitter_s >= 0, "a number >= 0"),
        ]

    @classmethod
    def parse(cls, raw: Mapping[str, Any], *, where: str) -> RetryOptions:
        """A table in remote-store's names (``max_attempts``, ``backoff_*``, ``timeout``)
        keeps remote-store's meaning (see ``remote_store_policy``)."""
        if not isinstance(raw, Mapping) or not (set(raw) & set(cls.aliases)):
            return super().parse(raw, where=where)
        return remote_store_policy(raw, where=where)

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes: the remote-store alias names.
        field = type(self).aliases.get(name)
        if field is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self, field)

    @classmethod
    def coerce(cls, raw: Any, *, where: str) -> RetryOptions:
        """A ``retry`` table (or ready ``RetryOptions``) validated; ``ConfigError`` if bad."""
        if isinstance(raw, RetryOptions):
            return raw
        return cls.parse(raw, where=where)


_FIELDS = frozenset(f.name for f in dataclasses.fields(RetryOptions))
#: remote-store's RetryPolicy defaults, in storeroom's fields (jitter: seconds added).
_RS_DEFAULTS = {"base_delay_s": 1.0, "max_delay_s": 60.0, "jitter": 0.0, "jitter_s": 1.0}


def remote_store_policy(raw: Mapping[str, Any], *, where: str) -> RetryOptions:
    """Retry settings written in remote-store's names, with remote-store's meaning.

    Its defaults (1 s base, 60 s cap, 1 s jitter) apply, and ``jitter`` is
    seconds added at random to each wait; a storeroom-only name alongside
    them is a ``ConfigError`` (spec CONFIG-018).
    """
    ours = sorted(set(raw) & (_FIELDS - {"jitter"}))
    if ours:
        theirs = ", ".join(sorted(set(raw) & set(RetryOptions.aliases))) or "none"
        raise ConfigError(
            f"{where}: mixes remote-store's retry names ({theirs}) "
            f"with storeroom's ({', '.join(ours)})",
            key=where,
            hint="write the table in one set of names",
        )
    table: dict[str, Any] = dict(_RS_DEFAULTS)
    for key, value in raw.items():
        table["jitter_s" if key == "jitter" else RetryOptions.aliases.get(key, key)] = value
    return super(RetryOptions, RetryOptions).parse(table, where=where)  # the generic parse


class _Budget:
    """Attempts and deadline of one retried call (or one failure episode of a stream)."""

    __slots__ = ("attempt", "layer", "started")

    def __init__(self, layer: RetryLayer, started: float | None) -> None:
        self.layer = layer
        self.attempt = 1
        self.started = started

    def wait_or_raise(self, exc: StoreroomError) -> None:
        """Sleep before the next try, or raise ``exc`` (attempts recorded) when out of budget."""
        layer = self.layer
        if not exc.retryable or self.attempt >= layer._attempts:
            self.give_up(exc)
        delay = layer.delay(self.attempt, exc)
        if layer._deadline is not None:
            now = layer._clock()
            if self.started is None:
                self.started = now
            if now - self.started + delay > layer._deadline:
                self.give_up(exc)
        rec = current_call()
        if rec is not None:
            rec.retrying(self.attempt, delay, exc)
        layer._sleep(delay)
        self.attempt += 1

    def give_up(self, exc: StoreroomError) -> Any:
        exc.attempts = self.attempt
        self.report()
        raise exc

    def report(self) -> None:
        rec = current_call()
        if rec is not None:
            rec.attempts = self.attempt


class RetryLayer(Layer):
    """Retries retryable failures with backoff, jitter, attempts and a deadline."""

    Options = RetryOptions
    options: RetryOptions

    def __init__(
        self,
        inner: Backend,
        *,
        attempts: int = 3,
        deadline_s: float | None = None,
        base_delay_s: float = 0.1,
        max_delay_s: float = 10.0,
        jitter: float = 1.0,
        resume_reads: bool = True,
        resume_listings: bool = True,
        jitter_s: float = 0.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            RetryOptions,
            "retry layer",
            attempts=attempts,
            deadline_s=deadline_s,
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            jitter=jitter,
            resume_reads=resume_reads,
            resume_listings=resume_listings,
            jitter_s=jitter_s,
        )
        self._attempts = attempts
        self._deadline = deadline_s
        self._custom = (sleep, clock, rand)
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self._rand = rand or random.random

    def extras(self) -> dict[str, Any]:
        sleep, clock, rand = self._custom
        return {"sleep": sleep, "clock": clock, "rand": rand}

    def delay(self, attempt: int, exc: StoreroomError | None = None) -> float:
        """Seconds to wait after try number ``attempt`` failed with ``exc``."""
        opts = self.options
        cap: float = min(opts.max_delay_s, opts.base_delay_s * 2.0 ** (attempt - 1))
        wait: float = cap * (1.0 - opts.jitter) + cap * opts.jitter * self._rand()
        if opts.jitter_s:
            wait += opts.jitter_s * self._rand()
        hint = exc.retry_after if exc is not None else None
        if hint is not None and hint > wait:
            wait = float(hint)
        return wait

    def _budget(self) -> _Budget:
        return _Budget(self, self._clock() if self._deadline is not None else None)

    def _retry(
        self, first: StoreroomError, budget: _Budget, fn: Callable[..., T], *args: Any, **kw: Any
    ) -> T:
        """Called after the first try failed with ``first``: the loop of later tries."""
        exc = first
        while True:
            budget.wait_or_raise(exc)
            try:
                result = fn(*args, **kw)
            except StoreroomError as again:
                exc = again
                continue
            budget.report()
            return result

    def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        t0 = self._clock() if self._deadline is not None else None
        try:
            return fn(*args, **kw)
        except StoreroomError as exc:
            if not exc.retryable or self._attempts == 1:
                raise
            return self._retry(exc, _Budget(self, t0), fn, *args, **kw)

    # -- primitives -------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        t0 = self._clock() if self._deadline is not None else None
        try:
            return self.inner.stat(key)
        except StoreroomError as exc:
            if not exc.retryable or self._attempts == 1:
                raise
            return self._retry(exc, _Budget(self, t0), self.inner.stat, key)

    def exists(self, key: str) -> bool:
        return self._call(self.inner.exists, key)

    def is_folder(self, key: str) -> bool:
        return self._call(self.inner.is_folder, key)

    def delete(self, key: str) -> None:
        self._call(self.inner.delete, key)

    def discard(self, key: str) -> None:
        self._call(self.inner.discard, key)  # a repeated DELETE is harmless

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """A native bulk delete re-sends only the keys whose error is retryable.

        One budget (attempts, deadline) covers the whole call; each remaining
        error records how many tries its key had.
        """
        if not self.native_delete_many:
            return super().delete_many(keys)
        started = self._clock() if self._deadline is not None else None
        results = dict(self.inner.delete_many(keys))
        pending = [k for k, e in results.items() if e is not None and e.retryable]
        attempt = 1
        while pending and attempt < self._attempts:
            hint = max(_retry_after(results[k]) for k in pending)
            delay = max(self.delay(attempt), hint)
            deadline = self._deadline
            if (
                started is not None
                and deadline is not None
                and self._clock() - started + delay > deadline
            ):
                break
            rec, first_error = current_call(), results[pending[0]]
            if rec is not None and first_error is not None:
                rec.retrying(attempt, delay, first_error)
            self._sleep(delay)
            attempt += 1
            again = self.inner.delete_many(pending)
            results.update(again)
            for key in pending:
                err = again.get(key)
                if err is not None:
                    err.attempts = attempt  # tries this key had
            pending = [k for k in pending if (e := again.get(k)) is not None and e.retryable]
        if attempt > 1:
            rec = current_call()
            if rec is not None:
                rec.attempts = attempt
        return results

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        return self._call(self.inner.copy, src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._call(self.inner.move, src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._call(self.inner.remove_folder, key, recursive=recursive)

    def ping(self) -> None:
        self._call(self.inner.ping)

    def signed_url(self, key: str, expires: int, method: str) -> str:
        return self._call(self.inner.signed_url, key, expires, method)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        return self._rewritable(self.inner.write, key, src, metadata, atomic, overwrite)

    def _rewritable(
        self,
        inner_write: Callable[..., WriteResult],
        key: str,
        src: Source,
        metadata: Mapping[str, str] | None,
        atomic: bool,
        overwrite: bool = True,
    ) -> WriteResult:
        """A write through ``inner_write``, retried while its source can be rewound."""
        budget = self._budget()
        try:
            position = None if isinstance(src, bytes | bytearray | memoryview) else _position(src)
            return inner_write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)
        except StoreroomError as exc:
            if not exc.retryable or self._attempts == 1:
                raise
            if isinstance(src, bytes | bytearray | memoryview):
                rewind: Callable[[], None] | None = None
            elif position is None:
                exc.attempts = 1
                raise  # the stream was consumed and cannot be rewound
            else:
                rewind = _rewinder(src, position)

            def again() -> WriteResult:
                if rewind is not None:
                    rewind()
                return inner_write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

            return self._retry(exc, budget, again)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Retried like ``write`` ``PreconditionFailed`` never is (COND-030)."""
        inner = self.inner

        def conditional(key: str, src: Source, *, overwrite: bool, **kw: Any) -> WriteResult:
            return inner.write_if_match(key, src, etag, **kw)

        try:
            return self._rewritable(conditional, key, src, metadata, atomic)
        except PreconditionFailed as exc:
            _maybe_applied(exc)
            raise

    def delete_if_match(self, key: str, etag: str) -> None:
        try:
            self._call(self.inner.delete_if_match, key, etag)
        except PreconditionFailed as exc:
            _maybe_applied(exc)
            raise

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        stream = self._call(self.inner.open_read, key, start, end)
        if not self.options.resume_reads:
            return stream
        return _ResumingStream(stream, self, key, start, end)  # type: ignore[return-value]

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        entries = self._call(self.inner.list, prefix, recursive=recursive, base=base)
        if not self.options.resume_listings or self._attempts == 1:
            return entries
        return self._resuming_list(entries, prefix, recursive, base)

    def _resuming_list(
        self, entries: Iterator[Entry], prefix: str, recursive: bool, base: str
    ) -> Iterator[Entry]:
        last: Entry | None = None
        budget: _Budget | None = None
        skip_to: str | None = None
        while True:
            try:
                for entry in entries:
                    if skip_to is not None:
                        if entry_sort_key(entry) <= skip_to:
                            continue
                        skip_to = None
                    last = entry
                    budget = None  # progress made: a new failure starts a new budget
                    yield entry
                return
            except StoreroomError as exc:
                if budget is None:
                    budget = self._budget()
                budget.wait_or_raise(exc)
                skip_to = entry_sort_key(last) if last is not None else None
                try:
                    entries = self.inner.list(prefix, recursive=recursive, base=base)
                except StoreroomError as again:
                    entries = _raising(again)


def _maybe_applied(exc: PreconditionFailed) -> None:
    """Say so when a ``PreconditionFailed`` followed a failed try that may have been applied."""
    if exc.attempts is not None and exc.attempts > 1:
        exc.hint = (
            "an earlier try failed after it may have reached the backend: re-read the file "
            "to see whether it already holds your change before retrying"
        )


def _retry_after(err: StoreroomError | None) -> float:
    return float(err.retry_after or 0.0) if err is not None else 0.0


def _raising(exc: StoreroomError) -> Iterator[Entry]:
    raise exc
    yield  # pragma: no cover - makes this a generator


def _position(src: Any) -> int | None:
    """Where a seekable source starts, or None when it cannot be rewound."""
    try:
        if src.seekable():
            return int(src.tell())
    except Exception:
        pass
    return None


def _rewinder(src: Any, position: int) -> Callable[[], None]:
    def rewind() -> None:
        src.seek(position)

    return rewind


class _ResumingStream(ProxyStream):
    """A read stream that, on a retryable failure, reopens at the offset reached.

    Resuming works for sequential reads: once ``seek`` was called the stream
    only passes errors on.
    """

    def __init__(
        self, inner: BinaryIO, layer: RetryLayer, key: str, start: int | None, end: int | None
    ) -> None:
        super().__init__(inner)
        self._layer = layer
        self._key = key
        self._pos = self._first = start or 0
        self._end = end
        self._resumable = True

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except StoreroomError as exc:
            if not self._resumable or method == "seek" or not exc.retryable:
                raise
            return self._resume(exc, method, args)

    def _resume(self, exc: StoreroomError, method: str, args: tuple[Any, ...]) -> Any:
        budget = self._layer._budget()
        while True:
            budget.wait_or_raise(exc)
            try:
                self._inner.close()
            except Exception:
                pass
            try:
                self._inner = self._layer.inner.open_read(self._key, self._pos, self._end)
                result = getattr(self._inner, method)(*args)
            except StoreroomError as again:
                exc = again
                continue
            budget.report()
            return result

    def _data(self, data: bytes, eof: bool) -> None:
        self._pos += len(data)

    def _sought(self, pos: int) -> None:
        self._resumable = False

    def tell(self) -> int:
        if self._resumable:
            return self._pos - self._first
        return int(self._inner.tell())
