"""The crypt layer reading a large local file vs a plain read of the same size (spec CRYPT-060).

A file of ``--mib`` MiB (default 256) is written twice into one temporary
folder on the local backend: plainly and through a ``crypt`` layer. Each
read runs in a fresh process (``--probe``) that streams the file in 1 MiB
reads and reports the time and its RSS growth (peak resident size during
the read, reset through ``/proc/self/clear_refs``, minus the size before).
Rounds alternate plain and crypt; medians are compared.

Targets: crypt throughput at least half the plain throughput, crypt RSS growth < 32 MiB.

    python benchmarks/bench_crypt.py [--quick] [--mib N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _harness import load_average, machine_info  # noqa: E402

MiB = 1024 * 1024
PASSWORD = "benchmark password"
RSS_LIMIT_MIB = 32.0
RATIO_TARGET = 0.5


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _store(folder: str, crypt: bool) -> Any:
    from storeroom import Store
    from storeroom.backends.local import LocalBackend
    from storeroom.layers import CryptLayer

    backend = LocalBackend(folder)
    return Store(CryptLayer(backend, password=PASSWORD) if crypt else backend)


def probe(kind: str, folder: str) -> dict[str, Any]:
    """One read of ``data.bin`` in this process: seconds, bytes and RSS growth."""
    store = _store(folder, kind == "crypt")
    with store.read("warm.bin") as warm:  # imports, thread pool, first-use caches
        while warm.read(MiB):
            pass
    before = _status_kib("VmRSS")
    _reset_peak()
    total = 0
    t0 = time.perf_counter()
    with store.read("data.bin") as stream:
        while block := stream.read(MiB):
            total += len(block)
    seconds = time.perf_counter() - t0
    growth = max(0, _status_kib("VmHWM") - before) / 1024
    return {"seconds": seconds, "bytes": total, "rss_growth_mib": growth}


def _prepare(folder: str, mib: int) -> None:
    block = os.urandom(MiB)
    for crypt in (False, True):
        store = _store(folder, crypt)
        store.write("warm.bin", block * 2, overwrite=True)
        store.write("data.bin", _Repeat(block, mib), overwrite=True)  # streamed: flat memory


class _Repeat:
    """A readable stream of ``count`` copies of ``block``."""

    def __init__(self, block: bytes, count: int) -> None:
        self._block = block
        self._left = count

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        self._left -= 1
        return self._block


def _run_probe(kind: str, folder: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--probe", kind, folder],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def bench(mib: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-crypt-") as folder:
        _prepare(folder, mib)
        samples: dict[str, list[dict[str, Any]]] = {"plain": [], "crypt": []}
        for r in range(rounds):
            order = ["plain", "crypt"] if r % 2 == 0 else ["crypt", "plain"]
            for kind in order:
                samples[kind].append(_run_probe(kind, folder))
    rows = {}
    for kind, runs in samples.items():
        assert all(s["bytes"] == mib * MiB for s in runs), kind
        median = statistics.median(s["seconds"] for s in runs)
        rows[kind] = {
            "median_s": median,
            "mib_per_s": mib / median,
            "rss_growth_mib": max(s["rss_growth_mib"] for s in runs),
            "samples_s": [s["seconds"] for s in runs],
        }
    ratio = rows["crypt"]["mib_per_s"] / rows["plain"]["mib_per_s"]
    rss = rows["crypt"]["rss_growth_mib"]
    return {
        "mib": mib,
        "rounds": rounds,
        "rows": rows,
        "ratio": ratio,
        "ratio_ok": ratio >= RATIO_TARGET,
        "rss_ok": rss < RSS_LIMIT_MIB,
        "ok": ratio >= RATIO_TARGET and rss < RSS_LIMIT_MIB,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 32 MiB")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--probe", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(*args.probe)))
        return 0
    mib, rounds = (32, 3) if args.quick else (args.mib, args.rounds)
    result = bench(mib, rounds)
    print(f"read {mib} MiB from local, 1 MiB reads, {rounds} rounds, load {load_average()}")
    for kind, row in result["rows"].items():
        print(
            f"  {kind:<6} {row['median_s'] * 1000:8.1f} ms  {row['mib_per_s']:8.0f} MiB/s"
            f"  RSS growth {row['rss_growth_mib']:6.1f} MiB"
        )
    verdict = "PASS" if result["ratio_ok"] else "FAIL"
    print(f"{verdict}  crypt / plain throughput: {result['ratio']:.2f}x (target ≥ {RATIO_TARGET}x)")
    verdict = "PASS" if result["rss_ok"] else "FAIL"
    rss = result["rows"]["crypt"]["rss_growth_mib"]
    print(f"{verdict}  crypt RSS growth: {rss:.1f} MiB (target < {RSS_LIMIT_MIB:.0f} MiB)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(_HERE), **result}, f, indent=2)
    return 1 if args.check and not result["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
