"""SFTP benchmark: storeroom vs paramiko, asyncssh, sshfs (fsspec) and remote-store 0.33.0.

Usage: ``python benchmarks/bench_sftp.py [--quick] [--json PATH] [--markdown PATH]``
after ``eval "$(scripts/services up sftp)"`` (reads the STOREROOM_TEST_SFTP_*
variables). Every contender talks to the same sshd in one interleaved run
(``_harness.measure`` rotates the order each round); figures are medians.
Ratios are storeroom over the raw SDK (paramiko), and for the 16 MiB cases
over the faster of paramiko and asyncssh. A second process streams 256 MiB
through ``store.write`` and ``store.read`` and reports its RSS growth.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Variant, load_average, machine_info, measure

MiB = 1024 * 1024
ENV_NAMES = ("HOST", "PORT", "USER", "KEY", "BASE_PATH", "KNOWN_HOSTS")


def env() -> dict[str, str]:
    values = {n: os.environ.get(f"STOREROOM_TEST_SFTP_{n}", "") for n in ENV_NAMES}
    missing = [n for n, v in values.items() if not v]
    if missing:
        sys.exit(
            f'missing STOREROOM_TEST_SFTP_{missing[0]}: run eval "$(scripts/services up sftp)"'
        )
    return values


# -- contenders ------------------------------------------------------------------------


class Paramiko:
    """The raw SDK as documented: SSHClient + open_sftp, putfo/getfo."""

    def __init__(self, e: dict[str, str], base: str) -> None:
        import paramiko

        self.client = paramiko.SSHClient()
        self.client.load_host_keys(e["KNOWN_HOSTS"])
        self.client.connect(
            e["HOST"],
            port=int(e["PORT"]),
            username=e["USER"],
            key_filename=e["KEY"],
            allow_agent=False,
            look_for_keys=False,
        )
        self.sftp = self.client.open_sftp()
        self.base = base

    def write(self, rel: str, data: bytes) -> None:
        self.sftp.putfo(io.BytesIO(data), f"{self.base}/{rel}")

    def read(self, rel: str) -> bytes:
        buf = io.BytesIO()
        self.sftp.getfo(f"{self.base}/{rel}", buf)
        return buf.getvalue()

    def exists(self, rel: str) -> bool:
        try:
            self.sftp.stat(f"{self.base}/{rel}")
            return True
        except FileNotFoundError:
            return False

    def list(self, rel: str) -> int:
        return len(self.sftp.listdir_attr(f"{self.base}/{rel}"))


class AsyncSSH:
    """asyncssh's SFTP client (parallel block reads and writes), on a private loop."""

    def __init__(self, e: dict[str, str], base: str) -> None:
        import asyncssh

        self.loop = asyncio.new_event_loop()
        self.base = base

        async def start() -> Any:
            conn = await asyncssh.connect(
                e["HOST"],
                port=int(e["PORT"]),
                username=e["USER"],
                client_keys=[e["KEY"]],
                known_hosts=e["KNOWN_HOSTS"],
                agent_path=None,
            )
            return conn, await conn.start_sftp_client()

        self.conn, self.sftp = self.loop.run_until_complete(start())

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def write(self, rel: str, data: bytes) -> None:
        async def go() -> None:
            async with self.sftp.open(f"{self.base}/{rel}", "wb") as f:
                await f.write(data)

        self._run(go())

    def read(self, rel: str) -> bytes:
        async def go() -> bytes:
            async with self.sftp.open(f"{self.base}/{rel}", "rb") as f:
                data: bytes = await f.read()
                return data

        return self._run(go())  # type: ignore[no-any-return]


class SSHFS:
    """fsspec's SFTP filesystem (sshfs, on asyncssh)."""

    def __init__(self, e: dict[str, str], base: str) -> None:
        from sshfs import SSHFileSystem

        self.fs = SSHFileSystem(
            e["HOST"],
            port=int(e["PORT"]),
            username=e["USER"],
            client_keys=[e["KEY"]],
            known_hosts=e["KNOWN_HOSTS"],
            skip_instance_cache=True,
        )
        self.base = base

    def write(self, rel: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.base}/{rel}", data)

    def read(self, rel: str) -> bytes:
        data: bytes = self.fs.cat_file(f"{self.base}/{rel}")
        return data

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(f"{self.base}/{rel}"))

    def list(self, rel: str) -> int:
        return len(self.fs.ls(f"{self.base}/{rel}", detail=True))


class RemoteStore:
    """remote-store 0.33.0's SFTP backend (paramiko)."""

    def __init__(self, e: dict[str, str], base: str) -> None:
        import paramiko
        from remote_store import Store
        from remote_store.backends import SFTPBackend

        key = paramiko.Ed25519Key.from_private_key_file(e["KEY"])
        backend = SFTPBackend(
            e["HOST"],
            port=int(e["PORT"]),
            username=e["USER"],
            pkey=key,
            base_path=base,
            host_keys_path=e["KNOWN_HOSTS"],
        )
        self.store = Store(backend=backend)

    def write(self, rel: str, data: bytes) -> None:
        self.store.write(rel, data, overwrite=True)

    def read(self, rel: str) -> bytes:
        data: bytes = self.store.read_bytes(rel)
        return data

    def exists(self, rel: str) -> bool:
        return bool(self.store.exists(rel))

    def list(self, rel: str) -> int:
        return sum(1 for _ in self.store.list_files(rel))


class Storeroom:
    def __init__(self, e: dict[str, str], base: str) -> None:
        from storeroom import Store
        from storeroom.backends import SFTPBackend

        backend = SFTPBackend(
            e["HOST"],
            port=int(e["PORT"]),
            username=e["USER"],
            key_filename=e["KEY"],
            base_path=base,
            known_hosts=e["KNOWN_HOSTS"],
        )
        self.store = Store(backend)

    def write(self, rel: str, data: bytes) -> None:
        self.store.write(rel, data, overwrite=True)

    def read(self, rel: str) -> bytes:
        return self.store.read_bytes(rel)

    def exists(self, rel: str) -> bool:
        return self.store.exists(rel)

    def list(self, rel: str) -> int:
        return sum(1 for _ in self.store.list_files(rel))


# -- cases ---------------------------------------------------------------------------------


def variants(contenders: dict[str, Any], op: Callable[[Any], object], needs: str) -> list[Variant]:
    out = []
    for name, c in contenders.items():
        if not hasattr(c, needs):
            continue
        out.append(Variant(name, lambda number, c=c: lambda: op(c)))
    return out


def run_timings(e: dict[str, str], quick: bool) -> list[dict[str, Any]]:
    base = f"{e['BASE_PATH']}/bench-{uuid.uuid4().hex[:8]}"
    setup = Storeroom(e, base)
    contenders: dict[str, Any] = {
        "paramiko": Paramiko(e, base),
        "asyncssh": AsyncSSH(e, base),
        "storeroom": setup,
        "sshfs": SSHFS(e, base),
        "remote-store": RemoteStore(e, base),
    }
    small, big = os.urandom(MiB), os.urandom(16 * MiB)
    setup.store.write("r/1m.bin", small)
    setup.store.write("r/16m.bin", big)
    setup.store.write("w/16m.bin", b"")
    for i in range(1000):
        setup.store.write(f"list/f{i:04}.txt", b"x")
    rounds = 5 if quick else 15
    cases: list[tuple[str, Callable[[Any], object], str, int]] = [
        ("write 16 MiB", lambda c: c.write("w/16m.bin", big), "write", max(3, rounds // 2)),
        ("read 16 MiB", lambda c: c.read("r/16m.bin"), "read", max(3, rounds // 2)),
        ("write 1 MiB", lambda c: c.write("w/1m.bin", small), "write", rounds),
        ("read 1 MiB", lambda c: c.read("r/1m.bin"), "read", rounds),
        ("exists hit", lambda c: c.exists("r/1m.bin"), "exists", rounds),
        ("exists miss", lambda c: c.exists("r/none.bin"), "exists", rounds),
        ("list 1,000 files", lambda c: c.list("list"), "list", rounds),
    ]
    results = []
    try:
        for label, op, needs, n_rounds in cases:
            number = 1 if "16" in label or "list" in label else 20 if "exists" in label else 5
            stats = measure(
                variants(contenders, op, needs), rounds=n_rounds, number=number, warmup_rounds=1
            )
            med = {k: v.median for k, v in stats.items()}
            if "16 MiB" in label:
                base_name = min(("paramiko", "asyncssh"), key=lambda k: med[k])
            else:
                base_name = "paramiko"
            limit = 1.3 if "16 MiB" in label else 1.15
            ratio = med["storeroom"] / med[base_name]
            results.append(
                {
                    "case": label,
                    "us": med,
                    "baseline": base_name,
                    "ratio": ratio,
                    "limit": limit,
                    "ok": ratio <= limit,
                }
            )
            print(
                f"{label:18} "
                + "  ".join(f"{k}={v / 1000:8.2f}ms" for k, v in med.items())
                + f"  storeroom/{base_name}={ratio:.2f} (≤{limit})",
                flush=True,
            )
    finally:
        _rmtree(setup, base)
    return results


def _rmtree(setup: Storeroom, base: str) -> None:
    backend = setup.store.backend
    backend._pool.run(lambda conn: backend._rmtree(conn, base))  # type: ignore[attr-defined]


# -- memory (separate process) -------------------------------------------------------------


def _rss_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def memprobe(total_mib: int) -> dict[str, Any]:
    e = env()
    base = f"{e['BASE_PATH']}/bench-mem-{uuid.uuid4().hex[:8]}"
    s = Storeroom(e, base)
    block = os.urandom(MiB)

    def source(n: int) -> Iterator[bytes]:
        for _ in range(n):
            yield block

    s.store.write("warm.bin", source(8), overwrite=True)  # imports, first connection
    with s.store.read("warm.bin") as r:
        while r.read(MiB):
            pass
    out: dict[str, Any] = {"size_mib": total_mib}
    for phase in ("write", "read"):
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        before = _rss_kib("VmRSS")
        if phase == "write":
            s.store.write("big.bin", source(total_mib), overwrite=True)
        else:
            n = 0
            with s.store.read("big.bin") as r:
                while chunk := r.read(MiB):
                    n += len(chunk)
            assert n == total_mib * MiB
        out[f"{phase}_rss_growth_mib"] = (_rss_kib("VmHWM") - before) / 1024
    _rmtree(s, base)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--markdown")
    ap.add_argument("--memprobe", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--stream-mib", type=int, default=256)
    args = ap.parse_args(argv)
    if args.memprobe:
        print(json.dumps(memprobe(args.memprobe)))
        return 0
    e = env()
    info = machine_info(os.getcwd())
    info["load_start"] = load_average()
    timings = run_timings(e, args.quick)
    probe = subprocess.run(
        [sys.executable, __file__, "--memprobe", str(args.stream_mib)],
        capture_output=True,
        text=True,
        check=True,
    )
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    memory["limit_mib"] = 32
    memory["ok"] = max(memory["write_rss_growth_mib"], memory["read_rss_growth_mib"]) < 32
    print(
        f"stream {args.stream_mib} MiB: RSS growth write {memory['write_rss_growth_mib']:.1f} MiB,"
        f" read {memory['read_rss_growth_mib']:.1f} MiB (< 32)"
    )
    info["load_end"] = load_average()
    report = {"machine": info, "timings": timings, "memory": memory}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    if args.markdown:
        names = ["storeroom", "paramiko", "asyncssh", "sshfs", "remote-store"]
        lines = [
            "| case | " + " | ".join(names) + " | ratio | target |",
            "|---" * (len(names) + 3) + "|",
        ]
        for t in timings:
            cells = [f"{t['us'][n] / 1000:.2f} ms" if n in t["us"] else "—" for n in names]
            lines.append(
                f"| {t['case']} | "
                + " | ".join(cells)
                + f" | {t['ratio']:.2f}x vs {t['baseline']} | ≤ {t['limit']}x |"
            )
        lines.append("")
        lines.append(
            f"Streaming {args.stream_mib} MiB: RSS growth write "
            f"{memory['write_rss_growth_mib']:.1f} MiB, read "
            f"{memory['read_rss_growth_mib']:.1f} MiB (target < 32 MiB)."
        )
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
