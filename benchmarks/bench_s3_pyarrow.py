"""S3 engines: streaming a large object with ``s3-pyarrow`` vs the plain ``s3`` backend.

Usage: ``python benchmarks/bench_s3_pyarrow.py [--quick] [--size-mib 256] [--rounds N]``
with ``STOREROOM_TEST_S3_*`` set (``eval "$(scripts/services up s3)"``).

One object of ``--size-mib`` MiB (256 by default, also with ``--quick``, which
only runs fewer rounds) is read with ``store.read(path)`` in 1 MiB reads, once
per engine per round, each read in a fresh process (interleaved: s3, pyarrow,
s3, ...). Reported: the median seconds and throughput per engine, their ratio
(pyarrow / s3 time; target <= 1.0x) and the largest growth of the resident set
while streaming (peak ``VmHWM`` after ``clear_refs`` minus ``VmRSS`` before, as
``_memprobe`` measures it; target < 32 MiB). The same object size is also
written as a non-seekable stream (``store.write(path, stream, overwrite=True)``):
RSS target < 32 MiB, its time ratio shown without a target. Prints PASS/FAIL
lines; ``--check`` exits 1 when a target is missed.
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
DIRECTIONS = ("read", "write")


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


def _probe(kind: str, bucket: str, direction: str, size_mib: int) -> None:
    """Child process: stream ``size_mib`` MiB through a ``kind`` store, print JSON."""
    store = _store(kind, bucket)
    # Warm-up: imports, clients, pools. ``exists`` builds the botocore client,
    # which the pyarrow engine also uses (listing uploads, the end-of-stream HEAD).
    store.exists("warm.bin")
    store.read_bytes("warm.bin")
    with store.read("warm.bin") as stream:
        stream.read(MiB)
    block = os.urandom(MiB)

    class Source:
        """A non-seekable stream of ``size_mib`` MiB, at most 1 MiB per read."""

        left = size_mib * MiB

        def read(self, n: int = -1) -> bytes:
            n = min(MiB if n < 0 else n, MiB, self.left)
            self.left -= n
            return block if n == MiB else block[:n]

    rss0 = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    moved = 0
    t0 = time.perf_counter()
    if direction == "read":
        with store.read("big.bin") as stream:
            while chunk := stream.read(MiB):
                moved += len(chunk)
    else:
        moved = store.write(f"written-{kind}.bin", Source(), overwrite=True).size  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    growth = max(0, (_status_kib("VmHWM") or 0) - rss0) / 1024
    print(
        json.dumps(
            {"kind": kind, "bytes": moved, "seconds": seconds, "rss": growth, "exact": exact}
        )
    )


def _run(kind: str, bucket: str, direction: str, size_mib: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--probe",
            kind,
            bucket,
            direction,
            str(size_mib),
        ],
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
    parser.add_argument("--probe", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe[0], args.probe[1], args.probe[2], int(args.probe[3]))
        return 0
    rounds = args.rounds or (3 if args.quick else 7)
    size_mib = args.size_mib
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
    first = _run("s3", bucket, "write", size_mib)  # also leaves written-s3.bin
    boto.copy_object(
        Bucket=bucket,
        Key="engines/big.bin",
        CopySource={"Bucket": bucket, "Key": "engines/written-s3.bin"},
    )
    assert first["bytes"] == size_mib * MiB
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {
        (d, k): [] for d in DIRECTIONS for k in ENGINES
    }
    try:
        for _ in range(rounds):
            for direction in DIRECTIONS:
                for kind in ENGINES:
                    runs[direction, kind].append(_run(kind, bucket, direction, size_mib))
    finally:
        names = ["big.bin", "warm.bin", *(f"written-{k}.bin" for k in ENGINES)]
        for name in names:
            boto.delete_object(Bucket=bucket, Key=f"engines/{name}")
        boto.delete_bucket(Bucket=bucket)
    summary: dict[str, Any] = {"size_mib": size_mib, "rounds": rounds}
    print(f"{size_mib} MiB streamed in 1 MiB pieces, {rounds} rounds, median, fresh process each")
    for direction in DIRECTIONS:
        block: dict[str, Any] = {}
        for kind in ENGINES:
            results = runs[direction, kind]
            assert all(r["bytes"] == size_mib * MiB for r in results), f"{kind}: short"
            median = statistics.median(r["seconds"] for r in results)
            block[kind] = {
                "median_seconds": median,
                "mib_per_s": size_mib / median,
                "max_rss_growth_mib": max(r["rss"] for r in results),
                "seconds": [r["seconds"] for r in results],
            }
            e = block[kind]
            print(
                f"  {direction:<5} {kind:<11} {median:7.3f} s  {e['mib_per_s']:7.1f} MiB/s  "
                f"RSS growth (max) {e['max_rss_growth_mib']:5.1f} MiB"
            )
        block["ratio"] = block["s3-pyarrow"]["median_seconds"] / block["s3"]["median_seconds"]
        summary[direction] = block
    read, write = summary["read"], summary["write"]
    print(f"  write s3-pyarrow/s3 time ratio {write['ratio']:.2f}x (no target)")
    checks = [
        (
            f"read s3-pyarrow/s3 time ratio {read['ratio']:.2f}x <= {RATIO_LIMIT:.1f}x",
            read["ratio"] <= RATIO_LIMIT,
        ),
    ]
    for direction, block in (("read", read), ("write", write)):
        growth = block["s3-pyarrow"]["max_rss_growth_mib"]
        checks.append(
            (
                f"{direction} s3-pyarrow RSS growth {growth:.1f} MiB < {RSS_LIMIT:.0f} MiB",
                growth < RSS_LIMIT,
            )
        )
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {label}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(summary, fh, indent=2)
    return 1 if args.check and not all(ok for _, ok in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
