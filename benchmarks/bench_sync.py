"""Plan-only sync of 10,000 unchanged small local files: storeroom vs ``rclone sync --dry-run``.

Two local folders hold the same 10,000 files of 100 bytes (100 folders of
100), with the same modification times (the copy is made with
``shutil.copy2``), so neither tool finds anything to do. Timed, alternating
run by run so a slow patch of the machine hits both alike:

- ``storeroom``: ``storeroom.ext.sync.plan(src, dst)`` in this process (the
  library's plan: both listings and the size/time comparison);
- ``storeroom (process)``: the same in a fresh ``python -c`` (interpreter
  start and ``import storeroom`` included), for reference;
- ``rclone``: ``rclone sync --dry-run src dst`` (a fresh process, as a user runs it).

Target: storeroom's plan takes at most 1.5x rclone's time (median).
``rclone`` comes from the Debian package ``rclone``; without it the script
says so and measures storeroom alone.

    python benchmarks/bench_sync.py [--quick] [--files N] [--json PATH] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _harness import load_average, machine_info  # noqa: E402

from storeroom.ext.sync import plan  # noqa: E402

TARGET = 1.5
PER_FOLDER = 100


def build(root: Path, count: int) -> tuple[Path, Path]:
    """Source and destination trees of ``count`` files, equal in size and time (cached)."""
    src, dst = root / f"src-{count}", root / f"dst-{count}"
    ready = root / f"ready-{count}"
    if ready.exists():
        return src, dst
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(dst, ignore_errors=True)
    for i in range(count):
        folder = src / f"d{i // PER_FOLDER:03}"
        if i % PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"f{i:05}.txt").write_bytes(f"{i:099d}\n".encode())
    shutil.copytree(src, dst, copy_function=shutil.copy2)
    ready.touch()
    return src, dst


def time_library(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    p = plan(src, dst)
    seconds = time.perf_counter() - started
    assert len(p) == 0, f"expected nothing to do, got {p.summary()}"
    return seconds


_CHILD = (
    "import sys; from storeroom.ext.sync import plan; "
    "p = plan(sys.argv[1], sys.argv[2]); assert len(p) == 0, p.summary()"
)


def time_process(src: Path, dst: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _CHILD, str(src), str(dst)], check=True)
    return time.perf_counter() - started


def time_rclone(rclone: str, src: Path, dst: Path) -> float:
    cmd = [rclone, "--config", os.devnull, "sync", "--dry-run", str(src), str(dst)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench_sync: rclone failed: {done.stderr.strip()}")
    if "Skipped" in done.stderr:  # dry-run notices name every file it would change
        raise SystemExit(f"bench_sync: rclone found work to do: {done.stderr[:300]}")
    return seconds


def run(count: int, rounds: int, tree_dir: Path) -> dict[str, Any]:
    src, dst = build(tree_dir, count)
    rclone = shutil.which("rclone")
    contenders: dict[str, Any] = {
        "storeroom": lambda: time_library(src, dst),
        "storeroom (process)": lambda: time_process(src, dst),
    }
    if rclone is not None:
        contenders["rclone"] = lambda: time_rclone(rclone, src, dst)
    for fn in contenders.values():  # warm the page cache and the interpreter
        fn()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(contenders[name]())
    medians = {name: statistics.median(s) for name, s in samples.items()}
    result: dict[str, Any] = {
        "files": count,
        "rounds": rounds,
        "rclone": rclone,
        "median_s": medians,
        "quartiles_s": {
            n: statistics.quantiles(s, n=4) if len(s) > 1 else s * 3 for n, s in samples.items()
        },
        "checks": [],
    }
    if rclone is not None:
        ratio = medians["storeroom"] / medians["rclone"]
        result["ratio"] = ratio
        result["ratio_process"] = medians["storeroom (process)"] / medians["rclone"]
        result["checks"].append(
            {"name": "plan vs rclone sync --dry-run", "value": ratio, "limit": TARGET}
        )
    return result


def format_text(result: dict[str, Any], machine: dict[str, Any]) -> str:
    out = [
        f"plan-only sync of {result['files']:,} unchanged local files (local -> local) — "
        f"Python {machine['python']} — {machine['cpu_count']} CPUs — "
        f"load {machine['load_at_start']} -> {load_average()}; {result['rounds']} rounds",
        "",
        f"{'contender':<22} {'median ms':>10} {'p25 ms':>8} {'p75 ms':>8}",
    ]
    for name, median in result["median_s"].items():
        q = result["quartiles_s"][name]
        out.append(f"{name:<22} {median * 1e3:>10.1f} {q[0] * 1e3:>8.1f} {q[2] * 1e3:>8.1f}")
    out.append("")
    if result["rclone"] is None:
        out.append("rclone not installed: install the Debian package rclone to compare (SKIP)")
        return "\n".join(out)
    out.append(f"storeroom (process) / rclone: {result['ratio_process']:.2f}x (for reference)")
    for c in result["checks"]:
        status = "PASS" if c["value"] <= c["limit"] else "FAIL"
        out.append(f"{status}  {c['name']}: {c['value']:.2f}x (target ≤ {c['limit']:g}x)")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--rounds", type=int, help="override the number of rounds")
    parser.add_argument("--files", type=int, default=10_000, help="files in the tree")
    parser.add_argument(
        "--tree-dir", default="/tmp/storeroom-bench-sync", help="where the trees are cached"
    )
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    machine = machine_info(_HERE)
    rounds = args.rounds or (5 if args.quick else 21)
    result = run(args.files, rounds, Path(args.tree_dir))
    print(format_text(result, machine))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, **result}, f, indent=2)
    missed = any(c["value"] > c["limit"] for c in result["checks"])
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
