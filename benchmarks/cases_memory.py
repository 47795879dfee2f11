"""Memory of a large recursive listing, each contender in a fresh process.

Two trees are built once and cached under ``--tree-dir`` (a stamp file next
to each tree marks it complete): a nested one (``folders`` folders of
``files`` empty files each) and a flat one (all files in one folder). A
streaming listing of the nested tree needs memory for one folder at a time;
a flat folder's names have to be held to be sorted, so its peak grows with
the folder size, for every contender that sorts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["MEMORY_CONTENDERS", "ensure_tree", "run_memory_cases"]

MEMORY_CONTENDERS = ("raw", "storeroom", "remote-store", "fsspec")
_PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_memprobe.py")


def ensure_tree(tree_dir: str, folders: int, files: int, *, flat: bool) -> str:
    """Build (or reuse) a tree; return its folder name inside ``tree_dir``."""
    name = f"flat-{folders * files}" if flat else f"nested-{folders}x{files}"
    top = os.path.join(tree_dir, name)
    stamp = top + ".complete"
    if os.path.exists(stamp):
        return name
    if os.path.exists(top):
        shutil.rmtree(top)
    os.makedirs(top)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    if flat:
        width = len(str(folders * files))
        for i in range(folders * files):
            os.close(os.open(os.path.join(top, f"f{i:0{width}d}"), flags, 0o644))
    else:
        for d in range(folders):
            sub = os.path.join(top, f"d{d:04d}")
            os.mkdir(sub)
            for i in range(files):
                os.close(os.open(os.path.join(sub, f"f{i:05d}"), flags, 0o644))
    with open(stamp, "w", encoding="ascii") as f:
        f.write(f"{folders * files}\n")
    return name


def _warm(path: str) -> None:
    """Fill the OS's directory caches so the first contender is not penalised."""
    for _root, _dirs, files in os.walk(path):
        for _ in files:
            pass


def _probe(contender: str, tree_dir: str, folder: str, warmup: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, _PROBE, contender, tree_dir, folder, warmup],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return {"contender": contender, "error": proc.stderr.strip()[-2000:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_memory_cases(
    tree_dir: str,
    *,
    folders: int,
    files: int,
    flat_files: int,
    contenders: tuple[str, ...] = MEMORY_CONTENDERS,
    log: Callable[[str], Any] = print,
) -> list[dict[str, Any]]:
    os.makedirs(tree_dir, exist_ok=True)
    warmup = ensure_tree(tree_dir, 2, 3, flat=False)
    layouts = [
        (
            "nested",
            f"recursive, {folders:,} folders x {files:,} files",
            ensure_tree(tree_dir, folders, files, flat=False),
            folders * files,
        ),
        (
            "flat",
            f"recursive, 1 folder x {flat_files:,} files",
            ensure_tree(tree_dir, 1, flat_files, flat=True),
            flat_files,
        ),
    ]
    out = []
    for layout, label, folder, expected in layouts:
        _warm(os.path.join(tree_dir, folder))
        for contender in contenders:
            log(f"  {label}: {contender}")
            res = _probe(contender, tree_dir, folder, warmup)
            res.update(layout=layout, label=label, expected=expected)
            if "error" not in res and res["count"] != expected:
                res["error"] = f"listed {res['count']} entries, expected {expected}"
            out.append(res)
    return out
