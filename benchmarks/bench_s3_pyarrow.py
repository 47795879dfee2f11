"""S3 engines: streaming a large object with ``s3-pyarrow`` vs the plain ``s3`` backend.

Usage: ``python benchmarks/bench_s3_pyarrow.py [--quick] [--size-mib 256] [--rounds N]``
with ``STOREROOM_TEST_S3_*`` set (``eval "$(scripts/services up s3)"``).

One object of ``--size-mib`` MiB (256 by default, also with ``--quick``, which
only runs fewer rounds) is read with ``store.read(path)`` in 1 MiB reads, once
per engine per round, each read in a fresh process (interleaved: s3, pyarrow,
s3, ...). Reported: the median seconds and throughput per engine, their ratio
(pyarrow / s3 time; target <= 1.0x) and the largest growth of the resident set
while streaming (peak ``VmHWM`` after ``clear_refs`` minus ``VmRSS`` before, as
``_memprobe`` measures it; target < 32 MiB). Prints PASS/FAIL lines; ``--check``
exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _memprobe import _reset_peak, _status_kib

MiB = 1024 * 1024
RATIO_LIMIT = 1.0
RSS_LIMIT = 32.0
ENGINES = ("s3", "s3-pyarrow")


def _env() -> dict[str, str]:
    names = ("ENDPOINT", "KEY", "SECRET", "REGION")
    env = {n: os.environ.get(f"STOREROOM_TEST_S3_{n}", "") for n in names}
    missing = [n for n, v in env.items() if not v]
    if missing:
        raise SystemExit(
            f'STOREROOM_TEST_S3_{missing[0]} is not set; run: eval "$(scripts/services up s3)"'
        )
    return env


def _store(kind: str, bucket: str) -> Any:
    import storeroom

    env = _env()
    options = {
        "bucket": bucket,
        "endpoint_url": env["ENDPOINT"],
        "key": env["KEY"],
        "secret": env["SECRET"],
        "region_name": env["REGION"],
    }
    config = {
        "backends": {"b": {"type": kind, "options": options}},
        "stores": {"bench": {"backend": "b", "root_path": "engines"}},
    }
    return storeroom.Registry(storeroom.RegistryConfig.from_dict(config)).get_store("bench")


def _probe(kind: str, bucket: str) -> None:
    """Child process: stream ``big.bin`` through a ``kind`` store, print JSON."""
    store = _store(kind, bucket)
    store.read_bytes("warm.bin")  # imports, client, pools
    with store.read("warm.bin") as stream:
        stream.read(MiB)
    rss0 = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    moved = 0
    t0 = time.perf_counter()
    with store.read("big.bin") as stream:
        while chunk := stream.read(MiB):
            moved += len(chunk)
    seconds = time.perf_counter() - t0
    growth = max(0, (_status_kib("VmHWM") or 0) - rss0) / 1024
    print(
        json.dumps(
            {"kind": kind, "bytes": moved, "seconds": seconds, "rss": growth, "exact": exact}
        )
    )


def _run(kind: str, bucket: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--probe", kind, bucket],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--json")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--probe", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe[0], args.probe[1])
        return 0
    rounds = args.rounds or (3 if args.quick else 7)
    bucket = f"storeroom-bench-{uuid.uuid4().hex[:8]}"
    env = _env()
    import boto3

    boto = boto3.client(
        "s3",
        endpoint_url=env["ENDPOINT"],
        aws_access_key_id=env["KEY"],
        aws_secret_access_key=env["SECRET"],
        region_name=env["REGION"],
    )
    boto.create_bucket(Bucket=bucket)
    setup = _store("s3", bucket)
    setup.write("warm.bin", os.urandom(MiB), overwrite=True)
    block = os.urandom(MiB)

    class Source:
        """``size_mib`` MiB of random-looking bytes, 1 MiB per read."""

        left = args.size_mib * MiB

        def read(self, n: int = -1) -> bytes:
            n = min(MiB if n < 0 else n, MiB, self.left)
            self.left -= n
            return block if n == MiB else block[:n]

    setup.write("big.bin", Source(), overwrite=True)  # type: ignore[arg-type]
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in ENGINES}
    try:
        for _ in range(rounds):
            for kind in ENGINES:
                runs[kind].append(_run(kind, bucket))
    finally:
        for name in ("big.bin", "warm.bin"):
            boto.delete_object(Bucket=bucket, Key=f"engines/{name}")
        boto.delete_bucket(Bucket=bucket)
    size = args.size_mib * MiB
    summary: dict[str, Any] = {"size_mib": args.size_mib, "rounds": rounds, "engines": {}}
    for kind, results in runs.items():
        assert all(r["bytes"] == size for r in results), f"{kind}: short read"
        median = statistics.median(r["seconds"] for r in results)
        summary["engines"][kind] = {
            "median_seconds": median,
            "mib_per_s": args.size_mib / median,
            "max_rss_growth_mib": max(r["rss"] for r in results),
            "seconds": [r["seconds"] for r in results],
        }
    plain, arrow = summary["engines"]["s3"], summary["engines"]["s3-pyarrow"]
    ratio = arrow["median_seconds"] / plain["median_seconds"]
    summary["ratio"] = ratio
    print(f"read {args.size_mib} MiB in 1 MiB reads, {rounds} rounds, median, fresh process each")
    for kind in ENGINES:
        e = summary["engines"][kind]
        print(
            f"  {kind:<11} {e['median_seconds']:7.3f} s  {e['mib_per_s']:7.1f} MiB/s  "
            f"RSS growth (max) {e['max_rss_growth_mib']:5.1f} MiB"
        )
    checks = [
        (f"s3-pyarrow/s3 time ratio {ratio:.2f}x <= {RATIO_LIMIT:.1f}x", ratio <= RATIO_LIMIT),
        (
            f"s3-pyarrow RSS growth {arrow['max_rss_growth_mib']:.1f} MiB < {RSS_LIMIT:.0f} MiB",
            arrow["max_rss_growth_mib"] < RSS_LIMIT,
        ),
    ]
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {label}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
    return 1 if args.check and not all(ok for _, ok in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
