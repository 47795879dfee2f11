"""Parquet over S3: ``arrow_filesystem(store)`` vs pyarrow's S3FileSystem vs s3fs.

Usage: ``python benchmarks/bench_arrow.py [--rounds N] [--mib M] [--json PATH]`` with
``STOREROOM_TEST_S3_*`` set (``eval "$(scripts/services up s3)"``).

One fresh bucket on the test S3 server holds one Parquet file (16 MiB by
default, four numeric columns, several row groups). Each contender runs
``pq.read_table(path, filesystem=...)`` on it:

* ``storeroom``: ``storeroom.ext.arrow.arrow_filesystem(store)``;
* ``pyarrow``: ``pyarrow.fs.S3FileSystem`` (Arrow's own C++ client);
* ``s3fs``: ``PyFileSystem(FSSpecHandler(s3fs.S3FileSystem(...)))``.

Rounds are interleaved with the order rotating (``_harness.measure``); the
report gives medians and storeroom's ratio to each of the others, and PASS
when both are at most 1.2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import Variant, measure
from _s3env import s3_bucket, s3_missing

LIMIT = 1.2
MiB = 1024 * 1024


def _table(mib: int) -> Any:
    import numpy as np
    import pyarrow as pa

    rows = mib * MiB // 32  # four 8-byte columns
    rng = np.random.default_rng(7)
    return pa.table({f"c{i}": rng.random(rows) for i in range(4)})


def _contenders(options: dict[str, Any], path: str) -> dict[str, Any]:
    import pyarrow.fs as pafs
    import s3fs

    import storeroom
    from storeroom.ext.arrow import arrow_filesystem

    config = {
        "backends": {"s3": {"type": "s3", "options": dict(options)}},
        "stores": {"bench": {"backend": "s3"}},
    }
    store = storeroom.Registry(storeroom.RegistryConfig.from_dict(config)).get_store("bench")
    endpoint = options["endpoint_url"]
    scheme, _, host = endpoint.partition("://")
    native = pafs.S3FileSystem(
        access_key=options["key"],
        secret_key=options["secret"],
        endpoint_override=host,
        scheme=scheme,
        region=options["region_name"],
    )
    fsspec_fs = s3fs.S3FileSystem(
        key=options["key"],
        secret=options["secret"],
        endpoint_url=endpoint,
        client_kwargs={"region_name": options["region_name"]},
        use_listings_cache=False,
        skip_instance_cache=True,
    )
    bucket = options["bucket"]
    return {
        "storeroom": (arrow_filesystem(store), path),
        "pyarrow": (native, f"{bucket}/{path}"),
        "s3fs": (pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_fs)), f"{bucket}/{path}"),
    }


def run(rounds: int, mib: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    path = "bench/data.parquet"
    table = _table(mib)
    with s3_bucket() as options:
        contenders = _contenders(options, path)
        fs, where = contenders["pyarrow"]
        pq.write_table(
            table, where, filesystem=fs, row_group_size=len(table) // 4, use_dictionary=False
        )
        size = fs.get_file_info(where).size
        for fs, where in contenders.values():  # every contender reads the same table
            assert pq.read_table(where, filesystem=fs).equals(table)

        def variant(name: str) -> Variant:
            fs, where = contenders[name]
            return Variant(name, lambda _n: lambda: pq.read_table(where, filesystem=fs))

        stats = measure([variant(n) for n in contenders], rounds=rounds, number=1)
    medians = {name: s.median / 1000.0 for name, s in stats.items()}  # ms
    ratios = {other: medians["storeroom"] / medians[other] for other in ("pyarrow", "s3fs")}
    return {
        "file_bytes": size,
        "rounds": rounds,
        "median_ms": medians,
        "ratio_to": ratios,
        "limit": LIMIT,
        "pass": all(r <= LIMIT for r in ratios.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--mib", type=int, default=16)
    parser.add_argument("--json", help="write the result as JSON to this path")
    args = parser.parse_args(argv)
    missing = s3_missing()
    if missing:
        print(f'{missing[0]} is not set; run: eval "$(scripts/services up s3)"', file=sys.stderr)
        return 2
    result = run(args.rounds, args.mib)
    print(
        f"pq.read_table of {result['file_bytes'] / MiB:.1f} MiB over S3, "
        f"median of {result['rounds']} interleaved rounds"
    )
    for name, ms in result["median_ms"].items():
        print(f"  {name:10s} {ms:9.1f} ms")
    for other, ratio in result["ratio_to"].items():
        verdict = "PASS" if ratio <= LIMIT else "FAIL"
        print(f"  storeroom / {other:8s} {ratio:5.2f}x  (target <= {LIMIT}x)  {verdict}")
    print("PASS" if result["pass"] else "FAIL")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
