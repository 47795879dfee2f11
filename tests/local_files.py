"""Local folders in tests: build one from a dict, read one back, move a file's time."""

from __future__ import annotations

import os
from pathlib import Path


def tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> content) under ``root``; returns ``root``."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative POSIX path -> content, sorted."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def age(path: Path, seconds: float) -> None:
    """Move a file's modification time by ``seconds`` (negative: into the past)."""
    t = path.stat().st_mtime + seconds
    os.utime(path, (t, t))
