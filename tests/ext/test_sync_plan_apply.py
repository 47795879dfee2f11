"""``storeroom.ext.sync``: plan and apply (spec SYNC-001..050)."""

from __future__ import annotations

import json
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from local_files import age, snapshot, tree
from storeroom.backends.local.backend import LocalBackend
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import InvalidArgument, InvalidPath, NotFound
from storeroom.ext.progress import CallbackProgress
from storeroom.ext.sync import DIGEST_KEY, SyncPlan, apply, plan
from storeroom.layers.observe import ObserveEvent, ObserveLayer
from storeroom.layers.readonly import ReadOnlyLayer
from storeroom.store import Store

FILES = {"a.txt": b"aaa", "d/b.txt": b"bbbb", "d/e/c.txt": b"c"}


def stored(store: Store, folder: str = "") -> dict[str, bytes]:
    cut = len(folder) + 1 if folder else 0
    return {
        str(i.path)[cut:]: store.read_bytes(str(i.path))
        for i in store.list_files(folder, recursive=True)
    }


def test_plan_then_apply_then_nothing_left(tmp_path: Path) -> None:
    # spec: SYNC-001, SYNC-002, SYNC-020
    src = tree(tmp_path / "src", FILES)
    mem = Store(MemoryBackend(), name="mem")
    p = plan(src, (mem, "out"))
    assert [(a.path, a.action, a.reason) for a in p] == [
        ("a.txt", "copy", "missing"),
        ("d/b.txt", "copy", "missing"),
        ("d/e/c.txt", "copy", "missing"),
    ]
    assert p.bytes == 8 and len(p.copies) == 3 and p.updates == [] and p.deletes == []
    assert "copy d/b.txt (4 bytes, missing)" in str(p)
    assert str(p).endswith("3 to copy, 0 to update (8 bytes), 0 to delete, 0 unchanged")
    assert stored(mem) == {}  # planning changes nothing
    report = apply(p)
    assert report.ok and len(report.copied) == 3 and report.bytes == 8
    assert stored(mem, "out") == FILES
    again = plan(src, (mem, "out"))
    assert len(again) == 0 and again.unchanged == 3
    back = plan((mem, "out"), tmp_path / "back")  # store -> missing local folder
    assert apply(back).ok and snapshot(tmp_path / "back") == FILES
    assert len(plan((mem, "out"), tmp_path / "back")) == 0
    local = plan(src, tmp_path / "mirror")  # two local folders
    assert apply(local).ok and snapshot(tmp_path / "mirror") == FILES
    assert len(plan(src, tmp_path / "mirror")) == 0


def test_plans_round_trip_through_json(tmp_path: Path) -> None:
    # spec: SYNC-011
    src = tree(tmp_path / "src", FILES)
    mem = Store(MemoryBackend(), name="mem")
    p = plan(src, (mem, "out"), delete=True)
    doc = json.loads(p.to_json())
    assert doc["src"] == {"local": str(src)} and doc["dst"] == {"store": "mem", "folder": "out"}
    assert doc["bytes"] == 8 and len(doc["actions"]) == 3
    with pytest.raises(InvalidArgument, match="pass it again"):
        SyncPlan.from_json(p.to_json())
    with pytest.raises(InvalidArgument, match="not a storeroom sync plan"):
        SyncPlan.from_json('{"version": 99}', dst=mem)
    restored = SyncPlan.from_json(p.to_json(), dst=(mem, "out"))
    assert restored.actions == p.actions and restored.delete
    assert apply(restored).ok and stored(mem, "out") == FILES


def test_size_time_and_etag_comparisons(tmp_path: Path) -> None:
    # spec: SYNC-003, SYNC-004
    src = tree(tmp_path / "src", FILES)
    disk = Store(LocalBackend(root=str(tmp_path / "disk")))
    assert apply(plan(src, disk)).ok
    (src / "a.txt").write_bytes(b"longer")
    (src / "d/b.txt").write_bytes(b"BBBB")  # same size, modified after the copy
    age(src / "d/b.txt", 100)
    (src / "d/e/c.txt").write_bytes(b"C")  # same size, older than the copy: kept
    age(src / "d/e/c.txt", -100)
    p = plan(src, disk)
    assert {(a.path, a.action, a.reason) for a in p} == {
        ("a.txt", "update", "size"),
        ("d/b.txt", "update", "newer"),
    }
    assert p.unchanged == 1
    checked = plan(src, disk, compare="checksum")
    assert {(a.path, a.reason) for a in checked} == {
        ("a.txt", "size"),
        ("d/b.txt", "checksum"),
        ("d/e/c.txt", "checksum"),
    }
    assert apply(checked).ok and len(plan(src, disk, compare="checksum")) == 0
    # etag: same-size files whose etags differ are copied whatever their times
    one, two = Store(MemoryBackend()), Store(MemoryBackend())
    one.write("f", b"v1")
    assert apply(plan(one, two)).ok
    two.write("f", b"v2", overwrite=True)  # the destination changed after the copy
    assert len(plan(one, two)) == 0  # newer destination: size-mtime keeps it
    assert [(a.path, a.reason) for a in plan(one, two, compare="etag")] == [("f", "etag")]


def test_delete_include_exclude(tmp_path: Path) -> None:
    # spec: SYNC-006, SYNC-007
    src = tree(tmp_path / "src", {**FILES, "skip.log": b"l"})
    mem = Store(MemoryBackend())
    mem.write("old.txt", b"o")
    mem.write("keep.log", b"k")
    p = plan(src, mem, delete=True, exclude="*.log")
    assert [a.path for a in p.deletes] == ["old.txt"]  # filters apply to both sides
    assert "skip.log" not in {a.path for a in p}
    assert apply(p).ok
    assert set(stored(mem)) == {"a.txt", "d/b.txt", "d/e/c.txt", "keep.log"}
    only = plan(src, Store(MemoryBackend()), include=["d/**"], exclude=lambda rel: "e/" in rel)
    assert [a.path for a in only] == ["d/b.txt"]
    assert [a.path for a in plan(src, Store(MemoryBackend()), include="c.txt")] == ["d/e/c.txt"]


def test_no_delete_after_a_failed_copy_and_dry_run(tmp_path: Path) -> None:
    # spec: SYNC-010, SYNC-024
    src = tree(tmp_path / "src", FILES)
    inner = MemoryBackend()
    Store(inner).write("extra", b"e")
    ro = Store(ReadOnlyLayer(inner))
    p = plan(src, ro, delete=True)
    dry = apply(p, dry_run=True)
    assert dry.dry_run and len(dry.copied) == 3 and [o.path for o in dry.deleted] == ["extra"]
    assert "would copy" in str(dry)
    report = apply(p)
    assert not report.ok and len(report.failed) == 3 and report.deleted == []
    assert Store(inner).is_file("extra")
    with pytest.raises(Exception, match="3 failed") as info:
        report.raise_on_error()
    assert type(info.value).__name__ == "PartialFailure"


def test_bad_arguments_are_typed_errors(tmp_path: Path) -> None:
    # spec: SYNC-005, SYNC-008
    mem = Store(MemoryBackend())
    mem.write("a/f", b"f")
    with pytest.raises(InvalidArgument, match="compare must be one of"):
        plan(mem, tmp_path, compare="md5")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="overlap"):
        plan(mem, (mem, "a/b"))
    with pytest.raises(InvalidArgument, match="overlap"):
        plan(tmp_path, tmp_path / "x")
    with pytest.raises(InvalidArgument, match="expected a Store"):
        plan(42, mem)
    with pytest.raises(NotFound):
        plan(tmp_path / "nowhere", mem)
    with pytest.raises(NotFound):
        plan((mem, "nowhere"), tmp_path / "x")
    with pytest.raises(InvalidPath, match="is a file"):
        plan((mem, "a/f"), tmp_path / "x")


def _reads(events: list[ObserveEvent]) -> int:
    return sum(1 for e in events if e.operation == "open_read")


def test_checksum_digests_are_kept_as_metadata_so_unchanged_files_are_not_read(
    tmp_path: Path,
) -> None:
    # spec: SYNC-040, SYNC-041, SYNC-042
    src = tree(tmp_path / "src", FILES)
    a_events: list[ObserveEvent] = []
    b_events: list[ObserveEvent] = []
    a = Store(ObserveLayer(MemoryBackend(), log=False, sinks=[a_events.append]))
    b = Store(ObserveLayer(MemoryBackend(), log=False, sinks=[b_events.append]))
    assert apply(plan(src, a, compare="checksum")).ok
    import hashlib

    assert a.head("d/b.txt").metadata[DIGEST_KEY] == hashlib.sha256(b"bbbb").hexdigest()
    a_events.clear()
    assert len(plan(src, a, compare="checksum")) == 0
    assert _reads(a_events) == 0  # the store side's digests come from metadata
    assert apply(plan(a, b, compare="checksum")).ok  # a's digests travel to b
    a_events.clear()
    b_events.clear()
    p = plan(a, b, compare="checksum")
    assert len(p) == 0 and p.unchanged == 3
    assert _reads(a_events) == 0 and _reads(b_events) == 0
    # a rewrite without the digest drops it: that file is read (and found changed)
    b.write("d/b.txt", b"BBBB", overwrite=True)
    p = plan(a, b, compare="checksum")
    assert [(x.path, x.reason) for x in p] == [("d/b.txt", "checksum")]
    assert _reads(b_events) == 1


def test_progress_and_a_process_pool(tmp_path: Path) -> None:
    # spec: SYNC-030, SYNC-031
    src = tree(tmp_path / "src", {f"f{i:03}": bytes([i]) * (i + 1) for i in range(40)})
    disk = Store(LocalBackend(root=str(tmp_path / "disk")))
    p = plan(src, disk)
    assert pickle.loads(pickle.dumps(disk)).root_path == disk.root_path
    seen: list[int] = []
    files: list[object] = []
    with ProcessPoolExecutor(2) as pool:
        report = apply(p, executor=pool, progress=CallbackProgress(seen.append, files.append))
    assert report.ok and len(report.copied) == 40
    assert sum(seen) == p.bytes == sum(range(1, 41)) and len(files) == 40
    assert snapshot(tmp_path / "disk") == snapshot(src)
    threads: list[int] = []
    (src / "f000").write_bytes(b"changed")
    assert apply(plan(src, disk), progress=CallbackProgress(threads.append)).ok
    assert sum(threads) == 7


def test_batch_size_and_stop_on_error(tmp_path: Path) -> None:
    # spec: SYNC-020, SYNC-032
    src = tree(tmp_path / "src", {f"f{i}": b"x" for i in range(5)})
    p = plan(src, Store(ReadOnlyLayer(MemoryBackend())))
    with pytest.raises(InvalidArgument, match="batch_size"):
        apply(p, batch_size=0)
    report = apply(p, stop_on_error=True, max_workers=1)
    statuses = [o.status for o in report]
    assert statuses[0] == "failed" and "skipped" in statuses and "done" not in statuses
    with ProcessPoolExecutor(1) as pool:
        done = apply(plan(src, tmp_path / "out"), executor=pool, batch_size=2)
    assert done.ok and len(done.copied) == 5


def test_a_copy_in_the_same_clock_tick_as_its_source_is_up_to_date(tmp_path: Path) -> None:
    # spec: SYNC-003 (a store keeps microseconds, a local file nanoseconds)
    src = tree(tmp_path / "src", {"a.txt": b"same"})
    disk = Store(LocalBackend(root=str(tmp_path / "dst")), name="disk")
    apply(plan(src, disk))
    tick = 1_700_000_000_123_456_489  # nanoseconds; not a whole microsecond
    for path in (src / "a.txt", tmp_path / "dst" / "a.txt"):
        os.utime(path, ns=(tick, tick))
    assert len(plan(src, disk)) == 0
    os.utime(src / "a.txt", ns=(tick + 5_000, tick + 5_000))  # 5 µs later: an edit
    assert [(a.path, a.reason) for a in plan(src, disk)] == [("a.txt", "newer")]
