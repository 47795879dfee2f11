"""``rm --missing-ok`` on a missing path succeeds without claiming a deletion (spec CLI-073)."""

from __future__ import annotations

from cli_support import Env, Runner


def test_rm_missing_ok_says_nothing_was_there(cli: Runner, env: Env) -> None:
    # spec: CLI-073
    env.put_file("kept.txt", b"k")
    r = cli("rm", "--missing-ok", "data:gone.txt")
    assert r.code == 0, r.err
    assert "deleted" not in r.out
    assert "nothing to delete: data:gone.txt does not exist" in r.out
    r = cli("--json", "rm", "--missing-ok", "data:gone.txt")
    assert r.json() == {"deleted": None, "missing": "data:gone.txt", "type": "file"}
    r = cli("rm", "-r", "--missing-ok", "data:gone-dir")
    assert r.code == 0, r.err
    assert "deleted" not in r.out and "nothing to delete: data:gone-dir/" in r.out
    r = cli("--json", "rm", "-r", "--missing-ok", "data:gone-dir")
    assert r.json() == {"deleted": None, "missing": "data:gone-dir", "type": "folder"}
    assert (env.disk / "kept.txt").exists()


def test_rm_missing_ok_still_reports_a_real_deletion(cli: Runner, env: Env) -> None:
    # spec: CLI-073
    env.put_file("there.txt", b"t")
    env.put_file("d/x.txt", b"x")
    r = cli("--json", "rm", "--missing-ok", "data:there.txt")
    assert r.json() == {"deleted": "data:there.txt", "type": "file"}
    assert not (env.disk / "there.txt").exists()
    r = cli("rm", "-r", "--missing-ok", "data:d")
    assert r.code == 0 and "deleted data:d/" in r.out
    assert not (env.disk / "d").exists()
