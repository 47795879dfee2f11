"""Benchmark of storeroom's ``http`` backend against the local test server.

    eval "$(scripts/services up http)"
    python benchmarks/bench_http.py [--quick] [--json PATH] [--markdown PATH] [--check]

Times, in one interleaved run against the same server (``STOREROOM_TEST_HTTP_URL``):
a 1 MiB read, ``exists`` of a present and of a missing file, each done by a
kept-alive ``http.client`` connection (``raw``, the baseline), urllib3's
``PoolManager``, storeroom, remote-store 0.33.0's ``http`` backend and
fsspec's ``HTTPFileSystem`` (aiohttp). Then streams a 256 MiB file through
``store.read()`` in a fresh process and reports its RSS growth. The backend
is read-only: there is no write or listing case.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness
from _harness import (
    Check,
    Report,
    TimingCase,
    Variant,
    calibrate_number,
    format_markdown,
    format_text,
    load_average,
    loop_overhead_ns,
    machine_info,
    measure,
)
from _memprobe import _reset_peak, _status_kib

# urllib3 takes the table column that the local benchmark uses for pathlib.
_harness.CONTENDERS = ("raw", "urllib3", "storeroom", "remote-store", "fsspec")
_harness.COMPARED = ("urllib3", "storeroom", "remote-store", "fsspec")

MiB = 1024 * 1024
LIMIT = 1.15
STREAM_LIMIT_MIB = 32.0


def _server() -> tuple[str, str, int]:
    url = os.environ.get("STOREROOM_TEST_HTTP_URL", "").rstrip("/")
    if not url:
        raise SystemExit('STOREROOM_TEST_HTTP_URL is not set: eval "$(scripts/services up http)"')
    parts = urlsplit(url)
    return url, parts.hostname or "127.0.0.1", parts.port or 80


def _seed(host: str, port: int, key: str, size: int) -> None:
    """PUT ``size`` pseudo-random bytes at ``key`` through the server's seeding door."""
    block = os.urandom(MiB)

    def body() -> Iterator[bytes]:
        left = size
        while left > 0:
            yield block[: min(MiB, left)]
            left -= MiB

    conn = http.client.HTTPConnection(host, port, timeout=300)
    try:
        conn.request(
            "PUT", "/_seed/" + quote(key), body=body(), headers={"Content-Length": str(size)}
        )
        resp = conn.getresponse()
        resp.read()
        if resp.status != 201:
            raise SystemExit(f"seeding {key} failed: HTTP {resp.status}")
    finally:
        conn.close()


def _unseed(host: str, port: int, key: str) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        conn.request("DELETE", "/_seed/" + quote(key))
        conn.getresponse().read()
    finally:
        conn.close()


class Contenders:
    """One client of each kind, built once and reused (keep-alive everywhere)."""

    def __init__(self, url: str, host: str, port: int, root: str) -> None:
        import fsspec
        import remote_store
        import urllib3

        import storeroom

        self.base = f"{url}/files"
        self.root = root
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.pool = urllib3.PoolManager(maxsize=4)
        table = {"type": "http", "options": {"base_url": self.base}}
        stores = {"b": {"backend": "web", "root_path": root}}
        self.store = storeroom.Registry(
            storeroom.RegistryConfig.from_dict({"backends": {"web": table}, "stores": stores})
        ).get_store("b")
        self.rstore = remote_store.Registry(
            remote_store.RegistryConfig.from_dict({"backends": {"web": table}, "stores": stores})
        ).get_store("b")
        self.fs = fsspec.filesystem("http")
        self.path = f"/files/{root}"

    def raw_get(self, rel: str) -> bytes:
        self.conn.request("GET", f"{self.path}/{rel}")
        return self.conn.getresponse().read()

    def raw_exists(self, rel: str) -> bool:
        self.conn.request("HEAD", f"{self.path}/{rel}")
        resp = self.conn.getresponse()
        resp.read()
        return resp.status == 200

    def variants(self, case: str, rel: str) -> list[Variant]:
        url = f"{self.base}/{self.root}/{rel}"
        ops: dict[str, Callable[[], object]]
        if case == "read":
            ops = {
                "raw": lambda: self.raw_get(rel),
                "urllib3": lambda: self.pool.request("GET", url).data,
                "storeroom": lambda: self.store.read_bytes(rel),
                "remote-store": lambda: self.rstore.read_bytes(rel),
                "fsspec": lambda: self.fs.cat_file(url),
            }
        else:
            ops = {
                "raw": lambda: self.raw_exists(rel),
                "urllib3": lambda: self.pool.request("HEAD", url).status == 200,
                "storeroom": lambda: self.store.exists(rel),
                "remote-store": lambda: self.rstore.exists(rel),
                "fsspec": lambda: self.fs.exists(url),
            }
        return [Variant(name, lambda number, op=op: op) for name, op in ops.items()]

    def verify(self, one: int) -> None:
        """Every contender gets the same answers before anything is timed."""
        expected = self.raw_get("one.bin")
        assert len(expected) == one
        for v in self.variants("read", "one.bin"):
            assert v.prepare(1)() == expected, v.name
        for rel, want in (("one.bin", True), ("missing.bin", False)):
            for v in self.variants("exists", rel):
                assert bool(v.prepare(1)()) is want, (v.name, rel)


def _stream_probe(url: str, root: str, rel: str, contender: str) -> dict[str, Any]:
    """In a fresh process: read ``rel`` in 1 MiB pieces; RSS growth and time."""
    code = f"""
import http.client, json, sys, time
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from bench_http import _stream_child
print(json.dumps(_stream_child({url!r}, {root!r}, {rel!r}, {contender!r})))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _stream_child(url: str, root: str, rel: str, contender: str) -> dict[str, Any]:
    import storeroom

    parts = urlsplit(url)
    if contender == "storeroom":
        table = {"type": "http", "options": {"base_url": f"{url}/files"}}
        config = {
            "backends": {"web": table},
            "stores": {"b": {"backend": "web", "root_path": root}},
        }
        store = storeroom.Registry(storeroom.RegistryConfig.from_dict(config)).get_store("b")
        store.read_bytes("one.bin")  # warm up: imports, connection

        def opener() -> Any:
            return store.read(rel)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)

        def opener() -> Any:
            conn.request("GET", f"/files/{root}/{rel}")
            return conn.getresponse()

    rss0 = _status_kib("VmRSS") or 0
    exact = _reset_peak()
    t0 = time.perf_counter()
    total = 0
    stream = opener()
    try:
        while block := stream.read(MiB):
            total += len(block)
    finally:
        stream.close()
    seconds = time.perf_counter() - t0
    hwm = _status_kib("VmHWM") or 0
    return {
        "contender": contender,
        "bytes": total,
        "seconds": seconds,
        "rss_growth_mib": max(0, hwm - rss0) / 1024 if exact else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller stream")
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--markdown", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--stream-mib", type=int)
    args = parser.parse_args(argv)
    rounds = args.rounds or (11 if args.quick else 41)
    stream_mib = args.stream_mib or (64 if args.quick else 256)
    sample_ns = (50 if args.quick else 200) * 1_000_000

    url, host, port = _server()
    root = f"bench-{uuid.uuid4().hex[:12]}"
    _seed(host, port, f"{root}/one.bin", MiB)
    _seed(host, port, f"{root}/big.bin", stream_mib * MiB)
    machine = machine_info(str(Path(__file__).resolve().parent))
    machine["load_at_start"] = load_average()
    report = Report(
        machine=machine,
        settings={"mode": "quick" if args.quick else "full", "rounds": rounds, "server": url},
    )
    try:
        c = Contenders(url, host, port, root)
        c.verify(MiB)
        overhead = loop_overhead_ns()
        cases = [
            ("read_1mib", "read 1 MiB (`read_bytes`)", "read", "one.bin"),
            ("exists_hit", "`exists` hit", "exists", "one.bin"),
            ("exists_miss", "`exists` miss", "exists", "missing.bin"),
        ]
        for case_id, label, kind, rel in cases:
            variants = c.variants(kind, rel)
            number = calibrate_number(variants, sample_ns, cap=2000)
            print(f"  {label}: {rounds} rounds x {number} calls x {len(variants)}", file=sys.stderr)
            stats = measure(variants, rounds=rounds, number=number, overhead_ns=overhead)
            case = TimingCase(case_id, label, stats, LIMIT)
            report.timings.append(case)
            ratio = case.ratio("storeroom")
            report.checks.append(
                Check(
                    f"{case_id} storeroom/raw",
                    ratio,
                    LIMIT,
                    "x",
                    ratio is not None and ratio <= LIMIT,
                )
            )
        for contender in ("raw", "storeroom"):
            probe = _stream_probe(url, root, "big.bin", contender)
            probe["label"] = f"stream {stream_mib} MiB through read()"
            probe["count"] = None
            probe["traced_peak_mib"] = None
            report.memory.append(probe)
            if contender == "storeroom":
                growth = probe["rss_growth_mib"]
                report.checks.append(
                    Check(
                        f"stream {stream_mib} MiB RSS growth",
                        growth,
                        STREAM_LIMIT_MIB,
                        " MiB",
                        growth is not None and growth < STREAM_LIMIT_MIB,
                        op="<",
                    )
                )
    finally:
        _unseed(host, port, root)
    report.machine["load_at_end"] = load_average()
    print(format_text(report))
    if args.json:
        report.write_json(args.json)
    if args.markdown:
        Path(args.markdown).write_text(format_markdown(report) + "\n", encoding="utf-8")
    failed = [chk for chk in report.checks if not chk.ok]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
