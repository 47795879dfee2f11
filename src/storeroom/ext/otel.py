"""OpenTelemetry for storeroom: the ``otel`` layer, one span and three metrics per operation.

``layers = [{ type = "otel" }]`` (or ``Store(OtelLayer(backend))``) makes
one span per backend call, named ``storeroom.<operation>``; a read's span
lasts until its stream is closed, a listing's until it ends. Spans carry the
store, backend type, operation, bytes, outcome and ``error.type``; retries
below are span events, a cache answer is an attribute, paths only with
``record_paths``. Metrics: ``storeroom.operation.duration``,
``storeroom.bytes`` and ``storeroom.errors``. Needs only
``opentelemetry-api`` (``pip install "storeroom[otel]"``); without an SDK
every call is a no-op. Spec OTEL-*.
"""

from __future__ import annotations

try:
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind, StatusCode
except ImportError as _exc:  # spec OTEL-002
    from storeroom.errors import ConfigError

    raise ConfigError(
        "storeroom.ext.otel needs opentelemetry-api, which is not installed",
        hint='pip install "storeroom[otel]"',
    ) from _exc

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom._signed import masked
from storeroom.backend import Backend, Entry
from storeroom.errors import StoreroomError
from storeroom.layers._base import _CURRENT, CallRecord, LayerOptions, ProxyStream, build_options
from storeroom.layers._measured import MeasuredLayer
from storeroom.layers.observe import get_correlation_id
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter, MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from storeroom.ext.observe import ObservedStore
    from storeroom.store import Store

__all__ = ["OPERATIONS", "OtelLayer", "OtelOptions", "otel_hooks", "otel_observe"]

#: Operation names used in span names and the ``storeroom.operation`` label.
OPERATIONS = (
    "stat",
    "exists",
    "is_folder",
    "read",
    "write",
    "delete",
    "delete_many",
    "copy",
    "move",
    "remove_folder",
    "list",
    "ping",
    "signed_url",
)

_now = time.perf_counter_ns


@dataclasses.dataclass(frozen=True)
class OtelOptions(LayerOptions):
    """Config options of ``otel``: whether paths are recorded, and the scope names."""

    layer_type = "otel"

    record_paths: bool = False
    store: str | None = None
    tracer_name: str = "storeroom"
    meter_name: str = "storeroom"

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("tracer_name", bool(self.tracer_name), "a non-empty string"),
            ("meter_name", bool(self.meter_name), "a non-empty string"),
        ]


def error_type(exc: BaseException) -> str:
    """The ``error.type`` of ``exc``: its class's canonical name (no message, so no secret)."""
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


class _Call(CallRecord):
    """One traced call: its span and start; layers below report attempts, retries, hits here."""

    def __init__(self, span: Span, outer: CallRecord | None) -> None:
        self.span = span
        self.outer = outer
        self.t0 = _now()

    def retrying(self, attempt: int, delay_s: float, error: BaseException) -> None:
        self.span.add_event(
            "storeroom.retry",
            {
                "storeroom.retry.attempt": attempt,
                "storeroom.retry.delay_s": delay_s,
                "error.type": error_type(error),
            },
        )

    def returned(self) -> None:
        """The backend call returned: pass attempts and cache hit on to an outer record."""
        outer = self.outer
        if outer is not None:  # an outer observe layer sees what happened below too
            outer.attempts = self.attempts
            outer.cache_hit = self.cache_hit

    def finish(self, exc: BaseException | None, nbytes: int | None, entries: int | None) -> None:
        """Set the outcome attributes and end the span."""
        attrs: dict[str, Any] = {
            "storeroom.outcome": "ok" if exc is None else type(exc).__name__,
            "storeroom.attempts": self.attempts,
        }
        if nbytes is not None:
            attrs["storeroom.bytes"] = nbytes
        if entries is not None:
            attrs["storeroom.entries"] = entries
        if self.cache_hit is not None:
            attrs["storeroom.cache_hit"] = self.cache_hit
        if exc is not None:
            attrs["error.type"] = error_type(exc)
            self.span.set_status(StatusCode.ERROR)
        self.span.set_attributes(attrs)
        self.span.end()


class OtelLayer(MeasuredLayer):
    """Traces and measures every call of the backend it wraps; see the module docstring.

    ``tracer_provider``/``meter_provider`` (or ready ``tracer``/``meter``)
    replace the global providers; they are not pickled (a copy uses the
    global providers of the process it lands in).
    """

    Options = OtelOptions
    options: OtelOptions

    def __init__(
        self,
        inner: Backend,
        *,
        record_paths: bool = False,
        store: str | None = None,
        tracer_name: str = "storeroom",
        meter_name: str = "storeroom",
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        tracer: Tracer | None = None,
        meter: Meter | None = None,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            OtelOptions,
            "otel layer",
            record_paths=record_paths,
            store=store,
            tracer_name=tracer_name,
            meter_name=meter_name,
        )
        from storeroom import __version__

        self.store_name = store
        self._paths = record_paths
        self._global = tracer is None and tracer_provider is None
        self._tracer = tracer or trace.get_tracer(
            tracer_name, __version__, tracer_provider=tracer_provider
        )
        meter = meter or metrics.get_meter(meter_name, __version__, meter_provider=meter_provider)
        self._duration = meter.create_histogram(
            "storeroom.operation.duration",
            unit="s",
            description="Duration of storeroom operations (a read or listing until it ends)",
        )
        self._bytes = meter.create_counter(
            "storeroom.bytes", unit="By", description="Bytes read or written by storeroom"
        )
        self._errors = meter.create_counter(
            "storeroom.errors", unit="{error}", description="Failed storeroom operations"
        )
        base = {"storeroom.backend": inner.type_name}
        if store is not None:
            base["storeroom.store"] = store
        self._labels = {op: {**base, "storeroom.operation": op} for op in OPERATIONS}
        self._names = {op: f"storeroom.{op}" for op in OPERATIONS}

    # -- one call -----------------------------------------------------------------------

    def _start(self, op: str, key: str) -> _Call | None:
        """The record of a call whose span is recorded; ``None`` when it is not (no SDK)."""
        # With the global providers and none set, the API's ProxyTracer would hand out a
        # no-op span; reading the variable it tests skips building one (about 1 µs).
        # Should the API rename it, calls take the ordinary path (spec OTEL-070).
        if self._global and getattr(trace, "_TRACER_PROVIDER", True) is None:
            return None
        span = self._tracer.start_span(
            self._names[op], kind=SpanKind.CLIENT, attributes=self._labels[op]
        )
        if not span.is_recording():
            return None  # nothing to annotate: layers below report to any outer record
        call = _Call(span, _CURRENT.get())
        if self._paths:
            span.set_attribute("storeroom.path", key)
        cid = get_correlation_id()
        if cid is not None:
            span.set_attribute("storeroom.correlation_id", cid)
        return call

    def _invoke(
        self, op: str, key: str, fn: Callable[..., Any], *args: Any, **kw: Any
    ) -> tuple[Any, _Call | None, int]:
        """``fn(*args, **kw)`` with its span current; a failure ends the span and is raised."""
        call = self._start(op, key)
        if call is None:
            t0 = _now()
            try:
                return fn(*args, **kw), None, t0
            except BaseException as exc:
                self._end(op, None, t0, exc)
                raise
        token = _CURRENT.set(call)
        attached = otel_context.attach(trace.set_span_in_context(call.span))
        try:
            result = fn(*args, **kw)
        except BaseException as exc:
            otel_context.detach(attached)
            _CURRENT.reset(token)
            call.returned()
            self._end(op, call, call.t0, exc)
            raise
        otel_context.detach(attached)
        _CURRENT.reset(token)
        call.returned()
        return result, call, call.t0

    def _end(
        self,
        op: str,
        call: _Call | None,
        t0: int,
        exc: BaseException | None,
        nbytes: int | None = None,
        entries: int | None = None,
    ) -> None:
        """Record the metrics of a finished call and end its span."""
        duration = (_now() - t0) / 1e9
        labels = self._labels[op]
        if nbytes:
            self._bytes.add(nbytes, labels)
        if exc is None:
            self._duration.record(duration, labels)
        else:
            failed = {**labels, "error.type": error_type(exc)}
            self._duration.record(duration, failed)
            self._errors.add(1, failed)
        if call is not None:
            call.finish(exc, nbytes, entries)

    def _measured(self, op: str, key: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        result, call, t0 = self._invoke(op, key, fn, *args, **kw)
        self._end(op, call, t0, None, result.size if type(result) is WriteResult else None)
        return result

    # -- primitives ---------------------------------------------------------------------

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """One ``delete_many`` span for a native bulk delete (else one ``delete`` per key)."""
        if not self.native_delete_many:
            return super().delete_many(keys)
        first = keys[0] if keys else ""
        found, call, t0 = self._invoke("delete_many", first, self.inner.delete_many, keys)
        results: dict[str, StoreroomError | None] = found
        failed = next((e for e in results.values() if e is not None), None)
        self._end("delete_many", call, t0, failed, entries=len(keys))
        return results

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A ``signed_url`` span with method and lifetime; with ``record_paths`` also
        ``url.full`` with its signature masked (the URL is a credential, spec SIGN-041)."""
        url, call, t0 = self._invoke("signed_url", key, self.inner.signed_url, key, expires, method)
        if call is not None:
            call.span.set_attributes(
                {"http.request.method": method, "storeroom.url.expires_s": expires}
            )
            if self._paths:
                call.span.set_attribute("url.full", masked(url))
        self._end("signed_url", call, t0, None)
        result: str = url
        return result

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """The ``read`` span starts here and ends when the stream is closed."""
        stream, call, t0 = self._invoke("read", key, self.inner.open_read, key, start, end)
        return _MeasuredStream(stream, self, call, t0)  # type: ignore[return-value]

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """The ``list`` span starts here and ends when the listing ends or is closed."""
        entries, call, t0 = self._invoke(
            "list", prefix, self.inner.list, prefix, recursive=recursive, base=base
        )
        return self._iterate(entries, call, t0)

    def _iterate(self, entries: Iterator[Entry], call: _Call | None, t0: int) -> Iterator[Entry]:
        count = 0
        error: BaseException | None = None
        try:
            if call is None:
                for entry in entries:
                    count += 1
                    yield entry
                return
            while True:  # layers below report resumed listings into this call's span
                token = _CURRENT.set(call)
                try:
                    entry = next(entries)
                except StopIteration:
                    return
                finally:
                    _CURRENT.reset(token)
                count += 1
                yield entry
        except GeneratorExit:
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end("list", call, t0, error, entries=count)


class _MeasuredStream(ProxyStream):
    """Counts bytes; ends the ``read`` call when closed (with the first error, if any)."""

    def __init__(self, inner: BinaryIO, layer: OtelLayer, call: _Call | None, t0: int) -> None:
        super().__init__(inner)
        self._layer = layer
        self._rec = call
        self._t0 = t0
        self._bytes = 0
        self._error: BaseException | None = None

    def _call(self, method: str, *args: Any) -> Any:
        # layers below (a resuming retry) report into the read's span
        token = _CURRENT.set(self._rec) if self._rec is not None else None
        try:
            return getattr(self._inner, method)(*args)
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            raise
        finally:
            if token is not None:
                _CURRENT.reset(token)

    def read(self, size: int | None = -1) -> bytes:
        if self._rec is not None:
            return super().read(size)
        try:  # the common case, without a span: the shortest path
            data: bytes = self._inner.read(-1 if size is None else size)
        except BaseException as exc:
            if self._error is None:
                self._error = exc
            raise
        self._bytes += len(data)
        return data

    def _data(self, data: bytes, eof: bool) -> None:
        self._bytes += len(data)

    def _done(self) -> None:
        self._layer._end("read", self._rec, self._t0, self._error, self._bytes)
        self._error = None


# -- remote-store's names ------------------------------------------------------------


def otel_hooks(
    *,
    tracer_name: str = "storeroom",
    meter_name: str = "storeroom",
    tracer: Tracer | None = None,
    meter: Meter | None = None,
    record_paths: bool = False,
) -> dict[str, Any]:
    """The keyword arguments of ``OtelLayer`` (remote-store's name): ``OtelLayer(b, **hooks)``."""
    return {
        "tracer_name": tracer_name,
        "meter_name": meter_name,
        "tracer": tracer,
        "meter": meter,
        "record_paths": record_paths,
    }


def otel_observe(
    store: Store,
    *,
    tracer_name: str = "storeroom",
    meter_name: str = "storeroom",
    tracer: Tracer | None = None,
    meter: Meter | None = None,
    record_paths: bool = False,
) -> ObservedStore:
    """``observe(store, **otel_hooks(...))``: an ObservedStore with an ``OtelLayer`` inside."""
    from storeroom.ext.observe import observe

    hooks = otel_hooks(
        tracer_name=tracer_name,
        meter_name=meter_name,
        tracer=tracer,
        meter=meter,
        record_paths=record_paths,
    )
    return observe(store, **hooks)
