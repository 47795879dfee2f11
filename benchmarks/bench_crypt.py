"""The crypt layer reading a large file vs a plain read, rclone and the cipher alone (CRYPT-060).

A file of ``--mib`` MiB (default 256) is written twice on each backend
(``local``, and ``s3`` on the moto test server named by
``STOREROOM_TEST_S3_*``): plainly and through a ``crypt`` layer. Each read
runs in a fresh process (``--probe``) that streams the file in 1 MiB reads
and reports wall time, CPU time and RSS growth (peak resident size during
the read, reset through ``/proc/self/clear_refs``, minus the size before).
On local, ``rclone cat`` of the same encrypted file (a crypt remote in a
temporary rclone.conf) is a contender; its figure is the peak RSS of the
rclone process, not a growth. Rounds rotate the order; medians are compared.

The ceiling row times libsodium's XSalsa20-Poly1305 open alone over 64 KiB
chunks (PyNaCl's cffi call, which releases the GIL) on one and two threads,
over one cached chunk and over distinct chunks streamed through memory:
no reader of this format can beat it on this machine.

Targets per backend: crypt throughput at least half the plain throughput,
crypt RSS growth < 32 MiB.

    python benchmarks/bench_crypt.py [--backend local|s3|all] [--quick] [--mib N] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _harness import load_average, machine_info  # noqa: E402
from _s3env import s3_bucket, s3_missing  # noqa: E402

MiB = 1024 * 1024
PASSWORD = "benchmark password"
RSS_LIMIT_MIB = 32.0
RATIO_TARGET = 0.5
RCLONE = shutil.which("rclone") or "/usr/bin/rclone"


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


def _store(where: dict[str, Any], crypt: bool) -> Any:
    """A Store on the benchmark's backend (``where``: backend type and options)."""
    from storeroom import Registry, RegistryConfig

    table: dict[str, Any] = {"type": where["type"], "options": where["options"]}
    if crypt:
        table["layers"] = [{"type": "crypt", "password": PASSWORD}]
    config = {"backends": {"b": table}, "stores": {"s": {"backend": "b"}}}
    return Registry(RegistryConfig.from_dict(config)).get_store("s")


# -- probes (each in a fresh process) ----------------------------------------------


def probe_read(kind: str, where: dict[str, Any]) -> dict[str, Any]:
    """One read of ``data.bin`` in this process: seconds, CPU seconds, bytes and RSS growth."""
    store = _store(where, kind == "crypt")
    with store.read("warm.bin") as warm:  # imports, connections, thread pools
        while warm.read(MiB):
            pass
    before = _status_kib("VmRSS")
    _reset_peak()
    total = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with store.read("data.bin") as stream:
        while block := stream.read(MiB):
            total += len(block)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    growth = max(0, _status_kib("VmHWM") - before) / 1024
    return {"seconds": seconds, "cpu_s": cpu, "bytes": total, "rss_mib": growth}


def probe_rclone(conf: str, mib: int) -> dict[str, Any]:
    """``rclone cat`` of the encrypted file to /dev/null: seconds and the process's peak RSS."""
    t0 = time.perf_counter()
    subprocess.run(
        [RCLONE, "--config", conf, "cat", "bench-crypt:data.bin"],
        stdout=subprocess.DEVNULL,
        check=True,
    )
    seconds = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "bytes": mib * MiB,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def probe_cipher(mib: int) -> dict[str, Any]:
    """libsodium's secretbox open alone over 64 KiB chunks, on one and on two threads (MiB/s).

    Once over one chunk that stays in the CPU cache, once over ``mib`` MiB of
    distinct chunks (what a real read streams through memory).
    """
    from nacl import _sodium  # the cffi module the layer calls
    from nacl.bindings import crypto_secretbox  # importing it runs sodium_init (SIMD code)

    ffi, lib = _sodium.ffi, _sodium.lib
    key, nonce = os.urandom(32), os.urandom(24)
    sealed = crypto_secretbox(os.urandom(64 * 1024), nonce, key)
    count = mib * 16
    stored = bytearray(count * len(sealed))
    plain = os.urandom(64 * 1024)
    for i in range(count):  # distinct chunks: each under its own nonce, as in a file
        lib.crypto_secretbox_easy(
            ffi.from_buffer(stored) + i * len(sealed), plain, len(plain), _nonce(nonce, i), key
        )
    nonces = [_nonce(nonce, i) for i in range(count)]

    def run(n: int) -> None:
        out = bytearray(64 * 1024)
        ptr = ffi.from_buffer(out)
        opener = lib.crypto_secretbox_open_easy
        for _ in range(n):
            if opener(ptr, sealed, len(sealed), nonce, key) != 0:
                raise RuntimeError("the secretbox did not open")

    def run_distinct(lo: int, hi: int) -> None:
        out = bytearray(16 * 64 * 1024)  # one batch's scratch, reused as the layer does
        optr, iptr = ffi.from_buffer(out), ffi.from_buffer(stored)
        opener, size = lib.crypto_secretbox_open_easy, len(sealed)
        for i in range(lo, hi):
            if opener(optr + (i % 16) * 65536, iptr + i * size, size, nonces[i], key) != 0:
                raise RuntimeError("the secretbox did not open")

    def on_two(target: Any, *halves: tuple[int, ...]) -> float:
        threads = [threading.Thread(target=target, args=half) for half in halves]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - t0

    run(64)
    t0, c0 = time.perf_counter(), time.process_time()
    run(count)
    one, one_cpu = time.perf_counter() - t0, time.process_time() - c0
    two = on_two(run, (count // 2,), (count // 2,))
    t0, c0 = time.perf_counter(), time.process_time()
    run_distinct(0, count)
    one_d, one_d_cpu = time.perf_counter() - t0, time.process_time() - c0
    two_d = on_two(run_distinct, (0, count // 2), (count // 2, count))
    return {
        "one_thread_mib_s": mib / one,
        "one_core_cpu_mib_s": mib / one_cpu,
        "two_threads_mib_s": mib / two,
        "distinct_one_thread_mib_s": mib / one_d,
        "distinct_one_core_cpu_mib_s": mib / one_d_cpu,
        "distinct_two_threads_mib_s": mib / two_d,
    }


def _nonce(nonce: bytes, index: int) -> bytes:
    value = (int.from_bytes(nonce, "little") + index) % (1 << 192)
    return value.to_bytes(24, "little")


def _probe(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--probe", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- setup ----------------------------------------------------------------------------


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


def _prepare(where: dict[str, Any], mib: int) -> None:
    block = os.urandom(MiB)
    for crypt in (False, True):
        store = _store(where, crypt)
        store.write("warm.bin", block * 2, overwrite=True)
        store.write("data.bin", _Repeat(block, mib), overwrite=True)  # streamed: flat memory


@contextmanager
def _backend(name: str) -> Iterator[dict[str, Any]]:
    if name == "s3":
        with s3_bucket() as options:
            yield {"type": "s3", "options": options}
        return
    with tempfile.TemporaryDirectory(prefix="bench-crypt-") as folder:
        yield {"type": "local", "options": {"root": folder}}


def _rclone_conf(folder: str, tmp: str) -> str | None:
    """A temporary rclone.conf with ``bench-crypt:`` over ``folder``; None without rclone."""
    if not os.path.exists(RCLONE):
        return None
    obscured = subprocess.run(
        [RCLONE, "obscure", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    conf = os.path.join(tmp, "rclone.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"[bench-crypt]\ntype = crypt\nremote = {folder}\npassword = {obscured}\n")
    return conf


# -- the run --------------------------------------------------------------------------


def _row(runs: list[dict[str, Any]], mib: int) -> dict[str, Any]:
    median = statistics.median(s["seconds"] for s in runs)
    cpu = statistics.median(s["cpu_s"] for s in runs)
    return {
        "median_s": median,
        "mib_per_s": mib / median,
        "mib_per_cpu_s": mib / cpu if cpu else None,
        "rss_mib": max(s["rss_mib"] for s in runs),
        "samples_s": [round(s["seconds"], 4) for s in runs],
    }


def bench_backend(name: str, mib: int, rounds: int) -> dict[str, Any]:
    """Rows plain, crypt (and rclone on local) for one backend, with the verdicts."""
    with _backend(name) as where, tempfile.TemporaryDirectory(prefix="bench-rclone-") as tmp:
        _prepare(where, mib)
        arg = json.dumps(where)
        conf = _rclone_conf(where["options"]["root"], tmp) if name == "local" else None
        kinds = ["plain", "crypt"] + (["rclone"] if conf else [])
        samples: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        for r in range(rounds):
            for kind in kinds[r % len(kinds) :] + kinds[: r % len(kinds)]:
                if kind == "rclone":
                    samples[kind].append(_probe("rclone", conf or "", str(mib)))
                else:
                    samples[kind].append(_probe("read", kind, arg))
    for kind, runs in samples.items():
        assert all(s["bytes"] == mib * MiB for s in runs), kind
    rows = {kind: _row(runs, mib) for kind, runs in samples.items()}
    ratio = rows["crypt"]["mib_per_s"] / rows["plain"]["mib_per_s"]
    rss = rows["crypt"]["rss_mib"]
    return {
        "rows": rows,
        "ratio": ratio,
        "ratio_ok": ratio >= RATIO_TARGET,
        "rss_ok": rss < RSS_LIMIT_MIB,
        "ok": ratio >= RATIO_TARGET and rss < RSS_LIMIT_MIB,
    }


def _print(name: str, res: dict[str, Any], ceiling: dict[str, Any]) -> None:
    print(f"[{name}]")
    for kind, row in res["rows"].items():
        rss = "peak RSS" if kind == "rclone" else "RSS growth"
        cpu = row["mib_per_cpu_s"]
        print(
            f"  {kind:<6} {row['median_s'] * 1000:8.1f} ms  {row['mib_per_s']:7.0f} MiB/s"
            f"  ({cpu or 0:5.0f} MiB per CPU-s)  {rss} {row['rss_mib']:6.1f} MiB"
        )
    verdict = "PASS" if res["ratio_ok"] else "FAIL"
    print(f"  {verdict}  crypt / plain throughput: {res['ratio']:.2f}x (target ≥ {RATIO_TARGET}x)")
    verdict = "PASS" if res["rss_ok"] else "FAIL"
    rss = res["rows"]["crypt"]["rss_mib"]
    print(f"  {verdict}  crypt RSS growth: {rss:.1f} MiB (target < {RSS_LIMIT_MIB:.0f} MiB)")
    half = RATIO_TARGET * res["rows"]["plain"]["mib_per_s"]
    best = max(ceiling["two_threads_mib_s"], ceiling["one_thread_mib_s"])
    reach = "reachable" if best >= half else "NOT reachable with this cipher here"
    print(f"  half of plain {half:.0f} MiB/s vs cipher-only best {best:.0f} MiB/s: {reach}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backend",
        choices=["local", "s3", "all"],
        help="default: all when STOREROOM_TEST_S3_* is set, else local",
    )
    parser.add_argument("--quick", action="store_true", help="3 rounds of 32 MiB")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--probe", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        what, *rest = args.probe
        if what == "read":
            out = probe_read(rest[0], json.loads(rest[1]))
        elif what == "rclone":
            out = probe_rclone(rest[0], int(rest[1]))
        else:
            out = probe_cipher(int(rest[0]))
        print(json.dumps(out))
        return 0
    choice = args.backend or ("local" if s3_missing() else "all")
    names = ["local", "s3"] if choice == "all" else [choice]
    if "s3" in names and s3_missing():
        parser.error(f"--backend s3 needs {', '.join(s3_missing())}")
    mib, rounds = (32, 3) if args.quick else (args.mib, args.rounds)
    ceiling = _probe("cipher", str(min(mib, 128)))
    print(f"read {mib} MiB, 1 MiB reads, {rounds} rounds, load {load_average()}")
    print(
        "cipher ceiling (libsodium XSalsa20-Poly1305 open, 64 KiB chunks): "
        f"1 thread {ceiling['one_thread_mib_s']:.0f} MiB/s "
        f"({ceiling['one_core_cpu_mib_s']:.0f} per CPU-s), "
        f"2 threads {ceiling['two_threads_mib_s']:.0f} MiB/s; over distinct chunks: "
        f"1 thread {ceiling['distinct_one_thread_mib_s']:.0f} MiB/s, "
        f"2 threads {ceiling['distinct_two_threads_mib_s']:.0f} MiB/s"
    )
    results = {}
    for name in names:
        results[name] = bench_backend(name, mib, rounds)
        _print(name, results[name], ceiling)
    ok = all(r["ok"] for r in results.values())
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            record = {"machine": machine_info(_HERE), "mib": mib, "rounds": rounds}
            json.dump({**record, "ceiling": ceiling, "backends": results}, f, indent=2)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
