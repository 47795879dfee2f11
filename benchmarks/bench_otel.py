"""Cost of the ``otel`` layer with no OpenTelemetry SDK configured (spec OTEL-070).

Only ``opentelemetry-api`` is used: this process never imports or configures
the SDK, so the layer talks to the API's default no-op providers, as it does
in an application that installed ``storeroom[otel]`` but exports nothing.
Two stores on the memory backend, built from config by the Registry as users
build them, one plain and one with ``layers = [{ type = "otel" }]``, run
``exists``, ``get_file_info`` (one ``stat``) and ``read_bytes`` of a 100-byte
file side by side in one interleaved run (``_harness.measure``).

Target: the layer adds at most 5 µs per operation (median).

    python benchmarks/bench_otel.py [--quick] [--json PATH] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _harness import (  # noqa: E402
    Variant,
    calibrate_number,
    load_average,
    loop_overhead_ns,
    machine_info,
    measure,
)

from storeroom import Registry, Store  # noqa: E402

TARGET_US = 5.0
PATH = "d/f.bin"
OPERATIONS = ("exists", "get_file_info", "read_bytes")


def build_stores() -> dict[str, Store]:
    config = {
        "backends": {
            "plain": {"type": "memory"},
            "traced": {"type": "memory", "layers": [{"type": "otel"}]},
        },
        "stores": {
            "no layer": {"backend": "plain", "root_path": "bench"},
            "otel": {"backend": "traced", "root_path": "bench"},
        },
    }
    registry = Registry(config)
    stores = {name: registry.get_store(name) for name in ("no layer", "otel")}
    for store in stores.values():
        store.write(PATH, b"x" * 100)
        assert store.read_bytes(PATH) == b"x" * 100
    return stores


def check_no_sdk() -> None:
    """The measurement is only meaningful with the API's no-op providers."""
    from opentelemetry import trace

    if any(m.startswith("opentelemetry.sdk") for m in sys.modules):
        raise SystemExit("bench_otel: the OpenTelemetry SDK was imported; run it on its own")
    provider = type(trace.get_tracer_provider()).__name__
    if provider not in ("ProxyTracerProvider", "NoOpTracerProvider"):
        raise SystemExit(f"bench_otel: a tracer provider is configured ({provider})")


def run(rounds: int, sample_ms: float) -> dict[str, Any]:
    stores = build_stores()
    check_no_sdk()
    variants = []
    for op in OPERATIONS:
        for label, store in stores.items():
            fn = getattr(store, op)
            variants.append(Variant(f"{op} ({label})", lambda _n, fn=fn: lambda: fn(PATH)))
    number = calibrate_number(variants, int(sample_ms * 1e6))
    overhead = loop_overhead_ns()
    stats = measure(variants, rounds=rounds, number=number, overhead_ns=overhead)
    rows: dict[str, dict[str, float]] = {}
    checks = []
    for op in OPERATIONS:
        bare, traced = stats[f"{op} (no layer)"], stats[f"{op} (otel)"]
        added = traced.median - bare.median
        rows[op] = {
            "no_layer_us": bare.median,
            "otel_us": traced.median,
            "added_us": added,
            "ratio": traced.median / bare.median,
            "otel_p25_us": traced.p25,
            "otel_p75_us": traced.p75,
        }
        checks.append(
            {
                "name": f"{op}: added µs per call",
                "value": added,
                "limit": TARGET_US,
                "ok": added <= TARGET_US,
            }
        )
    return {"rows": rows, "checks": checks, "rounds": rounds, "number": number}


def format_text(result: dict[str, Any], machine: dict[str, Any]) -> str:
    out = [
        f"otel layer, no SDK (no-op providers), memory backend — Python {machine['python']} — "
        f"{machine['cpu_count']} CPUs — load {machine['load_at_start']} → {load_average()}; "
        f"{result['rounds']} rounds x {result['number']} calls",
        "",
        f"{'operation':<15} {'no layer µs':>11} {'otel µs':>9} {'added µs':>9} {'ratio':>7}",
    ]
    for op, r in result["rows"].items():
        out.append(
            f"{op:<15} {r['no_layer_us']:>11.2f} {r['otel_us']:>9.2f} {r['added_us']:>9.2f} "
            f"{r['ratio']:>6.2f}x"
        )
    out.append("")
    for c in result["checks"]:
        status = "PASS" if c["ok"] else "FAIL"
        out.append(f"{status}  {c['name']}: {c['value']:.2f} µs (target ≤ {c['limit']:g} µs)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--sample-ms", type=float, help="override the sample length")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    machine = machine_info(_HERE)
    rounds = args.rounds or (15 if args.quick else 61)
    sample_ms = args.sample_ms or (2.0 if args.quick else 5.0)
    result = run(rounds=rounds, sample_ms=sample_ms)
    print(format_text(result, machine))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, **result}, f, indent=2)
    return 1 if args.check and not all(c["ok"] for c in result["checks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
