"""Parallel helpers vs the sequential loop: ``batch_delete`` of 1,000 files and
``transfer`` of 500 small files between two stores, side by side.

    python benchmarks/bench_ext.py [--quick] [--json PATH] [--markdown PATH] [--s3]
                                   [--backends local,memory] [--workers N]

Each round times the sequential loop and the helper on freshly written
files, alternating which goes first; the figure reported is the median
over the rounds, with the speed-up (sequential / helper). ``--s3`` adds an
``s3`` row when the ``s3`` backend type is available and the
``STOREROOM_TEST_S3_*`` variables point at a server (a bucket is created
for the run). Target (issue 4): ≥ 4x on S3; on local disk and memory the
figure shows the overhead or gain of the thread pool on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from _harness import load_average, machine_info  # noqa: E402

from storeroom import Registry, Store  # noqa: E402
from storeroom.backend import Backend, Forwarding  # noqa: E402
from storeroom.backends import LocalBackend, MemoryBackend  # noqa: E402
from storeroom.ext.batch import batch_delete  # noqa: E402
from storeroom.ext.transfer import transfer  # noqa: E402
from storeroom.registry import known_backend_types  # noqa: E402


class Latency(Forwarding):
    """Adds a fixed delay to every primitive: a stand-in for a remote round trip."""

    def __init__(self, inner: Backend, seconds: float) -> None:
        super().__init__(inner)
        self.seconds = seconds

    def stat(self, key: str) -> Any:
        time.sleep(self.seconds)
        return super().stat(key)

    def exists(self, key: str) -> bool:
        time.sleep(self.seconds)
        return super().exists(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> Any:
        time.sleep(self.seconds)
        return super().open_read(key, start, end)

    def write(self, key: str, src: Any, **kw: Any) -> Any:
        time.sleep(self.seconds)
        return super().write(key, src, **kw)

    def delete(self, key: str) -> None:
        time.sleep(self.seconds)
        super().delete(key)


S3_VARS = ("STOREROOM_TEST_S3_ENDPOINT", "STOREROOM_TEST_S3_KEY", "STOREROOM_TEST_S3_SECRET")


@contextmanager
def local_pair() -> Iterator[tuple[Store, Store]]:
    work = tempfile.mkdtemp(prefix="storeroom-bench-ext-")
    try:
        yield (
            Store(LocalBackend(root=os.path.join(work, "a"))),
            Store(LocalBackend(root=os.path.join(work, "b"))),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def memory_pair() -> Iterator[tuple[Store, Store]]:
    yield Store(MemoryBackend()), Store(MemoryBackend())


@contextmanager
def latency_pair(ms: float) -> Iterator[tuple[Store, Store]]:
    with local_pair() as (a, b):
        yield Store(Latency(a.backend, ms / 1000)), Store(Latency(b.backend, ms / 1000))


@contextmanager
def s3_pair() -> Iterator[tuple[Store, Store]]:
    import boto3

    env = os.environ
    bucket = f"storeroom-bench-{uuid.uuid4().hex[:10]}"
    region = env.get("STOREROOM_TEST_S3_REGION", "us-east-1")
    client = boto3.client(
        "s3",
        endpoint_url=env["STOREROOM_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["STOREROOM_TEST_S3_KEY"],
        aws_secret_access_key=env["STOREROOM_TEST_S3_SECRET"],
        region_name=region,
    )
    client.create_bucket(Bucket=bucket)
    options = {
        "bucket": bucket,
        "endpoint_url": env["STOREROOM_TEST_S3_ENDPOINT"],
        "key": env["STOREROOM_TEST_S3_KEY"],
        "secret": env["STOREROOM_TEST_S3_SECRET"],
        "region_name": region,
    }
    config = {
        "backends": {
            "a": {"type": "s3", "options": options},
            "b": {"type": "s3", "options": options},
        },
        "stores": {
            "a": {"backend": "a", "root_path": "a"},
            "b": {"backend": "b", "root_path": "b"},
        },
    }
    with Registry(config) as registry:
        yield registry.get_store("a"), registry.get_store("b")


def _fill(store: Store, prefix: str, count: int, size: int) -> list[str]:
    payload = os.urandom(size)
    paths = [f"{prefix}/{i // 100:02d}/f{i:04d}.bin" for i in range(count)]
    for p in paths:
        store.write(p, payload, overwrite=True)
    return paths


def _clear(store: Store, prefix: str) -> None:
    if store.exists(prefix):
        batch_delete(store, [f.path for f in store.list_files(prefix, recursive=True)])
        if store.exists(prefix):
            store.delete_folder(prefix, recursive=True, missing_ok=True)


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_delete(a: Store, count: int, rounds: int, workers: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"sequential": [], "helper": []}
    for r in range(rounds):
        order = ("sequential", "helper") if r % 2 == 0 else ("helper", "sequential")
        for name in order:
            paths = _fill(a, f"del-{name}", count, 64)

            def seq(paths: list[str] = paths) -> None:
                for p in paths:
                    a.delete(p)

            def par(paths: list[str] = paths) -> None:
                batch_delete(a, paths, max_workers=workers).raise_on_error()

            out[name].append(_time(seq if name == "sequential" else par))
            _clear(a, f"del-{name}")
    return out


def bench_transfer(
    a: Store, b: Store, count: int, size: int, rounds: int, workers: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"sequential": [], "helper": []}
    _fill(a, "src", count, size)
    for r in range(rounds):
        order = ("sequential", "helper") if r % 2 == 0 else ("helper", "sequential")
        for name in order:
            dest = f"dst-{name}"

            def seq(dest: str = dest) -> None:
                for info in a.list_files("src", recursive=True):
                    with a.read(info.path) as stream:
                        b.write(f"{dest}/{info.path[4:]}", stream)

            def par(dest: str = dest) -> None:
                transfer(a, "src", b, dest, max_workers=workers).raise_on_error()

            out[name].append(_time(seq if name == "sequential" else par))
            _clear(b, dest)
    return out


def summarise(samples: dict[str, list[float]]) -> dict[str, Any]:
    seq = statistics.median(samples["sequential"])
    par = statistics.median(samples["helper"])
    return {
        "sequential_s": seq,
        "helper_s": par,
        "speedup": seq / par if par else None,
        "rounds": len(samples["helper"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--s3", action="store_true", help="also run against STOREROOM_TEST_S3_*")
    parser.add_argument(
        "--backends",
        default="local,memory,local+latency",
        help="local, memory, local+latency (local with --latency-ms added per primitive)",
    )
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=16, help="max_workers of the helpers")
    parser.add_argument("--delete-count", type=int, default=1000)
    parser.add_argument("--transfer-count", type=int, default=500)
    parser.add_argument("--file-size", type=int, default=4096)
    args = parser.parse_args(argv)
    rounds = args.rounds or (3 if args.quick else 9)

    pairs: dict[str, Callable[[], Any]] = {
        "local": local_pair,
        "memory": memory_pair,
        "local+latency": lambda: latency_pair(args.latency_ms),
    }
    chosen = [b for b in args.backends.split(",") if b]
    if args.s3:
        missing = [v for v in S3_VARS if not os.environ.get(v)]
        if "s3" not in known_backend_types():
            print("--s3: the s3 backend type is not available in this build; skipped")
        elif missing:
            print(f"--s3: set {', '.join(missing)} (scripts/services up s3); skipped")
        else:
            pairs["s3"] = s3_pair
            chosen.append("s3")

    results: list[dict[str, Any]] = []
    for backend in chosen:
        with pairs[backend]() as (a, b):
            d = summarise(bench_delete(a, args.delete_count, rounds, args.workers))
            results.append({"backend": backend, "case": f"batch_delete {args.delete_count}", **d})
            t = summarise(
                bench_transfer(a, b, args.transfer_count, args.file_size, rounds, args.workers)
            )
            results.append(
                {
                    "backend": backend,
                    "case": f"transfer {args.transfer_count} x {args.file_size} B",
                    **t,
                }
            )

    header = ("backend", "case", "sequential", "helper", "speed-up")
    rows = [
        (
            r["backend"],
            r["case"],
            f"{r['sequential_s'] * 1000:.1f} ms",
            f"{r['helper_s'] * 1000:.1f} ms",
            f"{r['speedup']:.2f}x",
        )
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(f"workers={args.workers} rounds={rounds} load={load_average()}")
    if args.json:
        info = machine_info(tempfile.gettempdir())
        with open(args.json, "w") as f:
            json.dump({"machine": info, "workers": args.workers, "results": results}, f, indent=2)
    if args.markdown:
        md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        md += ["| " + " | ".join(row) + " |" for row in rows]
        with open(args.markdown, "w") as f:
            f.write("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
