"""Benchmark of the ``sql-blob`` backend on SQLite and PostgreSQL.

    python benchmarks/bench_sql.py [--quick] [--json PATH] [--markdown PATH]
                                   [--only sqlite,postgres]

Contenders, interleaved in one run against the same database:

* ``raw``: SQLAlchemy Core on a one-row-per-blob table (``path`` primary key,
  ``data``, ``size``, ``mtime``), the baseline of every ratio. It runs the
  same job under the same settings as the backend: on SQLite the same
  connection PRAGMAs (WAL, ``synchronous=NORMAL``, ``secure_delete=FAST``,
  busy timeout) and one transaction per write; on PostgreSQL one transaction
  per write and reads in ``AUTOCOMMIT`` (no BEGIN/ROLLBACK round trips), as
  the backend does. A write is one upsert statement; a read one ``SELECT``;
  ``exists`` one indexed probe of the exact path; a listing one range scan
  returning ``(relative path, size, datetime)`` tuples;
* ``storeroom``: a Store of the ``sql-blob`` backend built through
  ``Registry(RegistryConfig.from_dict(...))``;
* ``remote-store``: remote-store 0.33.0's ``sql-blob`` backend, same config.

fsspec has no SQL filesystem, so it has no column here. PostgreSQL is taken
from ``STOREROOM_TEST_SQL_URL`` (``scripts/services up postgres``). On
SQLite every contender has its own database file in one temporary folder
(same disk, same settings): contenders sharing one file would flush each
other's page cache and trigger each other's WAL checkpoints. The streaming
case writes 256 MiB through ``store.write(path, stream)`` and reads it back
in 1 MiB reads, each contender in a fresh process, and reports the growth
of the resident set.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _harness import Stats, Variant, calibrate_number, loop_overhead_ns, measure
from _memprobe import _status_kib

MiB = 1024 * 1024
ROOT = "bench"


def _registry_config(url: str, table: str) -> dict[str, Any]:
    return {
        "backends": {"db": {"type": "sql-blob", "options": {"url": url, "table_name": table}}},
        "stores": {"bench": {"backend": "db", "root_path": ROOT}},
    }


def _storeroom(url: str) -> Any:
    import storeroom

    return storeroom.Registry(
        storeroom.RegistryConfig.from_dict(_registry_config(url, "bench_files"))
    ).get_store("bench")


def _remote_store(url: str) -> Any:
    import remote_store

    return remote_store.Registry(
        remote_store.RegistryConfig.from_dict(_registry_config(url, "bench_remote"))
    ).get_store("bench")


class Raw:
    """The baseline: SQLAlchemy Core, one row per blob."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.engine = sa.create_engine(url)
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy import event

            @event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                # The backend's settings (SQL-005): same durability, same I/O.
                for pragma in (
                    "busy_timeout = 30000",
                    "journal_mode = WAL",
                    "synchronous = NORMAL",
                    "secure_delete = FAST",
                ):
                    dbapi_conn.execute(f"PRAGMA {pragma}")

            self.reader = self.engine
        else:
            self.reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        md = sa.MetaData()
        path_type = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
        self.t = sa.Table(
            "bench_raw",
            md,
            sa.Column("path", path_type, primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Column("size", sa.BigInteger, nullable=False),
            sa.Column("mtime", sa.Float, nullable=False),
        )
        md.create_all(self.engine)
        t = self.t
        self.q_read = sa.select(t.c.data).where(t.c.path == sa.bindparam("p"))
        self.q_exists = sa.select(sa.literal(1)).where(t.c.path == sa.bindparam("p"))
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        ins = insert(t)
        self.upsert = ins.on_conflict_do_update(
            index_elements=[t.c.path],
            set_={
                "data": ins.excluded.data,
                "size": ins.excluded.size,
                "mtime": ins.excluded.mtime,
            },
        )

    def write(self, rel: str, data: bytes) -> None:
        with self.engine.begin() as c:
            c.execute(
                self.upsert,
                {"path": f"{ROOT}/{rel}", "data": data, "size": len(data), "mtime": time.time()},
            )

    def read(self, rel: str) -> bytes:
        with self.reader.connect() as c:
            data: bytes = c.execute(self.q_read, {"p": f"{ROOT}/{rel}"}).scalar_one()
            return data

    def exists(self, rel: str) -> bool:
        with self.reader.connect() as c:
            return c.execute(self.q_exists, {"p": f"{ROOT}/{rel}"}).first() is not None

    def list(self, folder: str) -> list[Any]:
        """Same job as a listing: store-relative path, size and modification time."""
        t = self.t
        lo, hi = f"{ROOT}/{folder}/", f"{ROOT}/{folder}0"
        q = self.sa.select(t.c.path, t.c.size, t.c.mtime)
        q = q.where(t.c.path >= lo, t.c.path < hi).order_by(t.c.path)
        cut = len(ROOT) + 1
        stamp = datetime.fromtimestamp
        with self.reader.connect() as c:
            return [(p[cut:], size, stamp(m, UTC)) for p, size, m in c.execute(q)]


def _own(url: str, contender: str) -> str:
    """SQLite: a database file per contender (same folder); a server URL as is."""
    if url.startswith("sqlite:///") and url.endswith(".db"):
        return f"{url[:-3]}-{contender}.db"
    return url


def _timing(
    dbname: str, url: str, rounds: int, sample_ms: float, count: int
) -> list[dict[str, Any]]:
    raw = Raw(_own(url, "raw"))
    store = _storeroom(_own(url, "storeroom"))
    rstore = _remote_store(_own(url, "remote-store"))
    data = os.urandom(MiB)
    contenders: dict[str, Any] = {"raw": raw, "storeroom": store, "remote-store": rstore}
    # Fixture: the same files for everyone.
    for name, c in contenders.items():
        if name == "raw":
            c.write("one.bin", data)
            for i in range(count):
                c.write(f"dir/f{i:05d}.txt", b"x")
        else:
            c.write("one.bin", data, overwrite=True)
            for i in range(count):
                c.write(f"dir/f{i:05d}.txt", b"x", overwrite=True)
    assert raw.read("one.bin") == store.read_bytes("one.bin") == rstore.read_bytes("one.bin")
    assert len(raw.list("dir")) == len(list(store.list_files("dir"))) == count
    assert len(list(rstore.list_files("dir"))) == count

    # Fresh bytes on every write: SQLite skips rewriting pages whose bytes are unchanged.
    payloads = itertools.cycle([os.urandom(MiB) for _ in range(5)])

    def v(name: str, fn: Callable[[], object]) -> Variant:
        return Variant(name, lambda n: fn)

    cases: list[tuple[str, list[Variant]]] = [
        (
            "read 1 MiB",
            [
                v("raw", lambda: raw.read("one.bin")),
                v("storeroom", lambda: store.read_bytes("one.bin")),
                v("remote-store", lambda: rstore.read_bytes("one.bin")),
            ],
        ),
        (
            "write 1 MiB (overwrite)",
            [
                v("raw", lambda: raw.write("one.bin", next(payloads))),
                v("storeroom", lambda: store.write("one.bin", next(payloads), overwrite=True)),
                v("remote-store", lambda: rstore.write("one.bin", next(payloads), overwrite=True)),
            ],
        ),
        (
            "exists hit",
            [
                v("raw", lambda: raw.exists("one.bin")),
                v("storeroom", lambda: store.exists("one.bin")),
                v("remote-store", lambda: rstore.exists("one.bin")),
            ],
        ),
        (
            "exists miss",
            [
                v("raw", lambda: raw.exists("nope.bin")),
                v("storeroom", lambda: store.exists("nope.bin")),
                v("remote-store", lambda: rstore.exists("nope.bin")),
            ],
        ),
        (
            f"list {count:,} files",
            [
                v("raw", lambda: raw.list("dir")),
                v("storeroom", lambda: list(store.list_files("dir"))),
                v("remote-store", lambda: list(rstore.list_files("dir"))),
            ],
        ),
    ]
    overhead = loop_overhead_ns()
    out = []
    for label, variants in cases:
        number = calibrate_number(variants, int(sample_ms * 1e6), cap=200)
        stats: dict[str, Stats] = measure(
            variants, rounds=rounds, number=number, overhead_ns=overhead
        )
        out.append({"db": dbname, "case": label, "us": {k: s.median for k, s in stats.items()}})
    raw.engine.dispose()
    store.close()
    return out


# -- streaming memory, one contender per fresh process ---------------------------------------


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
        f.write("5")


class _Source(io.RawIOBase):
    """``total`` bytes of a repeated random block, generated on the fly."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.block = os.urandom(MiB)

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self.left, MiB)
        buf[:n] = self.block[:n]
        self.left -= n
        return n


def _probe(contender: str, url: str, size_mib: int) -> dict[str, Any]:
    store = _storeroom(url) if contender == "storeroom" else _remote_store(url)
    store.write("warm.bin", b"w", overwrite=True)
    store.read_bytes("warm.bin")
    out: dict[str, Any] = {"contender": contender, "size_mib": size_mib}
    base = _status_kib("VmRSS") or 0
    _reset_peak()
    t0 = time.perf_counter()
    try:
        store.write("stream.bin", io.BufferedReader(_Source(size_mib * MiB), MiB), overwrite=True)
        out["write_s"] = round(time.perf_counter() - t0, 2)
        out["write_rss_growth_mib"] = round(((_status_kib("VmHWM") or 0) - base) / 1024, 1)
        base = _status_kib("VmRSS") or 0
        _reset_peak()
        t0 = time.perf_counter()
        total = 0
        with store.read("stream.bin") as fh:
            while piece := fh.read(MiB):
                total += len(piece)
        assert total == size_mib * MiB, total
        out["read_s"] = round(time.perf_counter() - t0, 2)
        out["read_rss_growth_mib"] = round(((_status_kib("VmHWM") or 0) - base) / 1024, 1)
    except Exception as exc:  # report, do not hide: remote-store may fail here
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]
    try:
        store.delete("stream.bin")
    except Exception:
        pass
    return out


def _memory(url: str, size_mib: int) -> list[dict[str, Any]]:
    results = []
    for contender in ("storeroom", "remote-store"):
        proc = subprocess.run(
            [sys.executable, __file__, "--probe", contender, url, str(size_mib)],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
        )
        try:
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        except (IndexError, json.JSONDecodeError):
            results.append({"contender": contender, "error": proc.stderr[-300:]})
    return results


# -- report ------------------------------------------------------------------------------------


def _masked(url: str) -> str:
    from storeroom.backends.sql.config import mask_url

    return mask_url(url)


def _tables(timings: list[dict[str, Any]], memory: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| database | case | raw SQLAlchemy (µs) | storeroom (µs) | remote-store (µs) "
        "| storeroom/raw | remote-store/raw | target |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        us = t["us"]
        r = us["raw"]
        lines.append(
            f"| {t['db']} | {t['case']} | {r:,.0f} | {us['storeroom']:,.0f} | "
            f"{us['remote-store']:,.0f} | {us['storeroom'] / r:.2f}x | "
            f"{us['remote-store'] / r:.2f}x | ≤ 1.15x |"
        )
    lines += [
        "",
        "| database | contender | write 256 MiB (s) | RSS growth write (MiB) "
        "| read 256 MiB (s) | RSS growth read (MiB) | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for db, rows in memory.items():
        for m in rows:
            lines.append(
                f"| {db} | {m['contender']} | {m.get('write_s', '—')} | "
                f"{m.get('write_rss_growth_mib', '—')} | {m.get('read_s', '—')} | "
                f"{m.get('read_rss_growth_mib', '—')} | {m.get('error', '')} |"
            )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--probe":
        print(json.dumps(_probe(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--only", default="sqlite,postgres")
    ap.add_argument("--rounds", type=int)
    ap.add_argument("--stream-mib", type=int, default=256)
    ap.add_argument("--list-count", type=int, default=1000)
    args = ap.parse_args()
    rounds = args.rounds or (9 if args.quick else 41)
    sample_ms = 20.0 if args.quick else 50.0
    dbs: dict[str, str] = {}
    tmp = tempfile.mkdtemp(prefix="storeroom-bench-sql-")
    if "sqlite" in args.only:
        dbs["SQLite"] = f"sqlite:///{tmp}/bench.db"
    if "postgres" in args.only:
        url = os.environ.get("STOREROOM_TEST_SQL_URL")
        if not url:
            print('STOREROOM_TEST_SQL_URL is not set: eval "$(scripts/services up postgres)"')
            return 2
        dbs["PostgreSQL"] = url
    timings: list[dict[str, Any]] = []
    memory: dict[str, list[dict[str, Any]]] = {}
    for name, url in dbs.items():
        print(f"== {name} ({_masked(url)})", file=sys.stderr)
        timings += _timing(name, url, rounds, sample_ms, args.list_count)
        memory[name] = _memory(url, args.stream_mib)
    text = _tables(timings, memory)
    print(text)
    print("\nfsspec has no SQL filesystem implementation: no fsspec column.")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"timings": timings, "memory": memory, "rounds": rounds}, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
