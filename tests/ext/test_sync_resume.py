"""An interrupted sync resumes: a SIGKILLed run leaves no half file, a re-run copies the rest.

spec: SYNC-021, SYNC-022
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storeroom.backends.local.backend import LocalBackend
from storeroom.ext.sync import apply, plan
from storeroom.store import Store

COUNT = 160
SIZE = 512 * 1024

SCRIPT = """
import sys
from storeroom.backends.local.backend import LocalBackend
from storeroom.ext.progress import CallbackProgress
from storeroom.ext.sync import apply, plan
from storeroom.store import Store

src, dst, direction = sys.argv[1:4]
store = Store(LocalBackend(root=dst))
a, b = (src, store) if direction == "up" else (store, src)
done = CallbackProgress(on_file=lambda r: print("done", r.status, flush=True))
apply(plan(a, b), max_workers=4, progress=done)
print("finished", flush=True)
"""


def content(i: int) -> bytes:
    return bytes([i % 251]) * SIZE


def _kill_midway(args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, *args], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    for seen, line in enumerate(proc.stdout, 1):
        assert line.startswith("done copied"), line
        if seen == COUNT // 4:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def _check_complete(files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        i = int(rel.split("-")[1].split(".")[0])
        assert data == content(i), f"{rel} is a half file"


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_killed_sync_resumes_with_only_the_rest(tmp_path: Path, direction: str) -> None:
    # spec: SYNC-021, SYNC-022
    local = tmp_path / "local"
    disk = tmp_path / "disk"
    seeded = local if direction == "up" else disk
    for i in range(COUNT):
        path = seeded / f"d{i % 4}" / f"f-{i:03}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content(i))
    target = disk if direction == "up" else local
    _kill_midway([str(local), str(disk), direction])
    landed = {
        p.relative_to(target).as_posix(): p.read_bytes()
        for p in target.rglob("f-*.bin")
        if p.name.endswith(".bin")
    }
    assert 0 < len(landed) < COUNT  # killed part-way
    _check_complete(landed)  # nothing half-written under a target name
    store = Store(LocalBackend(root=str(disk)))
    src, dst = (local, store) if direction == "up" else (store, local)
    rest = plan(src, dst, delete=True)
    assert rest.deletes == []  # temporary leftovers are not files to sync or delete
    parts = list(local.rglob("*.part"))
    for part in parts:  # the killed run's temporary files, gone stale
        os.utime(part, (0, 0))
    assert {a.path for a in rest} == {f"d{i % 4}/f-{i:03}.bin" for i in range(COUNT)} - set(landed)
    report = apply(rest)
    assert report.ok and len(report.copied) == COUNT - len(landed)
    assert len(plan(src, dst)) == 0
    assert not any(p.exists() for p in parts)  # swept by the re-run
    final = {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("f-*.bin")}
    assert len(final) == COUNT
    _check_complete(final)
