"""Overhead of the layer stack per ``stat`` on the memory backend (spec LAYER-091).

Every variant runs ``store.get_file_info(path)`` (one ``stat`` primitive) in
one interleaved run (``_harness.measure``), so the overhead figures compare
like with like:

* ``bare``: ``Store(MemoryBackend())``, no layers at all (the baseline);
* ``full stack (hit)``: observe → cache → retry → limit → context, built from
  config by the Registry as users build it, in steady state (the cache answers);
* ``full stack (miss)``: the same with a cache whose entries expire at once,
  so every call misses, goes through every layer to the backend and refills;
* each layer alone around the memory backend, for where the time goes.

Target: the full stack adds at most 10 µs per ``stat`` (median), hit and miss.

``--s3`` adds, in a second interleaved run against ``STOREROOM_TEST_S3_*``,
``exists`` and ``get_file_info`` on an s3 store without layers against the
same store with a cache layer answering (target: the hit is at least 20 times faster).

    python benchmarks/bench_layers.py [--quick] [--json PATH] [--markdown PATH] [--s3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
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
from storeroom.backend import Backend  # noqa: E402
from storeroom.backends.memory.backend import MemoryBackend  # noqa: E402
from storeroom.layers import (  # noqa: E402
    CacheLayer,
    ContextLayer,
    LimitLayer,
    ObserveLayer,
    RetryLayer,
)

TARGET_US = 10.0
PATH = "d/f.bin"
LIMIT = {"type": "limit", "max_concurrency": 64, "requests_per_second": 1e9}


def _stack_store(cache: dict[str, Any]) -> Store:
    config = {
        "backends": {
            "m": {
                "type": "memory",
                "layers": [{"type": "observe"}, cache, {"type": "retry"}, LIMIT],
            }
        },
        "stores": {"s": {"backend": "m", "root_path": "bench"}},
    }
    return Registry(config).get_store("s")


def _single(wrap: Callable[[Backend], Backend]) -> Store:
    return Store(wrap(MemoryBackend()), "bench")


def build_stores() -> dict[str, Store]:
    stores = {
        "bare": Store(MemoryBackend(), "bench"),
        "full stack (hit)": _stack_store({"type": "cache", "ttl_s": 3600}),
        "full stack (miss)": _stack_store({"type": "cache", "ttl_s": 1e-9}),
        "context alone": _single(ContextLayer),
        "observe alone": _single(ObserveLayer),
        "cache alone (hit)": _single(CacheLayer),
        "retry alone": _single(RetryLayer),
        "limit alone": _single(
            lambda b: LimitLayer(b, max_concurrency=64, requests_per_second=1e9)
        ),
    }
    for store in stores.values():
        store.write(PATH, b"x" * 100)
        assert store.get_file_info(PATH).size == 100
    return stores


def run(rounds: int, sample_ms: float) -> dict[str, Any]:
    stores = build_stores()

    def variant(name: str, store: Store) -> Variant:
        op = store.get_file_info
        return Variant(name, lambda _n: lambda: op(PATH))

    variants = [variant(n, s) for n, s in stores.items()]
    number = calibrate_number(variants, int(sample_ms * 1e6))
    overhead = loop_overhead_ns()
    stats = measure(variants, rounds=rounds, number=number, overhead_ns=overhead)
    bare = stats["bare"].median
    rows = {
        name: {
            "median_us": s.median,
            "p25_us": s.p25,
            "p75_us": s.p75,
            "overhead_us": s.median - bare,
            "samples": s.samples,
            "number": s.number,
        }
        for name, s in stats.items()
    }
    checks = [
        {
            "name": f"{name}: added µs per stat",
            "value": rows[name]["overhead_us"],
            "limit": TARGET_US,
            "ok": rows[name]["overhead_us"] <= TARGET_US,
        }
        for name in ("full stack (hit)", "full stack (miss)")
    ]
    return {"rows": rows, "checks": checks, "rounds": rounds, "number": number}


S3_TARGET = 20.0


def run_s3(rounds: int, sample_ms: float) -> dict[str, Any]:
    """Uncached vs cache-hit ``exists`` / ``get_file_info`` against the S3 server."""
    from _s3env import s3_bucket

    with s3_bucket() as opts:
        config = {
            "backends": {
                "plain": {"type": "s3", "options": opts},
                "cached": {
                    "type": "s3",
                    "options": opts,
                    "layers": [{"type": "cache", "ttl_s": 3600}],
                },
            },
            "stores": {
                "plain": {"backend": "plain", "root_path": "bench"},
                "cached": {"backend": "cached", "root_path": "bench"},
            },
        }
        with Registry(config) as registry:
            plain, cached = registry.get_store("plain"), registry.get_store("cached")
            plain.write(PATH, b"x" * 100, overwrite=True)
            variants = []
            for op in ("exists", "get_file_info"):
                for label, store in (("uncached", plain), ("cache hit", cached)):
                    fn = getattr(store, op)
                    variants.append(
                        Variant(f"s3 {op} ({label})", lambda _n, fn=fn: lambda: fn(PATH))
                    )
            number = calibrate_number(variants, int(sample_ms * 1e6), cap=2000)
            stats = measure(variants, rounds=rounds, number=number)
    rows = {
        name: {"median_us": st.median, "p25_us": st.p25, "p75_us": st.p75}
        for name, st in stats.items()
    }
    checks = []
    for op in ("exists", "get_file_info"):
        ratio = rows[f"s3 {op} (uncached)"]["median_us"] / rows[f"s3 {op} (cache hit)"]["median_us"]
        checks.append(
            {
                "name": f"s3 {op}: cache hit speed-up",
                "value": ratio,
                "limit": S3_TARGET,
                "ok": ratio >= S3_TARGET,
            }
        )
    return {"rows": rows, "checks": checks, "rounds": rounds, "number": number}


def format_s3(result: dict[str, Any]) -> str:
    out = [
        "",
        f"cache hit vs uncached against S3; {result['rounds']} rounds x {result['number']} calls",
    ]
    out.append(f"{'variant':<30} {'median µs':>10} {'p25':>9} {'p75':>9}")
    for name, r in result["rows"].items():
        out.append(f"{name:<30} {r['median_us']:>10.2f} {r['p25_us']:>9.2f} {r['p75_us']:>9.2f}")
    for c in result["checks"]:
        status = "PASS" if c["ok"] else "FAIL"
        out.append(f"{status}  {c['name']}: {c['value']:.0f}x (target ≥ {c['limit']:g}x)")
    return "\n".join(out)


def format_text(result: dict[str, Any], machine: dict[str, Any]) -> str:
    out = [
        f"layer overhead per stat (memory backend) — Python {machine['python']} — "
        f"{machine['cpu_count']} CPUs ({machine['cpu_model']}) — load {machine['load_at_start']}"
        f" → {load_average()}; {result['rounds']} rounds x {result['number']} calls",
        "",
        f"{'variant':<22} {'median µs':>10} {'p25':>8} {'p75':>8} {'added µs':>9}",
    ]
    for name, r in result["rows"].items():
        out.append(
            f"{name:<22} {r['median_us']:>10.2f} {r['p25_us']:>8.2f} {r['p75_us']:>8.2f} "
            f"{r['overhead_us']:>9.2f}"
        )
    out.append("")
    for c in result["checks"]:
        status = "PASS" if c["ok"] else "FAIL"
        out.append(f"{status}  {c['name']}: {c['value']:.2f} µs (target ≤ {c['limit']:g} µs)")
    return "\n".join(out)


def format_markdown(result: dict[str, Any]) -> str:
    out = ["| variant | median µs/stat | added vs bare |", "|---|--:|--:|"]
    for name, r in result["rows"].items():
        out.append(f"| {name} | {r['median_us']:.2f} | {r['overhead_us']:+.2f} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--s3", action="store_true", help="also the S3 cache-hit case")
    args = parser.parse_args(argv)
    machine = machine_info(_HERE)
    result = run(rounds=15 if args.quick else 61, sample_ms=2.0 if args.quick else 5.0)
    print(format_text(result, machine))
    if args.s3:
        from _s3env import s3_missing

        missing = s3_missing()
        if missing:
            print(f"--s3: set {', '.join(missing)} (scripts/services up s3); skipped")
        else:
            s3 = run_s3(rounds=5 if args.quick else 15, sample_ms=50.0 if args.quick else 200.0)
            print(format_s3(s3))
            result["s3"] = s3
            result["checks"] = [*result["checks"], *s3["checks"]]
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, **result}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(format_markdown(result))
    return 1 if args.check and not all(c["ok"] for c in result["checks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
