"""Parallel helpers vs the sequential loop: ``batch_delete`` of 1,000 files and
``transfer`` of 500 small files between two stores, side by side.

    python benchmarks/bench_ext.py [--quick] [--json PATH] [--markdown PATH]
                                   [--backends local,memory] [--workers N]
                                   [--remote s3,s3-same,sftp,azure,postgres | all] [--s3]

Each round times the sequential loop and the helper on freshly written
files, alternating which goes first; the figure reported is the median
over the rounds, with the speed-up (sequential / helper), and the CPU
seconds this process and the servers used (so a run bound by a
single-threaded server or by the client's CPU shows as such). ``--remote``
adds rows for the test servers of ``scripts/services`` (see
``_ext_pairs.py``); ``--s3`` is ``--remote s3,s3-same``. With ``s3`` an
``s3+latency`` row adds ``--remote-latency-ms`` of waiting to every call on
the same server: on this machine client and server share two cores, so the
plain ``s3`` row is bound by CPU, not by waiting. Target (issue 4):
≥ 4x; on local disk and memory the figure shows the overhead or gain of the
thread pool on this machine.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from _ext_pairs import REMOTE, missing, remote_pair  # noqa: E402
from _harness import load_average, machine_info  # noqa: E402

from storeroom import Store  # noqa: E402
from storeroom.backend import Backend, Forwarding  # noqa: E402
from storeroom.backends import LocalBackend, MemoryBackend  # noqa: E402
from storeroom.ext.batch import batch_delete  # noqa: E402
from storeroom.ext.transfer import transfer  # noqa: E402


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

    def delete_many(self, keys: Any) -> Any:
        time.sleep(self.seconds)  # one bulk request (S3: up to 1,000 keys)
        return super().delete_many(keys)

    def list(self, prefix: str, **kw: Any) -> Any:
        time.sleep(self.seconds)
        return super().list(prefix, **kw)


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
def remote_latency_pair(name: str, ms: float) -> Iterator[tuple[Store, Store]]:
    """A test-server pair with ``ms`` of waiting added to every primitive call."""
    with remote_pair(name) as (a, b):
        yield (
            Store(Latency(a.backend, ms / 1000), a.root_path, owns_backend=False),
            Store(Latency(b.backend, ms / 1000), b.root_path, owns_backend=False),
        )


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


Sample = tuple[float, float, float]  # wall seconds, this process's CPU seconds, busy cores


def _busy_jiffies() -> int:
    """CPU time the whole machine spent not idle, in clock ticks (Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return 0
    return sum(fields) - fields[3] - fields[4]  # minus idle and iowait


def _time(fn: Callable[[], object]) -> Sample:
    tick = os.sysconf("SC_CLK_TCK")
    busy, cpu, start = _busy_jiffies(), time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    return wall, time.process_time() - cpu, (_busy_jiffies() - busy) / tick / wall


def bench_delete(a: Store, count: int, rounds: int, workers: int) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {"sequential": [], "helper": []}
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
) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {"sequential": [], "helper": []}
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


def summarise(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    def med(name: str, i: int) -> float:
        return statistics.median(s[i] for s in samples[name])

    seq, par = med("sequential", 0), med("helper", 0)
    return {
        "sequential_s": seq,
        "helper_s": par,
        "speedup": seq / par if par else None,
        "sequential_cpu_s": med("sequential", 1),
        "helper_cpu_s": med("helper", 1),
        "sequential_busy_cores": med("sequential", 2),
        "helper_busy_cores": med("helper", 2),
        "rounds": len(samples["helper"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--s3", action="store_true", help="same as --remote s3,s3-same")
    parser.add_argument(
        "--remote",
        default="",
        help=f"test servers to add, comma-separated: {', '.join(REMOTE)} or all",
    )
    parser.add_argument(
        "--backends",
        default="local,memory,local+latency",
        help="local, memory, local+latency (local with --latency-ms added per primitive)",
    )
    parser.add_argument("--latency-ms", type=float, default=2.0)
    parser.add_argument(
        "--remote-latency-ms",
        type=float,
        default=10.0,
        help="with s3: also an s3+latency row, this much waiting added per call "
        "(AWS puts S3's median latency for small requests in the tens of ms); 0: no row",
    )
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
    remote = [r for r in args.remote.split(",") if r]
    if remote == ["all"]:
        remote = list(REMOTE)
    if args.s3:
        remote += [r for r in ("s3", "s3-same") if r not in remote]
    for name in remote:
        if name not in REMOTE:
            parser.error(f"--remote: unknown server {name!r}; choose from {', '.join(REMOTE)}")
        why = missing(name)
        if why:
            print(f"{name}: {why}; skipped")
            continue
        pairs[name] = lambda name=name: remote_pair(name)
        chosen.append(name)
        if name == "s3" and args.remote_latency_ms:
            pairs["s3+latency"] = lambda: remote_latency_pair("s3", args.remote_latency_ms)
            chosen.append("s3+latency")

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

    header = (
        "backend",
        "case",
        "sequential",
        "helper",
        "speed-up",
        "client CPU (seq / helper)",
        "busy cores (seq / helper)",
    )
    rows = [
        (
            r["backend"],
            r["case"],
            f"{r['sequential_s'] * 1000:.1f} ms",
            f"{r['helper_s'] * 1000:.1f} ms",
            f"{r['speedup']:.2f}x",
            f"{r['sequential_cpu_s'] * 1000:.0f} / {r['helper_cpu_s'] * 1000:.0f} ms",
            f"{r['sequential_busy_cores']:.2f} / {r['helper_busy_cores']:.2f}",
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
