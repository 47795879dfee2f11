"""``AsyncStore`` under ``asyncio.gather`` against S3 vs s3fs's own async API (issue 4).

One interleaved run against the server named by ``STOREROOM_TEST_S3_*``:
``concurrency`` (default 200) concurrent reads of distinct 4 KiB objects,

* ``storeroom AsyncStore``: ``asyncio.gather(*(astore.read_bytes(p) ...))``
  (the one sync core in worker threads, through the Registry's context layer);
* ``s3fs async``: ``asyncio.gather(*(fs._cat_file(...) ...))`` on an
  ``s3fs.S3FileSystem(asynchronous=True)`` in the same event loop.

Median over rounds of the whole gather; throughput = reads per second.
Target: AsyncStore ≥ s3fs async throughput (ratio ≥ 1.0).

    python benchmarks/bench_aio.py [--quick] [--json PATH] [--markdown PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _harness import load_average, machine_info  # noqa: E402
from _s3env import s3_bucket, s3_missing  # noqa: E402

from storeroom import Registry  # noqa: E402


async def _bench(opts: dict[str, Any], count: int, size: int, rounds: int) -> dict[str, Any]:
    import s3fs

    config = {
        "backends": {"s3": {"type": "s3", "options": opts}},
        "stores": {"data": {"backend": "s3", "root_path": "aio"}},
    }
    payload = os.urandom(size)
    with Registry(config) as registry:
        store = registry.get_store("data")
        names = [f"f{i:04d}.bin" for i in range(count)]
        for name in names:
            store.write(name, payload, overwrite=True)
        astore = registry.get_async_store("data")
        fs = s3fs.S3FileSystem(
            asynchronous=True,
            key=opts["key"],
            secret=opts["secret"],
            endpoint_url=opts["endpoint_url"],
            client_kwargs={"region_name": opts["region_name"]},
            skip_instance_cache=True,
        )
        await fs.set_session()
        bucket = opts["bucket"]

        async def storeroom_round() -> list[bytes]:
            return await asyncio.gather(*(astore.read_bytes(n) for n in names))

        async def s3fs_round() -> list[bytes]:
            return await asyncio.gather(*(fs._cat_file(f"{bucket}/aio/{n}") for n in names))

        contenders = {"storeroom AsyncStore": storeroom_round, "s3fs async": s3fs_round}
        for fn in contenders.values():  # warm up: connections, thread pool
            got = await fn()
            assert all(g == payload for g in got)
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        for r in range(rounds):
            order = list(contenders.items())
            if r % 2:
                order.reverse()
            for name, fn in order:
                t0 = time.perf_counter()
                await fn()
                samples[name].append(time.perf_counter() - t0)
        await fs.s3.close()
    rows = {
        name: {
            "median_s": statistics.median(s),
            "reads_per_s": count / statistics.median(s),
            "samples": s,
        }
        for name, s in samples.items()
    }
    ratio = rows["storeroom AsyncStore"]["reads_per_s"] / rows["s3fs async"]["reads_per_s"]
    return {"rows": rows, "ratio": ratio, "ok": ratio >= 1.0, "count": count, "size": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    missing = s3_missing()
    if missing:
        print(f"set {', '.join(missing)} (scripts/services up s3); skipped")
        return 0
    rounds = 3 if args.quick else 9
    with s3_bucket() as opts:
        result = asyncio.run(_bench(opts, args.concurrency, args.size, rounds))
    print(
        f"{args.concurrency} concurrent reads of {args.size} B, {rounds} rounds, "
        f"load {load_average()}"
    )
    for name, r in result["rows"].items():
        print(f"  {name:<22} {r['median_s'] * 1000:8.1f} ms  {r['reads_per_s']:8.0f} reads/s")
    status = "PASS" if result["ok"] else "FAIL"
    print(f"{status}  AsyncStore / s3fs async throughput: {result['ratio']:.2f}x (target ≥ 1.0x)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine_info(_HERE), **result}, f, indent=2)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("| contender | median ms | reads/s |\n|---|--:|--:|\n")
            for name, r in result["rows"].items():
                f.write(f"| {name} | {r['median_s'] * 1000:.1f} | {r['reads_per_s']:.0f} |\n")
    return 1 if args.check and not result["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
