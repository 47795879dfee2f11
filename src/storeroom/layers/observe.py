"""``ObserveLayer``: one event per primitive call and per finished stream or listing.

An ``ObserveEvent`` says what ran (``operation``: the primitive, or
``read_stream`` / ``list_stream`` when a stream or listing finishes), where
(backend type, store, key), how long it took, how many bytes or entries
moved, the outcome (``"ok"`` or the error class name), how many attempts a
retry layer below made and whether a cache layer below answered (spec
LAYER-030..039). Events carry no error messages, option values or content,
so no secret can reach a sink.

Sinks are callables taking the event: your own callbacks, ``LogSink``
(stdlib logging with the event in ``extra``) and ``Recorder`` (keeps events
in memory, for tests). A sink that raises is ignored (logged once at DEBUG),
never breaking the call. ``correlation_id`` comes from a context variable:
set it with ``set_correlation_id`` or ``with correlation(...)``; worker
threads that copy the context (``AsyncStore``) carry it along.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, NamedTuple

from storeroom.backend import Backend, Entry
from storeroom.errors import StoreroomError
from storeroom.layers._base import _CURRENT, CallRecord, LayerOptions, ProxyStream, build_options
from storeroom.layers._measured import MeasuredLayer
from storeroom.models import WriteResult

__all__ = [
    "LogSink",
    "ObserveEvent",
    "ObserveLayer",
    "Recorder",
    "Sink",
    "correlation",
    "event_error",
    "get_correlation_id",
    "reset_correlation_id",
    "set_correlation_id",
]

_CORRELATION: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "storeroom_correlation_id", default=None
)


_ERROR: contextvars.ContextVar[BaseException | None] = contextvars.ContextVar(
    "storeroom_observe_error", default=None
)


def event_error() -> BaseException | None:
    """In a sink: the exception behind the failed event being delivered (else ``None``)."""
    return _ERROR.get()


def set_correlation_id(value: str | None) -> contextvars.Token[str | None]:
    """Tag events of this context with ``value``; returns a token for ``reset_correlation_id``."""
    return _CORRELATION.set(value)


def reset_correlation_id(token: contextvars.Token[str | None]) -> None:
    _CORRELATION.reset(token)


def get_correlation_id() -> str | None:
    return _CORRELATION.get()


@contextlib.contextmanager
def correlation(value: str | None = None) -> Iterator[str]:
    """Within the block, events carry ``value`` (a new random id when omitted)."""
    cid = value if value is not None else uuid.uuid4().hex
    token = _CORRELATION.set(cid)
    try:
        yield cid
    finally:
        _CORRELATION.reset(token)


class ObserveEvent(NamedTuple):
    """One finished primitive call, stream or listing (a named tuple: cheap to build)."""

    operation: str
    backend: str
    store: str | None
    key: str
    duration_s: float
    outcome: str  # "ok" or the error class name
    bytes: int | None = None
    entries: int | None = None
    attempts: int = 1
    cache_hit: bool | None = None
    correlation_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


Sink = Callable[[ObserveEvent], None]


class Recorder:
    """A sink keeping the last ``maxlen`` events (all when ``None``); for tests."""

    def __init__(self, maxlen: int | None = None) -> None:
        self.maxlen = maxlen
        self._events: deque[ObserveEvent] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def __call__(self, event: ObserveEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[ObserveEvent]:
        with self._lock:
            return list(self._events)

    def of(self, operation: str) -> list[ObserveEvent]:
        return [e for e in self.events if e.operation == operation]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Recorder, (self.maxlen,))  # a copy starts empty


class LogSink:
    """Logs each event to ``logger`` at ``level``; ``extra={"storeroom": event.as_dict()}``."""

    def __init__(self, logger: str = "storeroom.events", level: int | str = "DEBUG") -> None:
        import logging

        self.logger_name = logger
        self.level = logging.getLevelName(level) if isinstance(level, str) else level
        if not isinstance(self.level, int):
            raise ValueError(f"unknown logging level {level!r}")
        self._logger = logging.getLogger(logger)

    def __call__(self, event: ObserveEvent) -> None:
        if self._logger.isEnabledFor(self.level):
            self._logger.log(
                self.level,
                "storeroom %s %s key=%r %s %.6fs",
                event.backend,
                event.operation,
                event.key,
                event.outcome,
                event.duration_s,
                extra={"storeroom": event.as_dict()},
            )

    def __reduce__(self) -> tuple[Any, ...]:
        return (LogSink, (self.logger_name, self.level))


@dataclasses.dataclass(frozen=True)
class ObserveOptions(LayerOptions):
    """Config options of ``observe``: a logging sink and/or a recorder of the last N events."""

    layer_type = "observe"

    log: bool = True
    logger: str = "storeroom.events"
    level: str = "DEBUG"
    record: int = 0
    store: str | None = None

    def rules(self) -> list[tuple[str, bool, str]]:
        import logging

        return [
            ("record", self.record >= 0, "an integer >= 0"),
            (
                "level",
                isinstance(logging.getLevelName(self.level.upper()), int),
                "a logging level name such as 'DEBUG' or 'INFO'",
            ),
        ]


_now = time.perf_counter_ns
_new_tuple: Callable[[type[ObserveEvent], tuple[Any, ...]], ObserveEvent] = tuple.__new__


class ObserveLayer(MeasuredLayer):
    """Emits an ``ObserveEvent`` to every sink per call; see the module docstring."""

    Options = ObserveOptions
    options: ObserveOptions

    def __init__(
        self,
        inner: Backend,
        *,
        log: bool = True,
        logger: str = "storeroom.events",
        level: str = "DEBUG",
        record: int = 0,
        store: str | None = None,
        sinks: Iterable[Sink] = (),
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            ObserveOptions,
            "observe layer",
            log=log,
            logger=logger,
            level=level,
            record=record,
            store=store,
        )
        self.store_name = store
        self._extra_sinks = tuple(sinks)
        built: list[Sink] = list(self._extra_sinks)
        self.recorder: Recorder | None = None
        if record:
            self.recorder = Recorder(record)
            built.append(self.recorder)
        if log:
            built.append(LogSink(logger, level.upper()))
        self.sinks: tuple[Sink, ...] = tuple(built)

    def extras(self) -> dict[str, Any]:
        return {"sinks": self._extra_sinks}

    def add_sink(self, sink: Sink) -> None:
        """Send events to ``sink`` too (for listeners added after the stack was built)."""
        self.sinks = (*self.sinks, sink)

    # -- emitting ---------------------------------------------------------------------

    def emit(self, event: ObserveEvent) -> None:
        """Send ``event`` to every sink (a sink that raises is skipped)."""
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # a broken listener never breaks storage calls
                _sink_failed(sink)

    def _event(
        self,
        op: str,
        key: str,
        t0: int,
        outcome: str,
        rec: CallRecord | None,
        nbytes: int | None = None,
        entries: int | None = None,
        error: BaseException | None = None,
    ) -> None:
        sinks = self.sinks
        if not sinks:
            return
        if error is not None:  # sinks may ask for it with event_error(); never in the event
            token = _ERROR.set(error)
            try:
                self._event(op, key, t0, outcome, rec, nbytes, entries)
            finally:
                _ERROR.reset(token)
            return
        # tuple.__new__ directly: a third of the cost of the named tuple's own __new__
        event = _new_tuple(
            ObserveEvent,
            (
                op,
                self.type_name,
                self.store_name,
                key,
                (_now() - t0) / 1e9,
                outcome,
                nbytes,
                entries,
                rec.attempts if rec is not None else 1,
                rec.cache_hit if rec is not None else None,
                _CORRELATION.get(),
            ),
        )
        for sink in sinks:
            try:
                sink(event)
            except Exception:  # a broken listener never breaks storage calls
                _sink_failed(sink)

    def _measured(self, op: str, key: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        rec = CallRecord()
        token = _CURRENT.set(rec)
        t0 = _now()
        try:
            result = fn(*args, **kw)
        except BaseException as exc:
            _CURRENT.reset(token)
            self._event(op, key, t0, type(exc).__name__, rec, error=exc)
            raise
        _CURRENT.reset(token)
        nbytes = result.size if type(result) is WriteResult else None
        self._event(op, key, t0, "ok", rec, nbytes)
        return result

    # -- primitives -------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        rec = CallRecord()
        token = _CURRENT.set(rec)
        t0 = _now()
        try:
            entry = self.inner.stat(key)
        except BaseException as exc:
            _CURRENT.reset(token)
            self._event("stat", key, t0, type(exc).__name__, rec, error=exc)
            raise
        _CURRENT.reset(token)
        self._event("stat", key, t0, "ok", rec)
        return entry

    def discard(self, key: str) -> None:
        self._measured("delete", key, self.inner.discard, key)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """One ``delete_many`` event for a native bulk delete (else one ``delete`` per key)."""
        if not self.native_delete_many:
            return super().delete_many(keys)
        rec = CallRecord()
        token = _CURRENT.set(rec)
        t0 = _now()
        first = keys[0] if keys else ""
        try:
            results = self.inner.delete_many(keys)
        except BaseException as exc:
            _CURRENT.reset(token)
            self._event(
                "delete_many", first, t0, type(exc).__name__, rec, entries=len(keys), error=exc
            )
            raise
        _CURRENT.reset(token)
        failed = next((e for e in results.values() if e is not None), None)
        outcome = "ok" if failed is None else type(failed).__name__
        self._event("delete_many", first, t0, outcome, rec, entries=len(keys))
        return results

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A ``signed_url`` event: key, time and outcome only; the URL is never in it (SIGN-040)."""
        url: str = self._measured("signed_url", key, self.inner.signed_url, key, expires, method)
        return url

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        t0 = time.perf_counter_ns()
        stream = self._measured("open_read", key, self.inner.open_read, key, start, end)
        return _ObservedStream(stream, self, key, t0)  # type: ignore[return-value]

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        t0 = time.perf_counter_ns()
        rec = CallRecord()
        token = _CURRENT.set(rec)
        try:
            entries = self.inner.list(prefix, recursive=recursive, base=base)
        except BaseException as exc:
            _CURRENT.reset(token)
            self._event("list", prefix, t0, type(exc).__name__, rec, error=exc)
            raise
        _CURRENT.reset(token)
        self._event("list", prefix, t0, "ok", rec)
        return self._iterate(entries, prefix, t0, rec)

    def _iterate(
        self, entries: Iterator[Entry], prefix: str, t0: int, rec: CallRecord
    ) -> Iterator[Entry]:
        count = 0
        outcome = "ok"
        error: BaseException | None = None
        try:
            for entry in entries:
                count += 1
                yield entry
        except GeneratorExit:
            outcome = "closed"
            raise
        except BaseException as exc:
            outcome = type(exc).__name__
            error = exc
            raise
        finally:
            self._event("list_stream", prefix, t0, outcome, rec, entries=count, error=error)


class _ObservedStream(ProxyStream):
    """Counts bytes; emits ``read_stream`` when closed (outcome: first error, if any)."""

    def __init__(self, inner: BinaryIO, layer: ObserveLayer, key: str, t0: int) -> None:
        super().__init__(inner)
        self._layer = layer
        self._key = key
        self._t0 = t0
        self._bytes = 0
        self._outcome = "ok"

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except BaseException as exc:
            if self._outcome == "ok":
                self._outcome = type(exc).__name__
            raise

    def _data(self, data: bytes, eof: bool) -> None:
        self._bytes += len(data)

    def _done(self) -> None:
        self._layer._event("read_stream", self._key, self._t0, self._outcome, None, self._bytes)


_warned: set[int] = set()


def _sink_failed(sink: Sink) -> None:
    if id(sink) in _warned:
        return
    _warned.add(id(sink))
    import logging

    logging.getLogger("storeroom.layers.observe").debug(
        "an observe sink raised; its events are dropped", exc_info=True
    )
