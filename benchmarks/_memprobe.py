"""Memory probe: run ONE recursive listing in this fresh process and print JSON.

Usage: ``python _memprobe.py CONTENDER BACKEND_ROOT FOLDER WARMUP_FOLDER``

The listing runs twice. Pass 1 (no tracing) measures time and RSS growth:
the peak resident size (``VmHWM``, reset just before the listing through
``/proc/self/clear_refs``) minus the resident size just before. Pass 2 runs
under ``tracemalloc`` and reports the peak of Python allocations above the
level at its start. Both baselines are taken after a first listing of the
small ``WARMUP_FOLDER`` through a client of the same kind, so imports and
first-use caches do not count, and no memory freed by a warm-up of the big
folder itself can be reused unseen.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

MiB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0). False when not possible."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = _status_kib("VmHWM"), _status_kib("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 64


def _raw_walk(top: str, rel: str = "") -> Iterator[tuple[str, int, float]]:
    """Plain-Python streaming recursive listing, sorted like storeroom's."""
    with os.scandir(top) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        path = f"{rel}/{e.name}" if rel else e.name
        if e.is_dir(follow_symlinks=False):
            yield from _raw_walk(e.path, path)
        else:
            st = e.stat()
            yield (path, st.st_size, st.st_mtime)


def _lister(contender: str, backend_root: str, folder: str) -> Callable[[], Iterator[Any]]:
    config = {
        "backends": {"disk": {"type": "local", "options": {"root": backend_root}}},
        "stores": {"tree": {"backend": "disk", "root_path": folder}},
    }
    if contender == "storeroom":
        import storeroom

        store = storeroom.Registry(storeroom.RegistryConfig.from_dict(config)).get_store("tree")
        return lambda: store.list_files("", recursive=True)
    if contender == "remote-store":
        import remote_store

        rstore = remote_store.Registry(remote_store.RegistryConfig.from_dict(config)).get_store(
            "tree"
        )
        return lambda: rstore.list_files("", recursive=True)
    if contender == "raw":
        top = os.path.join(backend_root, folder)
        return lambda: _raw_walk(top)
    if contender == "fsspec":
        from fsspec.implementations.local import LocalFileSystem

        fs = LocalFileSystem()
        top = os.path.join(backend_root, folder)

        def walk() -> Iterator[Any]:
            for _root, _dirs, files in fs.walk(top, detail=True):
                yield from files.values()

        return walk
    raise SystemExit(f"unknown contender {contender!r}")


def _count(it: Iterator[Any]) -> int:
    n = 0
    for _ in it:
        n += 1
    return n


def main(argv: list[str]) -> int:
    contender, backend_root, folder, warmup = argv
    warm = _count(_lister(contender, backend_root, warmup)())  # imports, first-use caches
    listing = _lister(contender, backend_root, folder)
    gc.collect()

    # Pass 1: time and resident memory.
    rss0 = _status_kib("VmRSS")
    exact = _reset_peak()
    maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    count = _count(listing())
    seconds = time.perf_counter() - t0
    if exact and rss0 is not None:
        hwm = _status_kib("VmHWM") or 0
        rss_growth = max(0, hwm - rss0) / 1024
        method = "VmHWM after clear_refs - VmRSS before"
    else:  # peak since start; fine as long as the listing is the largest peak
        maxrss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rss_growth = max(0, maxrss1 - maxrss0) / 1024
        method = "ru_maxrss after - before"
    gc.collect()

    # Pass 2: Python allocations.
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    count2 = _count(listing())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(
        json.dumps(
            {
                "contender": contender,
                "count": count,
                "warmup_count": warm,
                "count_traced": count2,
                "seconds": seconds,
                "rss_growth_mib": rss_growth,
                "rss_method": method,
                "traced_peak_mib": max(0, peak - base) / MiB,
                "rss_baseline_mib": (rss0 or 0) / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
