"""``import storeroom``: its cost, and proof that it loads no cloud SDK.

Everything runs in fresh interpreters (``sys.executable``), so nothing this
process has imported already can hide a cost.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SDKS", "run_import_case"]

#: Top-level packages that ``import storeroom`` (and using a local store) must not load.
SDKS = (
    "boto3",
    "botocore",
    "s3fs",
    "aiobotocore",
    "paramiko",
    "azure",
    "sqlalchemy",
    "pyarrow",
    "fsspec",
    "dagster",
    "opentelemetry",
    "rich",
    "yaml",
    "pydantic",
)

# Runs in a fresh interpreter; prints one JSON line. Only stdlib before the
# first snapshot, so the module counts belong to storeroom.
_PROBE = r"""
import sys
SDKS = {sdks!r}
def sdk_modules():
    return sorted(m for m in list(sys.modules)
                  if any(m == s or m.startswith(s + ".") or m.startswith(s + "_") for s in SDKS))
before = set(sys.modules)
import storeroom
on_import = sdk_modules()
new_modules = sorted(set(sys.modules) - before)
import tempfile
with tempfile.TemporaryDirectory() as tmp:
    config = storeroom.RegistryConfig.from_dict({{
        "backends": {{"disk": {{"type": "local", "options": {{"root": tmp}}}}}},
        "stores": {{"s": {{"backend": "disk", "root_path": "sub"}}}},
    }})
    with storeroom.Registry(config) as registry:
        store = registry.get_store("s")
        store.write("a/b.txt", b"x")
        store.write("a/b.txt", b"y", overwrite=True)
        assert store.read_bytes("a/b.txt") == b"y"
        assert store.exists("a/b.txt")
        assert len(list(store.list_files("", recursive=True))) == 1
after_use = sdk_modules()
import json
print(json.dumps({{"on_import": on_import, "after_use": after_use, "new_modules": new_modules}}))
"""


def _env(cwd: str) -> dict[str, str]:
    """Environment for the child interpreters: bytecode cached, as for installed packages.

    Compiled bytecode goes to a private cache folder (``PYTHONPYCACHEPREFIX``),
    so nothing is written into the source tree and a ``PYTHONDONTWRITEBYTECODE``
    in the caller's environment does not turn every run into a compile.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cwd, "pycache")
    return env


def _timed(cmd: list[str], cwd: str) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one child interpreter."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        cmd,
        cwd=cwd,
        env=_env(cwd),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = (time.perf_counter() - t0) * 1000.0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000.0
    return wall, cpu


def _importtime(exe: str, cwd: str) -> tuple[float | None, list[tuple[str, float, float]]]:
    """Cumulative ms of the ``storeroom`` import, and every module line (name, self, cum)."""
    proc = subprocess.run(
        [exe, "-X", "importtime", "-c", "import storeroom"],
        cwd=cwd,
        env=_env(cwd),
        check=True,
        capture_output=True,
        text=True,
    )
    total = None
    lines = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line[len("import time:") :].split("|")
        try:
            self_us, cum_us = float(parts[0]), float(parts[1])
        except ValueError:
            continue  # the header line
        name = parts[2].strip()
        lines.append((name, self_us / 1000.0, cum_us / 1000.0))
        if name == "storeroom":
            total = cum_us / 1000.0
    return total, lines


def run_import_case(*, runs: int, log: Callable[[str], Any] = print) -> dict[str, Any]:
    """Median cost of ``import storeroom`` over ``runs`` interleaved iterations.

    Each iteration runs ``import storeroom``, ``pass`` and ``-X importtime``
    in a rotating order, so the three measures see the same machine load.
    """
    exe = sys.executable
    runs = max(1, runs)
    with tempfile.TemporaryDirectory() as cwd:  # away from any source tree
        imp_cmd, bare_cmd = [exe, "-c", "import storeroom"], [exe, "-c", "pass"]
        for _ in range(2):  # compile and cache the bytecode, warm the OS caches
            _timed(imp_cmd, cwd)
            _timed(bare_cmd, cwd)
            _importtime(exe, cwd)
        imp: list[tuple[float, float]] = []
        bare: list[tuple[float, float]] = []
        cum: list[float] = []
        last_lines: list[tuple[str, float, float]] = []
        for i in range(runs):
            for step in (i + k for k in range(3)):
                kind = step % 3
                if kind == 0:
                    imp.append(_timed(imp_cmd, cwd))
                elif kind == 1:
                    bare.append(_timed(bare_cmd, cwd))
                else:
                    total, lines = _importtime(exe, cwd)
                    if total is not None:
                        cum.append(total)
                        last_lines = lines
        log(f"  import: {runs} interleaved runs each of import, pass and -X importtime")

        probe = subprocess.run(
            [exe, "-c", _PROBE.format(sdks=SDKS)],
            cwd=cwd,
            env=_env(cwd),
            check=True,
            capture_output=True,
            text=True,
        )
        seen = json.loads(probe.stdout.strip().splitlines()[-1])

    def med(values: list[tuple[float, float]], i: int) -> float:
        return statistics.median(v[i] for v in values)

    # The slowest modules under storeroom's import, by cumulative time (last run).
    top = sorted(last_lines, key=lambda ln: ln[2], reverse=True)[:15]
    return {
        "runs": runs,
        "wall_ms": med(imp, 0) - med(bare, 0),
        "cpu_ms": med(imp, 1) - med(bare, 1),
        "import_ms": med(imp, 0),
        "bare_ms": med(bare, 0),
        "import_wall_min_ms": min(v[0] for v in imp),
        "bare_wall_min_ms": min(v[0] for v in bare),
        "importtime_ms": statistics.median(cum) if cum else None,
        "importtime_top": [
            {"module": n, "self_ms": round(s, 3), "cumulative_ms": round(c, 3)} for n, s, c in top
        ],
        "module_count": len(seen["new_modules"]),
        "new_modules": seen["new_modules"],
        "sdks_on_import": seen["on_import"],
        "sdks_after_use": seen["after_use"],
        "bytecode": "cached in a private PYTHONPYCACHEPREFIX, warmed before timing",
    }
