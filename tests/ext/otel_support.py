"""The OpenTelemetry SDK with an in-memory span exporter and metric reader, for the otel tests.

``Telemetry()`` is a private pair of providers handed to ``OtelLayer`` in
code; ``global_telemetry()`` installs one pair as the process's global
providers (once: OpenTelemetry allows it only once per process), which is
what a layer built from config uses.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

_DELTA = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}


class Telemetry:
    """SDK providers whose spans and metric points the test can read back."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader(preferred_temporality=_DELTA)
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("tests")

    @property
    def providers(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        found = list(self.exporter.get_finished_spans())
        return [s for s in found if name is None or s.name == name]

    def span(self, name: str) -> ReadableSpan:
        found = self.spans(name)
        assert len(found) == 1, [s.name for s in self.spans()]
        return found[0]

    def metrics(self) -> dict[str, list[tuple[dict[str, Any], Any]]]:
        """Metric name → [(labels, data point)] collected since the last call."""
        out: dict[str, list[tuple[dict[str, Any], Any]]] = {}
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data is not None else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    rows = out.setdefault(metric.name, [])
                    rows.extend((dict(p.attributes), p) for p in metric.data.data_points)
        return out

    def units(self) -> dict[str, str]:
        data = self.reader.get_metrics_data()
        return {
            m.name: m.unit
            for rm in (data.resource_metrics if data is not None else ())
            for sm in rm.scope_metrics
            for m in sm.metrics
        }

    def clear(self) -> None:
        self.exporter.clear()
        self.metrics()


_GLOBAL: Telemetry | None = None


def global_telemetry() -> Telemetry:
    """The process's global providers (installed on first use), emptied."""
    global _GLOBAL
    if _GLOBAL is None:
        tel = Telemetry()
        trace.set_tracer_provider(tel.tracer_provider)
        metrics.set_meter_provider(tel.meter_provider)
        assert trace.get_tracer_provider() is tel.tracer_provider, "another test set the globals"
        _GLOBAL = tel
    _GLOBAL.clear()
    return _GLOBAL


def everything_recorded(tel: Telemetry) -> str:
    """All text a span or metric carries: names, attributes, events, status, labels."""
    parts: list[str] = []
    for span in tel.spans():
        parts.append(span.name)
        parts.extend(f"{k}={v!r}" for k, v in (span.attributes or {}).items())
        parts.append(str(span.status.description))
        for event in span.events:
            parts.append(event.name)
            parts.extend(f"{k}={v!r}" for k, v in (event.attributes or {}).items())
    for name, rows in tel.metrics().items():
        parts.append(name)
        for labels, _ in rows:
            parts.extend(f"{k}={v!r}" for k, v in labels.items())
    return "\n".join(parts)
