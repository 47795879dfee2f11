"""fsspec benchmark: ``storeroom://`` vs s3fs (and pyarrow.fs) on the S3 test server.

Usage: ``python benchmarks/bench_fsspec.py [--quick] [--json PATH] [--check]``
with ``STOREROOM_TEST_S3_*`` set (``eval "$(scripts/services up s3)"``).

Cases, each timed side by side in interleaved rounds (``_harness.measure``,
medians): ``cat_file`` of a 4 KiB object, ``ls`` (with details) of a folder of
1,000 objects, and ``pandas.read_parquet`` of a 64 MiB Parquet file through
``storeroom://`` (``storage_options={"config": ...}``), ``s3://`` (s3fs) and
``pyarrow.fs.S3FileSystem``. Targets (spec FSSPEC-060): storeroom ≤ 1.1x s3fs
for ``cat_file`` and ``ls``; ≤ 1.2x of each for ``read_parquet``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import uuid
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from _harness import (  # noqa: E402
    Check,
    Variant,
    calibrate_number,
    load_average,
    loop_overhead_ns,
    machine_info,
    measure,
)
from _s3env import s3_bucket, s3_missing  # noqa: E402

KiB, MiB = 1024, 1024 * 1024


def _fixed(op: Callable[[], object]) -> Callable[[int], Callable[[], object]]:
    return lambda _number: op


class Fixture:
    """One bucket holding the test objects, and the three clients."""

    def __init__(self, options: dict[str, Any], list_count: int, parquet_mib: int) -> None:
        import boto3
        import pyarrow.fs as pafs
        import s3fs

        from storeroom import RegistryConfig
        from storeroom.ext.fsspec import StoreroomFileSystem

        self.bucket, self.root = options["bucket"], f"b-{uuid.uuid4().hex[:6]}"
        self.config = RegistryConfig.from_dict(
            {
                "backends": {"s3": {"type": "s3", "options": options}},
                "stores": {"bench": {"backend": "s3", "root_path": self.root}},
            }
        )
        self.sr = StoreroomFileSystem(config=self.config)
        endpoint = options["endpoint_url"]
        self.s3fs = s3fs.S3FileSystem(
            key=options["key"],
            secret=options["secret"],
            endpoint_url=endpoint,
            client_kwargs={"region_name": options["region_name"]},
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        self.s3fs_options = {
            "key": options["key"],
            "secret": options["secret"],
            "endpoint_url": endpoint,
            "client_kwargs": {"region_name": options["region_name"]},
        }
        scheme, _, host = endpoint.partition("://")
        self.pa = pafs.S3FileSystem(
            access_key=options["key"],
            secret_key=options["secret"],
            endpoint_override=host,
            scheme=scheme,
            region=options["region_name"],
        )
        self.boto = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=options["key"],
            aws_secret_access_key=options["secret"],
            region_name=options["region_name"],
        )
        self.small = os.urandom(4 * KiB)
        self.put("small.bin", self.small)
        for i in range(list_count):
            self.put(f"many/f{i:05d}.bin", b"y" * (i % 100))
        self.parquet = _parquet_bytes(parquet_mib)
        self.put("big.parquet", self.parquet)

    def put(self, rel: str, data: bytes) -> None:
        self.boto.put_object(Bucket=self.bucket, Key=f"{self.root}/{rel}", Body=data)

    def s3(self, rel: str) -> str:
        return f"{self.bucket}/{self.root}/{rel}"


def _parquet_bytes(mib: int) -> bytes:
    """A Parquet file of about ``mib`` MiB: random doubles do not compress."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = mib * MiB // 36  # 4 doubles a row, plus page overhead
    rng = np.random.default_rng(7)
    table = pa.table({f"c{i}": rng.random(rows) for i in range(4)})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="none", row_group_size=rows // 8 or 1)
    return sink.getvalue()


def cases(f: Fixture, list_count: int) -> list[tuple[str, str, list[Variant], float]]:
    import pandas as pd

    sr_opts = {"config": f.config}
    rows = len(pd.read_parquet(io.BytesIO(f.parquet)))
    assert f.sr.cat_file("bench/small.bin") == f.small == f.s3fs.cat_file(f.s3("small.bin"))
    assert len(f.sr.ls("bench/many")) == list_count == len(f.s3fs.ls(f.s3("many")))

    def parquet_via(fn: Callable[[], Any]) -> Callable[[], object]:
        def op() -> object:
            frame = fn()
            assert len(frame) == rows
            return frame

        return op

    return [
        (
            "cat_file",
            "cat_file 4 KiB",
            [
                Variant("storeroom", _fixed(lambda: f.sr.cat_file("bench/small.bin"))),
                Variant("s3fs", _fixed(lambda: f.s3fs.cat_file(f.s3("small.bin")))),
            ],
            1.1,
        ),
        (
            "ls",
            f"ls {list_count:,} objects",
            [
                Variant("storeroom", _fixed(lambda: f.sr.ls("bench/many", detail=True))),
                Variant("s3fs", _fixed(lambda: f.s3fs.ls(f.s3("many"), detail=True))),
            ],
            1.1,
        ),
        (
            "read_parquet",
            f"pandas.read_parquet {len(f.parquet) / MiB:.0f} MiB",
            [
                Variant(
                    "storeroom",
                    _fixed(
                        parquet_via(
                            lambda: pd.read_parquet(
                                "storeroom://bench/big.parquet", storage_options=sr_opts
                            )
                        )
                    ),
                ),
                Variant(
                    "s3fs",
                    _fixed(
                        parquet_via(
                            lambda: pd.read_parquet(
                                "s3://" + f.s3("big.parquet"), storage_options=f.s3fs_options
                            )
                        )
                    ),
                ),
                Variant(
                    "pyarrow",
                    _fixed(
                        parquet_via(lambda: pd.read_parquet(f.s3("big.parquet"), filesystem=f.pa))
                    ),
                ),
            ],
            1.2,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a smaller listing")
    parser.add_argument("--json", help="write the results as JSON here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--only", nargs="*", help="run only these case ids")
    args = parser.parse_args(argv)
    if s3_missing():
        raise SystemExit(f'{s3_missing()[0]} is not set; run: eval "$(scripts/services up s3)"')
    rounds = args.rounds or (5 if args.quick else 15)
    list_count = 1000
    machine = machine_info(os.getcwd())
    overhead = loop_overhead_ns()
    checks: list[Check] = []
    results: list[dict[str, Any]] = []
    with s3_bucket() as options:
        fixture = Fixture(options, list_count, 64)
        print(
            f"fsspec benchmark — {machine['date']} — {machine['cpu_count']} CPUs — "
            f"{'quick' if args.quick else 'full'} mode, {rounds} rounds — "
            f"load {load_average()} at start"
        )
        for case_id, label, variants, limit in cases(fixture, list_count):
            if args.only and case_id not in args.only:
                continue
            number = calibrate_number(
                variants, 200_000_000 if not args.quick else 80_000_000, cap=20
            )
            stats = measure(
                variants, rounds=rounds, number=number, overhead_ns=overhead, warmup_rounds=1
            )
            medians = {name: s.median / 1000 for name, s in stats.items()}  # ms/op
            line = "  ".join(f"{name} {ms:8.2f} ms" for name, ms in medians.items())
            print(f"{label:<32} {line}")
            for other in (n for n in medians if n != "storeroom"):
                ratio = medians["storeroom"] / medians[other]
                checks.append(
                    Check(f"{label}: storeroom/{other}", ratio, limit, "x", ratio <= limit)
                )
            results.append({"id": case_id, "label": label, "median_ms": medians, "limit": limit})
    print()
    for c in checks:
        print(f"{c.status}  {c.name} = {c.value:.2f}x (target ≤ {c.limit:g}x)")
    print(f"load {load_average()} at end")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "machine": machine,
                    "cases": results,
                    "checks": [{"name": c.name, "value": c.value, "ok": c.ok} for c in checks],
                },
                fh,
                indent=2,
            )
    return 1 if args.check and not all(c.ok for c in checks) else 0


if __name__ == "__main__":
    raise SystemExit(main())
