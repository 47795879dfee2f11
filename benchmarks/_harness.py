"""Timing engine, result records and report formatting for the benchmarks.

Every timing case runs several contenders (plain Python, storeroom, other
libraries) doing the same operation on the same disk. One *round* times a
sample of each contender in turn; the order rotates from round to round, so a
slow patch of the machine (other processes, disk writeback) hits every
contender alike. A sample is ``number`` back-to-back calls; its time per call
is kept, and the reported figure is the median over all rounds.
"""

from __future__ import annotations

import datetime as _dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Check",
    "Report",
    "TimingCase",
    "Variant",
    "calibrate_number",
    "format_markdown",
    "format_text",
    "load_average",
    "loop_overhead_ns",
    "machine_info",
    "measure",
]

#: Contender order in every table (the first is the baseline for ratios).
BASELINE = "raw"
CONTENDERS = ("raw", "pathlib", "storeroom", "remote-store", "fsspec", "obstore")
COMPARED = ("storeroom", "remote-store", "fsspec", "obstore")

_clock = time.perf_counter_ns


@dataclass
class Variant:
    """One contender of a timing case.

    ``prepare(number)`` runs untimed before each sample and returns the
    zero-argument operation to call ``number`` times (fresh names for
    create-only writes are made there). ``after()`` runs untimed after each
    sample (removing those files, for instance).
    """

    name: str
    prepare: Callable[[int], Callable[[], object]]
    after: Callable[[], None] | None = None


@dataclass
class Stats:
    median: float
    p25: float
    p75: float
    minimum: float
    samples: int
    number: int


@dataclass
class TimingCase:
    """Result of one timing case; times are microseconds per operation."""

    id: str
    label: str
    results: dict[str, Stats] = field(default_factory=dict)
    limit: float | None = None  # target for storeroom/raw
    note: str = ""

    def ratio(self, name: str) -> float | None:
        base = self.results.get(BASELINE)
        mine = self.results.get(name)
        if base is None or mine is None or base.median <= 0:
            return None
        return mine.median / base.median

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "unit": "us/op",
            "results": {k: asdict(v) for k, v in self.results.items()},
            "ratios": {f"{n}/{BASELINE}": self.ratio(n) for n in COMPARED if n in self.results},
            "target": {"metric": f"storeroom/{BASELINE}", "max": self.limit},
            "note": self.note,
        }


@dataclass
class Check:
    """One target: PASS when ``value`` is at or under ``limit`` (or ``ok`` for flags)."""

    name: str
    value: float | None
    limit: float | None
    unit: str
    ok: bool
    detail: str = ""
    op: str = "≤"

    @property
    def status(self) -> str:
        return "PASS" if self.ok else "FAIL"


@dataclass
class Report:
    machine: dict[str, Any]
    settings: dict[str, Any]
    timings: list[TimingCase] = field(default_factory=list)
    imports: dict[str, Any] = field(default_factory=dict)
    memory: list[dict[str, Any]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "settings": self.settings,
            "timings": [c.to_json() for c in self.timings],
            "import": self.imports,
            "memory": self.memory,
            "checks": [asdict(c) | {"status": c.status} for c in self.checks],
            "summary": {
                "passed": sum(c.ok for c in self.checks),
                "failed": sum(not c.ok for c in self.checks),
                "missed": [c.name for c in self.checks if not c.ok],
            },
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2, sort_keys=False)
            f.write("\n")


# -- timing ----------------------------------------------------------------------


def _run(op: Callable[[], object], number: int) -> int:
    """Nanoseconds for ``number`` calls of ``op`` (garbage collector paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        rng = range(number)
        t0 = _clock()
        for _ in rng:
            op()
        return _clock() - t0
    finally:
        if enabled:
            gc.enable()


def loop_overhead_ns(samples: int = 31, number: int = 20000) -> float:
    """Median cost per call of the timing loop around a do-nothing operation."""

    def noop() -> None:
        return None

    return statistics.median(_run(noop, number) / number for _ in range(samples))


def calibrate_number(variants: Sequence[Variant], sample_ns: int, cap: int = 10000) -> int:
    """Calls per sample so that the slowest contender's sample takes about ``sample_ns``."""
    worst = 1.0
    for v in variants:
        op = v.prepare(3)
        _run(op, 1)  # warm up: first call imports, fills caches
        per = _run(op, 2) / 2
        if v.after is not None:
            v.after()
        worst = max(worst, per)
    return max(1, min(cap, round(sample_ns / worst)))


def measure(
    variants: Sequence[Variant],
    *,
    rounds: int,
    number: int,
    warmup_rounds: int = 2,
    overhead_ns: float = 0.0,
) -> dict[str, Stats]:
    """Interleaved samples of every variant; statistics in microseconds per call."""
    samples: dict[str, list[float]] = {v.name: [] for v in variants}
    n = len(variants)
    for r in range(warmup_rounds + rounds):
        for i in range(n):
            v = variants[(r + i) % n]  # rotate the order every round
            op = v.prepare(number)
            ns = _run(op, number)
            if v.after is not None:
                v.after()
            if r >= warmup_rounds:
                samples[v.name].append(max(0.0, ns / number - overhead_ns) / 1000.0)
    out = {}
    for name, values in samples.items():
        q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        out[name] = Stats(
            median=statistics.median(values),
            p25=q[0],
            p75=q[2],
            minimum=min(values),
            samples=len(values),
            number=number,
        )
    return out


# -- machine facts -----------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fs_type(path: str) -> str:
    """Filesystem type of the mount holding ``path`` (Linux only, else "")."""
    try:
        best, kind = "", ""
        real = os.path.realpath(path)
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(
                    best
                ):
                    best, kind = mnt, parts[2]
        return kind
    except OSError:
        return ""


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _git_commit(repo: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the platform has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info(work_dir: str) -> dict[str, Any]:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {
        "load_at_start": load_average(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "filesystem": _fs_type(work_dir),
        "storeroom": _version("storeroom"),
        "storeroom_commit": _git_commit(repo),
        "remote-store": _version("remote-store"),
        "fsspec": _version("fsspec"),
        "executable": sys.executable,
    }


# -- formatting ---------------------------------------------------------------------


def _us(x: float | None) -> str:
    if x is None:
        return "—"
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _ratio(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}x"


def _load(x: list[float] | None) -> str:
    return "?" if not x else "/".join(f"{v:.1f}" for v in x)


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]

    def line(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])]
        out += [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join(out).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _md(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> list[str]:
    sep = ["---" if a == "l" else "---:" for a in align]
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(sep) + "|",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _timing_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = ["case (median µs/op)", *CONTENDERS, *(f"{n}/raw" for n in COMPARED), "target"]
    rows = []
    for c in report.timings:
        cells = [c.label]
        cells += [_us(c.results[n].median) if n in c.results else "—" for n in CONTENDERS]
        cells += [_ratio(c.ratio(n)) for n in COMPARED]
        cells.append(f"≤ {c.limit:g}x" if c.limit is not None else "")
        rows.append(cells)
    return header, rows


def _memory_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = [
        "listing",
        "contender",
        "entries",
        "time (s)",
        "peak traced (MiB)",
        "RSS growth (MiB)",
    ]
    rows = [
        [
            m["label"],
            m["contender"],
            f"{m['count']:,}" if m.get("count") is not None else "—",
            _num(m.get("seconds"), 2),
            _num(m.get("traced_peak_mib"), 2),
            _num(m.get("rss_growth_mib"), 2),
        ]
        for m in report.memory
    ]
    return header, rows


def _import_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    imp = report.imports
    if not imp:
        return ["measure", "value"], []
    rows = [
        ["wall clock: `import storeroom` minus `pass` (median)", f"{_num(imp.get('wall_ms'))} ms"],
        ["  interpreter start alone (median)", f"{_num(imp.get('bare_ms'))} ms"],
        ["CPU time: `import storeroom` minus `pass` (median)", f"{_num(imp.get('cpu_ms'))} ms"],
        ["-X importtime cumulative for storeroom (median)", f"{_num(imp.get('importtime_ms'))} ms"],
        ["modules loaded by `import storeroom`", str(imp.get("module_count", "—"))],
        ["SDKs imported by `import storeroom`", ", ".join(imp.get("sdks_on_import", [])) or "none"],
        [
            "SDKs imported after using a local store",
            ", ".join(imp.get("sdks_after_use", [])) or "none",
        ],
        ["runs", str(imp.get("runs", "—"))],
    ]
    return ["measure", "value"], rows


def _check_rows(report: Report) -> tuple[list[str], list[list[str]]]:
    header = ["target", "measured", "limit", "result"]
    rows = []
    for c in report.checks:
        value = "—" if c.value is None else f"{c.value:.2f}{c.unit}"
        limit = "—" if c.limit is None else f"{c.op} {c.limit:g}{c.unit}"
        rows.append([c.name + (f" ({c.detail})" if c.detail else ""), value, limit, c.status])
    return header, rows


def format_text(report: Report) -> str:
    m = report.machine
    out = [
        f"storeroom benchmarks — {m['date']} — Python {m['python']} — {m['cpu_count']} CPUs "
        f"({m['cpu_model']}) — fs {m['filesystem'] or '?'}",
        f"storeroom {m['storeroom']} ({m['storeroom_commit']}), remote-store {m['remote-store']}, "
        f"fsspec {m['fsspec']}; {report.settings.get('mode')} mode; load average "
        f"{_load(m.get('load_at_start'))} at start, {_load(m.get('load_at_end'))} at end",
        "",
    ]
    if report.timings:
        out += _grid(*_timing_rows(report))
        out += [f"  note on {c.label}: {c.note}" for c in report.timings if c.note]
        out.append("")
    if report.imports:
        out += _grid(*_import_rows(report))
        out.append("")
    if report.memory:
        out += _grid(*_memory_rows(report))
        out.append("")
    if report.checks:
        out += _grid(*_check_rows(report))
        failed = [c.name for c in report.checks if not c.ok]
        out.append("")
        out.append(
            f"summary: {len(report.checks) - len(failed)}/{len(report.checks)} targets met"
            + (f"; missed: {', '.join(failed)}" if failed else "")
        )
    return "\n".join(out)


def format_markdown(report: Report) -> str:
    m = report.machine
    s = report.settings
    out = [
        f"Measured on {m['date']}: {m['cpu_count']} CPUs ({m['cpu_model']}), "
        f"{m['implementation']} {m['python']}, {m['platform']}, filesystem "
        f"{m['filesystem'] or 'unknown'}; storeroom {m['storeroom']} "
        f"(commit {m['storeroom_commit'] or 'unknown'}), remote-store {m['remote-store']}, "
        f"fsspec {m['fsspec']}. {s.get('mode', '').capitalize()} mode: "
        f"{s.get('rounds')} interleaved rounds per case, medians shown. Load average "
        f"{_load(m.get('load_at_start'))} at start, {_load(m.get('load_at_end'))} at end.",
        "",
    ]
    if report.timings:
        header, rows = _timing_rows(report)
        out += _md(header, rows, "l" + "r" * (len(header) - 1))
        notes = [f"- {c.label}: {c.note}" for c in report.timings if c.note]
        if notes:
            out += ["", *notes]
        out.append("")
    if report.imports:
        header, rows = _import_rows(report)
        out += _md(header, [[r[0].strip(), r[1]] for r in rows], "lr")
        out.append("")
    if report.memory:
        header, rows = _memory_rows(report)
        out += _md(header, rows, "llrrrr")
        out.append("")
    if report.checks:
        header, rows = _check_rows(report)
        out += _md(header, rows, "lrrl")
        out.append("")
    return "\n".join(out)
