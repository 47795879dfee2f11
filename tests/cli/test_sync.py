"""``storeroom sync`` (spec CLI-080..087)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from cli_support import Env, Runner

from local_files import age, snapshot, tree
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.cli import progress
from storeroom.ext.transfer import download, transfer, upload
from storeroom.store import Store

FILES = {"a.txt": b"aaa", "d/b.txt": b"bbbb", "d/e/c.txt": b"c"}


def test_local_to_store_copies_missing_then_nothing(cli: Runner, env: Env) -> None:
    # spec: CLI-080, CLI-081, SYNC-070
    src = tree(Path.cwd() / "site", FILES)
    r = cli("sync", "site", "data:site")
    assert r.code == 0, r.err
    assert snapshot(env.disk / "site") == FILES
    assert "copied site/a.txt -> data:site/a.txt (3 bytes, missing)" in r.out
    assert "3 copied" in r.out
    r = cli("sync", str(src), "data:site")
    assert r.code == 0
    assert "0 copied" in r.out and "3 unchanged" in r.out


def test_changed_size_or_newer_source_is_copied(cli: Runner, env: Env) -> None:
    # spec: CLI-081
    src = tree(Path.cwd() / "site", FILES)
    assert cli("sync", "site", "data:site").code == 0
    (src / "a.txt").write_bytes(b"longer")
    (src / "d/b.txt").write_bytes(b"BBBB")  # same size ...
    age(src / "d/b.txt", 100)  # ... but modified after the copy was made
    (src / "d/e/c.txt").write_bytes(b"C")  # same size, older than the copy: kept
    age(src / "d/e/c.txt", -100)
    r = cli("--json", "sync", "site", "data:site")
    assert r.code == 0
    doc = r.json()
    assert {(f["dst"], f["reason"]) for f in doc["files"]} == {
        ("data:site/a.txt", "size"),
        ("data:site/d/b.txt", "newer"),
    }
    assert doc["count"] == 2 and doc["bytes"] == 10 and doc["unchanged"] == 1
    assert doc["dry_run"] is False and doc["deleted"] == [] and doc["failed"] == []
    assert (env.disk / "site/d/b.txt").read_bytes() == b"BBBB"
    assert (env.disk / "site/d/e/c.txt").read_bytes() == b"c"


def test_checksum_compares_content(cli: Runner, env: Env) -> None:
    # spec: CLI-082
    src = tree(Path.cwd() / "site", FILES)
    assert cli("sync", "site", "data:site").code == 0
    (src / "d/e/c.txt").write_bytes(b"C")
    age(src / "d/e/c.txt", -100)
    r = cli("--json", "sync", "--checksum", "site", "data:site")
    assert [(f["dst"], f["reason"]) for f in r.json()["files"]] == [
        ("data:site/d/e/c.txt", "checksum")
    ]
    assert (env.disk / "site/d/e/c.txt").read_bytes() == b"C"
    r = cli("--json", "sync", "-c", "site", "data:site")
    assert r.json()["count"] == 0 and r.json()["unchanged"] == 3


def test_store_to_local_and_store_to_store(cli: Runner, env: Env) -> None:
    # spec: CLI-080, CLI-081
    tree(env.disk / "rep", FILES)
    r = cli("sync", "data:rep", "out")  # a missing local folder is created
    assert r.code == 0, r.err
    assert snapshot(Path.cwd() / "out") == FILES
    assert "0 copied" in cli("sync", "data:rep", "out").out
    r = cli("sync", "data:rep", "other:")
    assert r.code == 0
    assert snapshot(env.other) == FILES
    assert "0 copied" in cli("sync", "data:rep", "other:").out
    r = cli("sync", "data:rep", "data:copy")  # one backend: server-side copies
    assert r.code == 0
    assert snapshot(env.disk / "copy") == FILES


def test_delete_and_dry_run(cli: Runner, env: Env) -> None:
    # spec: CLI-083, CLI-084
    tree(env.disk / "rep", FILES)
    tree(env.other, {"a.txt": b"aaa", "old.txt": b"old", "d/gone.txt": b"g"})
    age(env.other / "a.txt", 100)
    before = snapshot(env.other)
    r = cli("sync", "--dry-run", "--delete", "data:rep", "other:")
    assert r.code == 0
    assert "would copy data:rep/d/b.txt -> other:d/b.txt (4 bytes, missing)" in r.out
    assert "would delete other:old.txt" in r.out and "would delete other:d/gone.txt" in r.out
    assert "-> other:a.txt" not in r.out  # the destination copy is newer: unchanged
    assert snapshot(env.other) == before  # nothing changed
    r = cli("-q", "sync", "-n", "data:rep", "other:")
    assert "would copy" in r.out  # the plan is the result: printed even with -q
    r = cli("--json", "sync", "-n", "--delete", "data:rep", "other:")
    doc = r.json()
    assert doc["dry_run"] is True and doc["count"] == 2
    assert sorted(doc["deleted"]) == ["other:d/gone.txt", "other:old.txt"]
    r = cli("sync", "--delete", "data:rep", "other:")
    assert r.code == 0
    assert snapshot(env.other) == FILES
    assert "deleted other:old.txt" in r.out


def test_delete_in_a_local_destination(cli: Runner, env: Env) -> None:
    # spec: CLI-083
    tree(env.disk / "rep", {"a.txt": b"aaa"})
    out = tree(Path.cwd() / "out", {"a.txt": b"aaa", "x/extra.txt": b"e"})
    age(out / "a.txt", 100)
    r = cli("--json", "sync", "--delete", "data:rep", "out")
    assert r.code == 0
    assert r.json()["deleted"] == [str(Path("out") / "x" / "extra.txt")]
    assert snapshot(out) == {"a.txt": b"aaa"}


def test_a_failed_copy_sets_the_exit_code_and_skips_deletion(cli: Runner, env: Env) -> None:
    # spec: CLI-085
    tree(Path.cwd() / "site", FILES)
    tree(env.disk / "dst", {"extra.txt": b"e"})
    r = cli("--json", "sync", "--delete", "site", "ro:dst")  # a read-only store
    assert r.code == 7
    doc = r.json()
    assert doc["count"] == 0 and len(doc["failed"]) == 3 and doc["deleted"] == []
    assert doc["failed"][0]["exit_code"] == 7
    assert r.err_json()["error"]["type"] == "CapabilityNotSupported"
    assert (env.disk / "dst/extra.txt").exists()
    r = cli("sync", "site", "ro:dst")
    assert r.code == 7 and "failed: site" in r.err and "storeroom: error:" in r.err


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("nowhere", "data:x"), 3, "does not exist"),
        (("data:nowhere", "out"), 3, "no such folder"),
        (("data:f.txt", "out"), 2, "is a file"),
        (("site", "out"), 2, "at least one store:path"),
        (("data:a", "data:a/b"), 2, "overlap"),
        (("other:", "alias:x"), 0, None),  # two stores on two folders: no overlap
        (("data:", "alias:x"), 2, "overlap"),  # one folder under two names (SYNC-005)
        (("site", "nope:x"), 2, "unknown store"),
        (("site", "data:x", "-j", "0"), 2, "--jobs"),
    ],
)
def test_usage_and_missing_source_errors(
    cli: Runner, env: Env, args: tuple[str, ...], code: int, text: str | None
) -> None:
    # spec: CLI-086
    env.put_file("f.txt", b"f")
    tree(Path.cwd() / "site", {"a": b"a"})
    (env.disk / "a").mkdir()
    r = cli("sync", *args)
    assert r.code == code, r.err
    if text is not None:
        assert text in r.err.lower()


def test_progress_bar_on_a_terminal(cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-087, SYNC-062
    monkeypatch.setattr(progress, "stderr_is_tty", lambda: True)
    monkeypatch.setitem(sys.modules, "rich", None)  # the built-in text bar
    monkeypatch.setitem(sys.modules, "rich.progress", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    big = bytes(range(256)) * (progress.PROGRESS_THRESHOLD // 256 + 100)
    tree(Path.cwd() / "site", {"big.bin": big, "small": b"s"})
    r = cli("sync", "site", "other:")
    assert r.code == 0
    assert "sync site (2 files) [" in r.err and "100.0%" in r.err
    assert (env.other / "big.bin").read_bytes() == big
    tree(Path.cwd() / "site", {"big2.bin": big})
    r = cli("-q", "sync", "site", "other:")
    assert r.code == 0 and r.err == "" and r.out == ""


def test_transfer_include_limits_the_files(tmp_path: Path) -> None:
    # spec: CLI-080 (EXT transfer's include filter, used by sync)
    src = tree(tmp_path / "src", FILES)
    store = Store(MemoryBackend())
    report = upload(store, src, "up", include=lambda rel: rel.startswith("d/"))
    assert sorted(f.dest for f in report) == ["up/d/b.txt", "up/d/e/c.txt"]
    report = transfer(store, "up", store, "copy", include={"d/e/c.txt"}.__contains__)
    assert [f.dest for f in report] == ["copy/d/e/c.txt"]
    report = download(store, "up", tmp_path / "down", include=lambda rel: rel == "b.txt")
    assert report.ok and len(report) == 0  # relative to the source folder: "d/b.txt"
    report = download(store, "up/d/b.txt", tmp_path / "one", include=lambda rel: rel == "b.txt")
    assert len(report.copied) == 1 and (tmp_path / "one").read_bytes() == b"bbbb"


def test_clock_tie_is_not_copied_again(cli: Runner, env: Env) -> None:
    # spec: CLI-081: a destination written after its source is up to date
    src = tree(Path.cwd() / "site", {"a.txt": b"aaa"})
    age(src / "a.txt", -1)
    assert cli("sync", "site", "data:s").code == 0
    time.sleep(0.01)
    assert "0 copied" in cli("sync", "site", "data:s").out
