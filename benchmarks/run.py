"""storeroom's benchmarks: the local and memory backends side by side with plain
Python, remote-store, fsspec and obstore, in one run.

    python benchmarks/run.py [--quick] [--json out.json] [--markdown out.md] [--check]

Prints a table of median microseconds per call and the ratios to plain
Python, the ``import storeroom`` cost, the memory of a 100,000-file listing,
and PASS/FAIL against the targets. Exit status is 0 unless ``--check`` is
given and a target is missed. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # run as a script, this is already sys.path[0]
    sys.path.insert(0, _HERE)

from _harness import (  # noqa: E402
    COMPARED,
    Check,
    Report,
    format_markdown,
    format_text,
    load_average,
    loop_overhead_ns,
    machine_info,
)
from cases_import import run_import_case  # noqa: E402
from cases_local import CASE_IDS as LOCAL_IDS  # noqa: E402
from cases_local import LocalFixture, Sizes, run_timing_cases  # noqa: E402
from cases_membackend import (  # noqa: E402
    MEM_CASE_IDS,
    MemoryFixture,
    run_memory_backend_cases,
)
from cases_memory import run_memory_cases  # noqa: E402

#: Targets (storeroom against plain Python unless said otherwise).
IMPORT_LIMIT_MS = 60.0
LISTING_LIMIT_MIB = 20.0
CASE_IDS = (*LOCAL_IDS, *MEM_CASE_IDS)
ALL_CASES = (*CASE_IDS, "import", "memory")

MODES = {
    "full": {"rounds": 101, "sample_ms": 5.0, "import_runs": 20},
    "quick": {"rounds": 15, "sample_ms": 2.0, "import_runs": 10},
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="benchmarks/run.py",
        description="Benchmark storeroom's local and memory backends against plain Python, "
        "remote-store, fsspec and obstore.",
    )
    p.add_argument("--quick", action="store_true", help="fewer repeats: a smoke run")
    p.add_argument("--json", metavar="PATH", help="write every number as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write Markdown tables for the docs")
    p.add_argument("--check", action="store_true", help="exit non-zero when a target is missed")
    p.add_argument(
        "--tree-dir",
        default=os.path.join(tempfile.gettempdir(), "storeroom-bench-tree"),
        help="where the 100,000-file trees are built and cached between runs "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--work-dir",
        help="parent of the temporary folder for the timing cases (default: the system "
        "temporary folder); removed afterwards",
    )
    p.add_argument("--only", help=f"comma-separated subset of: {', '.join(ALL_CASES)}")
    p.add_argument("--rounds", type=int, help="interleaved rounds per timing case")
    p.add_argument("--sample-ms", type=float, help="target duration of one timed sample")
    p.add_argument("--import-runs", type=int, help="subprocess runs for the import case (>= 10)")
    p.add_argument("--file-size", type=int, default=1024 * 1024, help="bytes (default 1 MiB)")
    p.add_argument("--list-count", type=int, default=1000, help="files in the listed folder")
    p.add_argument("--tree-folders", type=int, default=100, help="folders of the nested tree")
    p.add_argument("--tree-files", type=int, default=1000, help="files per folder (nested)")
    p.add_argument("--flat-files", type=int, default=100_000, help="files of the flat folder")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    mode = MODES["quick" if args.quick else "full"]
    args.mode = "quick" if args.quick else "full"
    args.rounds = args.rounds or mode["rounds"]
    args.sample_ms = args.sample_ms or mode["sample_ms"]
    args.import_runs = args.import_runs or mode["import_runs"]
    if args.only:
        wanted = {s.strip() for s in args.only.split(",") if s.strip()}
        unknown = wanted - set(ALL_CASES)
        if unknown:
            p.error(f"unknown case(s) {', '.join(sorted(unknown))}; known: {', '.join(ALL_CASES)}")
        args.only = wanted
    return args


def _checks(report: Report) -> list[Check]:
    checks = []
    for case in report.timings:
        for base in case.baselines if case.limit is not None else ():
            ratio = case.ratio("storeroom", base)
            checks.append(
                Check(
                    f"{case.label}: storeroom/{base}",
                    ratio,
                    case.limit,
                    "x",
                    ratio is not None and ratio <= case.limit,
                )
            )
        if case.limit_us is not None:
            mine = case.results.get("storeroom")
            us = mine.median if mine is not None else None
            checks.append(
                Check(
                    f"{case.label}: storeroom",
                    us,
                    case.limit_us,
                    " µs",
                    us is not None and us < case.limit_us,
                    op="<",
                )
            )
    imp = report.imports
    if imp:
        wall = imp.get("wall_ms")
        checks.append(
            Check(
                "import storeroom (wall clock over bare interpreter)",
                wall,
                IMPORT_LIMIT_MS,
                " ms",
                wall is not None and wall <= IMPORT_LIMIT_MS,
            )
        )
        for key, what in (
            ("sdks_on_import", "no SDK loaded by import storeroom"),
            ("sdks_after_use", "no SDK loaded by using a local store"),
        ):
            found = imp.get(key, [])
            checks.append(Check(what, None, None, "", not found, ", ".join(found)))
    for m in report.memory:
        if m.get("contender") != "storeroom" or m.get("layout") != "nested":
            continue
        name = f"list_files {m['label']}"
        if "error" in m:
            checks.append(Check(name, None, LISTING_LIMIT_MIB, " MiB", False, m["error"][:200]))
            continue
        for key, what in (("traced_peak_mib", "peak traced"), ("rss_growth_mib", "RSS growth")):
            value = m[key]
            checks.append(
                Check(
                    f"{name}: {what}",
                    value,
                    LISTING_LIMIT_MIB,
                    " MiB",
                    value < LISTING_LIMIT_MIB,
                    op="<",
                )
            )
    return checks


def run(args: argparse.Namespace) -> Report:
    """Run the selected cases and return the report (checks included)."""

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    only: set[str] | None = args.only
    work = tempfile.mkdtemp(prefix="storeroom-bench-", dir=args.work_dir)
    try:
        report = Report(
            machine=machine_info(work),
            settings={
                "mode": args.mode,
                "rounds": args.rounds,
                "sample_ms": args.sample_ms,
                "import_runs": args.import_runs,
                "file_size": args.file_size,
                "list_count": args.list_count,
                "tree": [args.tree_folders, args.tree_files],
                "flat_files": args.flat_files,
                "work_dir": work,
                "tree_dir": args.tree_dir,
                "contenders_compared": list(COMPARED),
            },
        )
        timing_ids = set(CASE_IDS) if only is None else only & set(CASE_IDS)
        overhead = 0.0
        if timing_ids:
            overhead = loop_overhead_ns()
            report.settings["loop_overhead_ns_subtracted"] = round(overhead, 1)
            log(f"timing cases (loop overhead {overhead:.0f} ns/call subtracted)")
        if timing_ids & set(LOCAL_IDS):
            fixture = LocalFixture(work, Sizes(args.file_size, args.list_count))
            try:
                fixture.verify()
                report.timings = run_timing_cases(
                    fixture,
                    rounds=args.rounds,
                    sample_ns=int(args.sample_ms * 1e6),
                    overhead_ns=overhead,
                    only=timing_ids,
                    log=log,
                )
            finally:
                fixture.close()
        if timing_ids & set(MEM_CASE_IDS):
            log("memory backend cases")
            mem = MemoryFixture(args.file_size, args.list_count)
            try:
                mem.verify()
                report.timings += run_memory_backend_cases(
                    mem,
                    rounds=args.rounds,
                    sample_ns=int(args.sample_ms * 1e6),
                    overhead_ns=overhead,
                    only=timing_ids,
                    log=log,
                )
            finally:
                mem.close()
        if only is None or "import" in only:
            log("import case")
            report.imports = run_import_case(runs=args.import_runs, log=log)
        if only is None or "memory" in only:
            log(f"memory cases (trees cached in {args.tree_dir})")
            report.memory = run_memory_cases(
                args.tree_dir,
                folders=args.tree_folders,
                files=args.tree_files,
                flat_files=args.flat_files,
                log=log,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.machine["load_at_end"] = load_average()
    report.checks = _checks(report)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(format_text(report))
    if args.json:
        report.write_json(args.json)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(format_markdown(report))
    failed = [c for c in report.checks if not c.ok]
    errors: list[Any] = [m for m in report.memory if "error" in m]
    for m in errors:
        print(f"memory probe {m['contender']} ({m['label']}) failed: {m['error']}", file=sys.stderr)
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
