"""``rm --if-match ETAG`` deletes a file only while its etag matches (spec COND-050)."""

from __future__ import annotations

from cli_support import Env, Runner


def test_rm_if_match_keeps_a_changed_file_and_deletes_a_matching_one(cli: Runner, env: Env) -> None:
    # spec: COND-050
    env.put_file("f.txt", b"one")
    stale = cli("--json", "info", "data:f.txt").json()["etag"]
    assert stale
    env.put_file("f.txt", b"two!")  # another writer changed it
    r = cli("--json", "rm", "--if-match", stale, "data:f.txt")
    assert r.code == 1
    error = r.err_json()["error"]
    assert error["type"] == "PreconditionFailed" and "read it again" in error["hint"]
    assert (env.disk / "f.txt").read_bytes() == b"two!"
    current = cli("--json", "info", "data:f.txt").json()["etag"]
    r = cli("rm", "--if-match", current, "data:f.txt")
    assert r.code == 0, r.err
    assert "deleted data:f.txt" in r.out
    assert not (env.disk / "f.txt").exists()


def test_rm_if_match_refuses_recursive_and_missing_ok(cli: Runner, env: Env) -> None:
    # spec: COND-050
    env.put_file("f.txt", b"one")
    for extra in ("-r", "--missing-ok"):
        r = cli("rm", extra, "--if-match", "x", "data:f.txt")
        assert r.code == 2 and "--if-match" in r.err
    assert (env.disk / "f.txt").exists()
