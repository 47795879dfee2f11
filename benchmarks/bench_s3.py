"""S3 benchmark: storeroom vs boto3 (raw SDK), s3fs (fsspec), remote-store 0.33.0 and obstore.

Usage: ``python benchmarks/bench_s3.py [--quick] [--json PATH] [--markdown PATH]``
with ``STOREROOM_TEST_S3_*`` set (``eval "$(scripts/services up s3)"``).

Every contender talks to the same moto server and the same bucket (a fresh,
unversioned one per run). Timings are interleaved rounds (``_harness.measure``);
ratios are to boto3, shown in the ``raw`` column. The streaming case runs in a
fresh process per direction and reports the growth of the resident set while
256 MiB go through ``store.write(path, stream)`` and ``store.read(path)``.

``exists`` answers for files and folders, so "exists (miss)" times boto3 (and
obstore) doing that same job: ``head_object``, then a one-key
``list_objects_v2`` of ``key/`` on a 404. "exists (miss) vs HEAD only" holds
the round-trip target: storeroom sends both requests at once, so a miss should
cost about one HEAD (1.2x). "delete" removes an existing file (storeroom: HEAD,
then DELETE, to report a miss) against boto3's DELETE alone (1.2x);
"delete, missing_ok" is storeroom's ``delete(missing_ok=True)``, one DELETE.

The ``storeroom-obstore`` column is storeroom's ``s3`` backend with
``engine = "obstore"``; each row also checks its time against obstore's own
(at most 1.15x, spec S3-088).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import obstore as obs
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
from _latency import delayed
from _memprobe import _status_kib

MiB = 1024 * 1024
LIMIT = 1.15
RSS_LIMIT = 32.0
#: Cases shown for context only: their baseline does less than storeroom (no target).
#: Round-trip targets (issue 14 section 2): storeroom/raw at most this.
ROUND_TRIP = {"exists_miss_head": 1.2, "delete": 1.2, "delete_missing_ok": 1.2}
#: The column of storeroom's s3 backend with engine = "obstore"; its target is
#: obstore's own time for the same row (spec S3-088).
SO = "storeroom-obstore"


def _env() -> dict[str, str]:
    names = ("ENDPOINT", "KEY", "SECRET", "REGION")
    env = {n: os.environ.get(f"STOREROOM_TEST_S3_{n}", "") for n in names}
    missing = [n for n, v in env.items() if not v]
    if missing:
        raise SystemExit(
            f'STOREROOM_TEST_S3_{missing[0]} is not set; run: eval "$(scripts/services up s3)"'
        )
    return env


def _config(env: dict[str, str], bucket: str, root: str, **extra: Any) -> dict[str, Any]:
    options = {
        **extra,
        "bucket": bucket,
        "endpoint_url": env["ENDPOINT"],
        "key": env["KEY"],
        "secret": env["SECRET"],
        "region_name": env["REGION"],
    }
    return {
        "backends": {"s3": {"type": "s3", "options": options}},
        "stores": {"bench": {"backend": "s3", "root_path": root}},
    }


class Fixture:
    """The bucket, the files and the four clients."""

    def __init__(self, env: dict[str, str], list_count: int) -> None:
        import boto3
        import remote_store
        import s3fs
        from botocore.config import Config

        import storeroom

        self.bucket = f"storeroom-bench-{uuid.uuid4().hex[:8]}"
        self.root = "bench"
        self.boto = boto3.client(
            "s3",
            endpoint_url=env["ENDPOINT"],
            aws_access_key_id=env["KEY"],
            aws_secret_access_key=env["SECRET"],
            region_name=env["REGION"],
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        self.boto.create_bucket(Bucket=self.bucket)
        config = _config(env, self.bucket, self.root)
        self.sr = storeroom.Registry(storeroom.RegistryConfig.from_dict(config)).get_store("bench")
        # storeroom's s3 backend with engine = "obstore" (spec S3-088): the
        # "storeroom-obstore" column, compared with obstore's own calls.
        so_config = _config(env, self.bucket, self.root, engine="obstore")
        self.so = storeroom.Registry(storeroom.RegistryConfig.from_dict(so_config)).get_store(
            "bench"
        )
        self.rs = remote_store.Registry(remote_store.RegistryConfig.from_dict(config)).get_store(
            "bench"
        )
        self.fs = s3fs.S3FileSystem(
            key=env["KEY"],
            secret=env["SECRET"],
            endpoint_url=env["ENDPOINT"],
            client_kwargs={"region_name": env["REGION"]},
            use_listings_cache=False,
            skip_instance_cache=True,
        )
        from obstore.store import S3Store

        self.ob = S3Store(
            self.bucket,
            endpoint=env["ENDPOINT"],
            access_key_id=env["KEY"],
            secret_access_key=env["SECRET"],
            region=env["REGION"],
            client_options={"allow_http": True},
        )
        self.data = os.urandom(MiB)
        self.put("data/hit.bin", b"x" * 100)
        self.put("data/read.bin", self.data)
        for i in range(list_count):
            self.put(f"list/f{i:06d}.bin", b"y" * (i % 200))

    def key(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def put(self, rel: str, data: bytes) -> None:
        self.boto.put_object(Bucket=self.bucket, Key=self.key(rel), Body=data)


def _same(f: Fixture, count: int) -> None:
    """Every contender sees the same thing before anything is timed."""
    b, k = f.bucket, f.key
    assert f.sr.read_bytes("data/read.bin") == f.data
    assert f.rs.read_bytes("data/read.bin") == f.data
    assert f.fs.cat_file(f"{b}/{k('data/read.bin')}") == f.data
    assert f.sr.exists("data/hit.bin") and not f.sr.exists("data/miss.bin")
    assert f.rs.exists("data/hit.bin") and not f.rs.exists("data/miss.bin")
    assert f.fs.exists(f"{b}/{k('data/hit.bin')}") and not f.fs.exists(f"{b}/{k('data/miss')}")
    assert len(list(f.sr.list_files("list"))) == count
    assert len(list(f.rs.list_files("list"))) == count
    assert len(f.fs.ls(f"{b}/{k('list')}", detail=True)) == count
    assert bytes(obs.get(f.ob, k("data/read.bin")).bytes()) == f.data
    assert f.so.read_bytes("data/read.bin") == f.data
    assert f.so.exists("data/hit.bin") and not f.so.exists("data/miss.bin")
    assert len(list(f.so.list_files("list"))) == count
    assert _ob_exists_same(f, k("data/hit.bin")) and not _ob_exists_same(f, k("data/miss.bin"))
    assert _ob_exists_same(f, k("data")) and len(_ob_list(f)) == count


def _ob_exists(f: Fixture, key: str) -> bool:
    try:
        obs.head(f.ob, key)
        return True
    except FileNotFoundError:
        return False


def _ob_exists_same(f: Fixture, key: str) -> bool:
    """obstore doing storeroom's job: a file (HEAD), else a folder (a one-key listing)."""
    if _ob_exists(f, key):
        return True
    return next(iter(obs.list(f.ob, key + "/", chunk_size=1)), None) is not None


def _ob_list(f: Fixture) -> list[Any]:
    return obs.list_with_delimiter(f.ob, f.key("list"))["objects"]


def _doomed(f: Fixture, who: str, delete: Callable[[str], object]) -> Variant:
    """A variant deleting ``number`` files made (untimed) before each sample."""
    seq = iter(range(10**9))

    def prepare(number: int) -> Callable[[], object]:
        names = [f"del/{who}/{next(seq)}" for _ in range(number)]
        for rel in names:
            f.put(rel, b"d")
        todo = iter(names)
        return lambda: delete(next(todo))

    return Variant(who, prepare)


def _fixed(op: Callable[[], object]) -> Callable[[int], Callable[[], object]]:
    return lambda _n: op


def _boto_exists(f: Fixture, key: str) -> bool:
    try:
        f.boto.head_object(Bucket=f.bucket, Key=key)
        return True
    except f.boto.exceptions.ClientError as exc:
        if exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return False
        raise


def _boto_exists_same(f: Fixture, key: str) -> bool:
    """boto3 doing storeroom's job: a file (HEAD), else a folder (a one-key listing)."""
    if _boto_exists(f, key):
        return True
    resp = f.boto.list_objects_v2(Bucket=f.bucket, Prefix=key + "/", MaxKeys=1)
    return bool(resp.get("KeyCount"))


def _boto_list(f: Fixture) -> list[tuple[str, int, Any]]:
    out = []
    pages = f.boto.get_paginator("list_objects_v2").paginate(
        Bucket=f.bucket, Prefix=f.key("list/"), Delimiter="/"
    )
    for page in pages:
        out.extend((o["Key"], o["Size"], o["LastModified"]) for o in page.get("Contents", ()))
    return out


def _delete_cases(f: Fixture) -> list[tuple[str, str, list[Variant], str]]:
    b, k = f.bucket, f.key
    gone = k("del/never-there")
    return [
        (
            "delete",
            "delete (existing file)",
            [
                _doomed(f, "raw", lambda rel: f.boto.delete_object(Bucket=b, Key=k(rel))),
                _doomed(f, "storeroom", lambda rel: f.sr.delete(rel)),
                _doomed(f, "remote-store", lambda rel: f.rs.delete(rel)),
                _doomed(f, "fsspec", lambda rel: f.fs.rm_file(f"{b}/{k(rel)}")),
                _doomed(f, "obstore", lambda rel: obs.delete(f.ob, k(rel))),
                _doomed(f, SO, lambda rel: f.so.delete(rel)),
            ],
            "target: within 1.2x of boto3 delete_object; storeroom reports a miss as "
            "NotFound, so it sends a HEAD first (not concurrently: see spec S3-045)",
        ),
        (
            "delete_missing_ok",
            "delete, missing_ok=True",
            [
                Variant("raw", _fixed(lambda: f.boto.delete_object(Bucket=b, Key=gone))),
                Variant(
                    "storeroom", _fixed(lambda: f.sr.delete("del/never-there", missing_ok=True))
                ),
                Variant("obstore", _fixed(lambda: obs.delete(f.ob, gone))),
                Variant(SO, _fixed(lambda: f.so.delete("del/never-there", missing_ok=True))),
            ],
            "target: delete(missing_ok=True) is one DELETE, like boto3 delete_object",
        ),
    ]


def cases(f: Fixture) -> list[tuple[str, str, list[Variant], str]]:
    b, k = f.bucket, f.key
    data = f.data
    read_key, hit_key, miss_key = k("data/read.bin"), k("data/hit.bin"), k("data/miss.bin")
    return [
        (
            "read_bytes",
            "read 1 MiB",
            [
                Variant(
                    "raw",
                    _fixed(lambda: f.boto.get_object(Bucket=b, Key=read_key)["Body"].read()),
                ),
                Variant("storeroom", _fixed(lambda: f.sr.read_bytes("data/read.bin"))),
                Variant("remote-store", _fixed(lambda: f.rs.read_bytes("data/read.bin"))),
                Variant("fsspec", _fixed(lambda: f.fs.cat_file(f"{b}/{read_key}"))),
                Variant("obstore", _fixed(lambda: obs.get(f.ob, read_key).bytes())),
                Variant(SO, _fixed(lambda: f.so.read_bytes("data/read.bin"))),
            ],
            "boto3 get_object().read(); s3fs cat_file",
        ),
        (
            "write",
            "write 1 MiB (overwrite)",
            [
                Variant(
                    "raw",
                    _fixed(lambda: f.boto.put_object(Bucket=b, Key=k("w/raw.bin"), Body=data)),
                ),
                Variant("storeroom", _fixed(lambda: f.sr.write("w/sr.bin", data, overwrite=True))),
                Variant(
                    "remote-store", _fixed(lambda: f.rs.write("w/rs.bin", data, overwrite=True))
                ),
                Variant("fsspec", _fixed(lambda: f.fs.pipe_file(f"{b}/{k('w/fs.bin')}", data))),
                Variant("obstore", _fixed(lambda: obs.put(f.ob, k("w/ob.bin"), data))),
                Variant(SO, _fixed(lambda: f.so.write("w/so.bin", data, overwrite=True))),
            ],
            "boto3 put_object; s3fs pipe_file",
        ),
        (
            "exists_hit",
            "exists (hit)",
            [
                Variant("raw", _fixed(lambda: _boto_exists(f, hit_key))),
                Variant("storeroom", _fixed(lambda: f.sr.exists("data/hit.bin"))),
                Variant("remote-store", _fixed(lambda: f.rs.exists("data/hit.bin"))),
                Variant("fsspec", _fixed(lambda: f.fs.exists(f"{b}/{hit_key}"))),
                Variant("obstore", _fixed(lambda: _ob_exists(f, hit_key))),
                Variant(SO, _fixed(lambda: f.so.exists("data/hit.bin"))),
            ],
            "boto3 head_object",
        ),
        (
            "exists_miss",
            "exists (miss)",
            [
                Variant("raw", _fixed(lambda: _boto_exists_same(f, miss_key))),
                Variant("storeroom", _fixed(lambda: f.sr.exists("data/miss.bin"))),
                Variant("remote-store", _fixed(lambda: f.rs.exists("data/miss.bin"))),
                Variant("fsspec", _fixed(lambda: f.fs.exists(f"{b}/{miss_key}"))),
                Variant("obstore", _fixed(lambda: _ob_exists_same(f, miss_key))),
                Variant(SO, _fixed(lambda: f.so.exists("data/miss.bin"))),
            ],
            "the target row: boto3 doing the same job as exists() (file or folder): "
            "head_object, then a one-key list_objects_v2 of key/ on a 404",
        ),
        (
            "exists_miss_head",
            "exists (miss) vs HEAD only",
            [
                Variant("raw", _fixed(lambda: _boto_exists(f, miss_key))),
                Variant("storeroom", _fixed(lambda: f.sr.exists("data/miss.bin"))),
                Variant("obstore", _fixed(lambda: _ob_exists(f, miss_key))),
                Variant(SO, _fixed(lambda: f.so.exists("data/miss.bin"))),
            ],
            "round-trip target (1.2x): boto3 answers only 'is there a file' (one "
            "head_object); storeroom also finds folders, its HEAD and listing sent at once",
        ),
        (
            "list_files",
            "list 1,000 files",
            [
                Variant("raw", _fixed(lambda: _boto_list(f))),
                Variant("storeroom", _fixed(lambda: list(f.sr.list_files("list")))),
                Variant("remote-store", _fixed(lambda: list(f.rs.list_files("list")))),
                Variant("fsspec", _fixed(lambda: f.fs.ls(f"{b}/{k('list')}", detail=True))),
                Variant("obstore", _fixed(lambda: _ob_list(f))),
                Variant(SO, _fixed(lambda: list(f.so.list_files("list")))),
            ],
            "boto3 list_objects_v2 paginator with Delimiter",
        ),
        *_delete_cases(f),
    ]


# -- streaming memory (fresh process per direction) ---------------------------------


def _probe(direction: str, bucket: str, size_mib: int) -> None:
    """Child process: stream ``size_mib`` MiB through one Store, print JSON."""
    import storeroom

    env = _env()
    store = storeroom.Registry(
        storeroom.RegistryConfig.from_dict(_config(env, bucket, "stream"))
    ).get_store("bench")
    store.write("warm.bin", b"w" * MiB, overwrite=True)  # imports, client, pools
    store.read_bytes("warm.bin")
    block = os.urandom(MiB)

    class Source:
        """A non-seekable stream of ``size_mib`` MiB, at most 1 MiB per read."""

        def __init__(self) -> None:
            self.left = size_mib * MiB

        def read(self, n: int = -1) -> bytes:
            n = min(MiB if n < 0 else n, MiB, self.left)
            self.left -= n
            return block if n == MiB else block[:n]

    rss0 = _status_kib("VmRSS") or 0
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")
    t0 = time.perf_counter()
    if direction == "write":
        store.write("big.bin", Source(), overwrite=True)  # type: ignore[arg-type]
        moved = size_mib * MiB
    else:
        moved = 0
        with store.read("big.bin") as stream:
            while chunk := stream.read(MiB):
                moved += len(chunk)
    seconds = time.perf_counter() - t0
    growth = max(0, (_status_kib("VmHWM") or 0) - rss0) / 1024
    print(json.dumps({"direction": direction, "bytes": moved, "seconds": seconds, "rss": growth}))


def streaming(bucket: str, size_mib: int) -> list[dict[str, Any]]:
    out = []
    for direction in ("write", "read"):
        proc = subprocess.run(
            [
                sys.executable,
                os.path.abspath(__file__),
                "--probe",
                direction,
                bucket,
                str(size_mib),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--list-count", type=int, default=1000)
    parser.add_argument("--stream-mib", type=int, default=256)
    parser.add_argument("--only", nargs="*", help="run only these case ids")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming RSS probe")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="add this one-way delay (see _latency)"
    )
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        _probe(args.probe[0], args.probe[1], int(args.probe[2]))
        return 0
    env = _env()
    if args.latency_ms:
        with delayed(env["ENDPOINT"], args.latency_ms) as url:
            return _main({**env, "ENDPOINT": url}, args)
    return _main(env, args)


def _main(env: dict[str, str], args: argparse.Namespace) -> int:
    import _harness

    if SO not in _harness.CONTENDERS:  # show the engine column (and its ratio) in the table
        _harness.CONTENDERS = (*_harness.CONTENDERS, SO)
    rounds = args.rounds or (9 if args.quick else 31)
    fixture = Fixture(env, args.list_count)
    _same(fixture, args.list_count)
    report = Report(
        machine=machine_info(os.getcwd()),
        settings={
            "mode": "quick" if args.quick else "full",
            "rounds": rounds,
            "server": "moto",
            "latency_ms": args.latency_ms,
        },
    )
    overhead = loop_overhead_ns()
    for case_id, label, variants, note in cases(fixture):
        if args.only and case_id not in args.only:
            continue
        number = calibrate_number(variants, 30_000_000 if not args.quick else 10_000_000, cap=20)
        results = measure(variants, rounds=rounds, number=number, overhead_ns=overhead)
        limit = ROUND_TRIP.get(case_id, LIMIT)
        case = TimingCase(case_id, label, results, limit=limit, note=note)
        report.timings.append(case)
        ratio = case.ratio("storeroom")
        report.checks.append(
            Check(
                f"{label}: storeroom/boto3", ratio, limit, "x", ratio is not None and ratio <= limit
            )
        )
        engine_ratio = case.ratio(SO, "obstore")
        if engine_ratio is not None:
            report.checks.append(
                Check(
                    f"{label}: storeroom-obstore/obstore",
                    engine_ratio,
                    LIMIT,
                    "x",
                    engine_ratio <= LIMIT,
                )
            )
    for m in [] if args.no_stream else streaming(fixture.bucket, args.stream_mib):
        report.memory.append(
            {
                "label": f"stream {m['bytes'] // MiB} MiB ({m['direction']})",
                "contender": "storeroom",
                "count": None,
                "seconds": m["seconds"],
                "rss_growth_mib": m["rss"],
            }
        )
        report.checks.append(
            Check(
                f"stream {m['direction']} RSS growth",
                m["rss"],
                RSS_LIMIT,
                " MiB",
                m["rss"] < RSS_LIMIT,
            )
        )
    if not args.no_stream:
        fixture.boto.delete_object(Bucket=fixture.bucket, Key="stream/big.bin")
    report.machine["load_at_end"] = load_average()
    print(format_text(report).replace("raw", "boto3", 1))
    print("(the 'raw' column is boto3, the raw SDK)")
    if args.json:
        report.write_json(args.json)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(format_markdown(report))
    return 1 if args.check and not all(c.ok for c in report.checks) else 0


if __name__ == "__main__":
    sys.exit(main())
