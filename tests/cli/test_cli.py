"""The ``storeroom`` command, run in-process through ``main([...])`` (spec 30-cli.md)."""

from __future__ import annotations

import io
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cli_support import Env, Runner

from storeroom.cli import EXIT_CODES, ExitCode, main
from storeroom.cli.address import Remote, local_path, match_store, parse_remote
from storeroom.cli.errors import UsageError
from storeroom.errors import (
    BackendUnavailable,
    NotFound,
    PermissionDenied,
    StoreroomError,
)
from storeroom.store import Store

# -- general -----------------------------------------------------------------------------


def test_version(cli: Runner) -> None:
    # spec: CLI-002
    from storeroom import __version__

    r = cli("--version", config=None)
    assert r.code == 0
    assert r.out.strip() == f"storeroom {__version__}"


def test_help_documents_every_exit_code(cli: Runner) -> None:
    # spec: CLI-002, CLI-030
    r = cli("--help", config=None)
    assert r.code == 0
    for code, meaning in EXIT_CODES:
        assert f"{int(code):>3}  {meaning}" in r.out
    assert "STOREROOM_CONFIG" in r.out
    for command in ("ls", "cat", "put", "get", "cp", "mv", "rm", "info", "ping", "config"):
        assert command in r.out


def test_exit_code_table_values() -> None:
    # spec: CLI-030
    assert {int(c) for c, _ in EXIT_CODES} == {0, 1, 2, 3, 4, 5, 6, 7, 8, 130, 141}
    assert ExitCode.NOT_FOUND == 3 and ExitCode.CONFIG == 4 and ExitCode.ALREADY_EXISTS == 5
    assert ExitCode.PERMISSION_DENIED == 6 and ExitCode.NOT_SUPPORTED == 7
    assert ExitCode.UNAVAILABLE == 8 and ExitCode.INTERRUPTED == 130


def test_no_command_is_usage_error(cli: Runner) -> None:
    # spec: CLI-002
    r = cli(config=None)
    assert r.code == 2
    assert "usage: storeroom" in r.err


def test_bad_option_is_usage_error_without_reading_config(cli: Runner, tmp_path: Path) -> None:
    # spec: CLI-021, CLI-031
    r = cli("ls", "--bogus", config=tmp_path / "missing.toml")
    assert r.code == 2
    assert "usage:" in r.err
    assert "storeroom: error: unrecognized arguments: --bogus" in r.err
    assert "Traceback" not in r.err


def test_usage_error_as_json(cli: Runner) -> None:
    # spec: CLI-032
    r = cli("--json", "cp", "data:a")
    assert r.code == 2
    payload = r.err_json()["error"]
    assert payload["type"] == "UsageError"
    assert payload["exit_code"] == 2
    assert r.out == ""


def test_global_options_after_subcommand(cli: Runner, env: Env) -> None:
    # spec: CLI-004
    env.put_file("a.txt", b"x")
    r = cli("ls", "data:", "--json")
    assert r.code == 0
    assert [e["name"] for e in r.json()] == ["a.txt"]
    r = cli("put", str(env.put_file("../b.txt", b"y")), "data:b.txt", "-q")
    assert r.code == 0
    assert r.out == ""


# -- addressing --------------------------------------------------------------------------


def test_parse_remote_forms() -> None:
    # spec: CLI-010, CLI-011
    stores = ["data", "data:x", "b"]
    assert parse_remote("data:a/b.txt", stores) == Remote("data", "a/b.txt")
    assert parse_remote("data:", stores) == Remote("data", "")
    assert parse_remote("b", stores) == Remote("b", "")
    assert parse_remote("data:x:y", stores) == Remote("data:x", "y")  # longest name wins
    assert match_store("c:/x", stores) is None
    with pytest.raises(UsageError, match="unknown store 'nope'"):
        parse_remote("nope:x", stores)
    with pytest.raises(UsageError, match="not a STORE:path"):
        parse_remote("plain.txt", stores)


def test_remote_names_folder() -> None:
    # spec: CLI-013
    assert Remote("d", "").names_folder
    assert Remote("d", "a/").names_folder
    assert not Remote("d", "a").names_folder
    assert Remote("d", "./a//b/").key == "a/b"


def test_local_path_rejects_store_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-012
    monkeypatch.chdir(tmp_path)
    assert local_path("plain.txt", ["data"], command="put") == Path("plain.txt")
    assert local_path("C:/x", ["data"], command="put") == Path("C:/x")
    with pytest.raises(UsageError, match="names store 'data'"):
        local_path("data:x", ["data"], command="put")
    (tmp_path / "data:x").write_text("local")
    with pytest.raises(UsageError, match="ambiguous"):
        local_path("data:x", ["data"], command="put")
    assert local_path("./data:x", ["data"], command="put") == Path("./data:x")


def test_unknown_store_is_usage_error(cli: Runner) -> None:
    # spec: CLI-011
    r = cli("ls", "nosuch:")
    assert r.code == 2
    assert "unknown store 'nosuch'" in r.err
    assert "data" in r.err  # lists the defined stores


def test_put_with_store_prefixed_local_is_rejected(cli: Runner, env: Env) -> None:
    # spec: CLI-012
    (Path.cwd() / "data:x").write_bytes(b"local")
    r = cli("put", "data:x", "data:y")
    assert r.code == 2
    assert "ambiguous" in r.err
    assert not (env.disk / "y").exists()
    r = cli("put", "./data:x", "data:y")
    assert r.code == 0
    assert (env.disk / "y").read_bytes() == b"local"


# -- config ------------------------------------------------------------------------------


def test_config_from_env_var(cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-020
    env.put_file("a.txt", b"x")
    monkeypatch.setenv("STOREROOM_CONFIG", str(env.config))
    r = cli("ls", "data:", config=None)
    assert r.code == 0
    assert r.out.split() == ["a.txt"]


def test_config_default_file_in_cwd(cli: Runner, env: Env) -> None:
    # spec: CLI-020
    (Path.cwd() / "storeroom.toml").write_text(env.config.read_text())
    r = cli("config", "check", config=None)
    assert r.code == 0
    assert "config OK: storeroom.toml" in r.out


def test_no_config_anywhere_says_how_to_fix(cli: Runner) -> None:
    # spec: CLI-020
    r = cli("ls", "data:", config=None)
    assert r.code == 4
    assert "--config" in r.err and "STOREROOM_CONFIG" in r.err and "storeroom.toml" in r.err


def test_config_missing_file(cli: Runner, tmp_path: Path) -> None:
    # spec: CLI-022
    r = cli("config", "check", config=tmp_path / "nope.toml")
    assert r.code == 4
    assert "config file not found" in r.err


def test_config_bad_syntax(cli: Runner, tmp_path: Path) -> None:
    # spec: CLI-022
    bad = tmp_path / "bad.toml"
    bad.write_text("[backends.x\ntype = ")
    r = cli("config", "check", config=bad)
    assert r.code == 4
    assert "invalid TOML" in r.err
    assert r.err.count("\n") == 1  # one line, no traceback


def test_config_unknown_key(cli: Runner, tmp_path: Path) -> None:
    # spec: CLI-022, CLI-021
    bad = tmp_path / "bad.toml"
    bad.write_text('[backends.m]\ntype = "memory"\ncolour = "red"\n')
    for args in (("config", "check"), ("ls", "x:"), ("ping",)):
        r = cli(*args, config=bad)
        assert r.code == 4, args
        assert "backends.m.colour: unknown key" in r.err


def test_config_unknown_backend_type_as_json(cli: Runner, tmp_path: Path) -> None:
    # spec: CLI-022, CLI-032
    bad = tmp_path / "bad.toml"
    bad.write_text('[backends.m]\ntype = "floppy"\n[stores.s]\nbackend = "m"\n')
    r = cli("--json", "config", "check", config=bad)
    assert r.code == 4
    err = r.err_json()["error"]
    assert err["type"] == "ConfigError"
    assert err["exit_code"] == 4
    assert "floppy" in err["message"]


def test_config_check_lists_stores(cli: Runner) -> None:
    # spec: CLI-022
    r = cli("config", "check")
    assert r.code == 0
    assert "config OK" in r.out
    assert "data: backend=disk (local)" in r.out
    assert "scratch: backend=mem (memory)" in r.out
    r = cli("--json", "config", "check")
    data = r.json()
    assert data["ok"] is True
    assert set(data["stores"]) == {"data", "alias", "ro", "other", "scratch"}
    assert cli("-q", "config", "check").out == ""


SECRET_CONFIG = """\
[backends.vault]
type = "clitest-vault"
options = {{ password = "hunter2-plain", url = "postgresql://bob:pa55-plain@db/x", n = 3 }}

[backends.disk]
type = "local"
options = {{ root = {root} }}

[stores.v]
backend = "vault"

[stores.d]
backend = "disk"
root_path = "sub"
"""


@pytest.fixture
def secret_config(tmp_path: Path) -> Path:
    from storeroom.backends.memory import MemoryBackend
    from storeroom.registry import register_backend

    register_backend("clitest-vault", lambda **kw: MemoryBackend(), replace=True)
    path = tmp_path / "secret.toml"
    path.write_text(SECRET_CONFIG.format(root=json.dumps(str(tmp_path / "d"))))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("config", "check"),
        ("--json", "config", "check"),
        ("config", "show"),
        ("config", "show", "--format", "json"),
    ],
)
def test_config_output_masks_secrets(cli: Runner, secret_config: Path, args: tuple[str]) -> None:
    # spec: CLI-024
    r = cli(*args, config=secret_config)
    assert r.code == 0, r.err
    assert "hunter2-plain" not in r.out + r.err
    assert "pa55-plain" not in r.out + r.err
    assert "Secret('***')" in r.out
    assert "postgresql://bob:***@db/x" in r.out


def test_config_show_toml_round_trips(cli: Runner, secret_config: Path) -> None:
    # spec: CLI-023
    r = cli("config", "show", config=secret_config)
    assert r.code == 0
    parsed = tomllib.loads(r.out)
    assert parsed["backends"]["vault"]["options"] == {
        "password": "Secret('***')",
        "url": "postgresql://bob:***@db/x",
        "n": 3,
    }
    assert parsed["backends"]["disk"]["type"] == "local"
    assert parsed["stores"]["d"] == {"backend": "disk", "root_path": "sub"}
    js = cli("--json", "config", "show", config=secret_config).json()
    assert js["stores"] == parsed["stores"]
    assert js["source"] == str(secret_config)


def test_config_show_resolves_env(
    cli: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-023
    monkeypatch.setenv("CLITEST_ROOT", str(tmp_path / "r"))
    cfg = tmp_path / "env.toml"
    cfg.write_text('[backends.l]\ntype = "local"\noptions = { root = "${CLITEST_ROOT}" }\n')
    r = cli("config", "show", config=cfg)
    assert tomllib.loads(r.out)["backends"]["l"]["options"]["root"] == str(tmp_path / "r")


# -- ls ----------------------------------------------------------------------------------


@pytest.fixture
def tree(env: Env) -> Env:
    env.put_file("a.txt", b"aaa")
    env.put_file("dir/b.txt", b"bbbb")
    env.put_file("dir/sub/c.txt", b"c")
    return env


def test_ls_folder(cli: Runner, tree: Env) -> None:
    # spec: CLI-070
    r = cli("ls", "data:")
    assert r.code == 0
    assert r.out.splitlines() == ["a.txt", "dir/"]
    assert cli("ls", "data").out == r.out  # bare store name = root
    assert cli("ls", "data:dir").out.splitlines() == ["b.txt", "sub/"]


def test_ls_recursive_and_long(cli: Runner, tree: Env) -> None:
    # spec: CLI-070, CLI-042
    r = cli("ls", "-r", "data:dir")
    assert r.out.splitlines() == ["b.txt", "sub/c.txt"]
    r = cli("ls", "-l", "data:")
    lines = r.out.splitlines()
    size, day, clock, name = lines[0].split()
    assert (size, name) == ("3", "a.txt")
    assert len(day) == 10 and day[4] == "-" and len(clock) == 8
    assert lines[1].split() == ["-", "-", "dir/"]


def test_ls_json(cli: Runner, tree: Env) -> None:
    # spec: CLI-041
    r = cli("--json", "ls", "-r", "data:")
    items = r.json()
    assert [i["path"] for i in items] == ["a.txt", "dir/b.txt", "dir/sub/c.txt"]
    assert items[0]["type"] == "file" and items[0]["size"] == 3
    assert items[0]["modified_at"].startswith("20")
    folders = cli("--json", "ls", "data:").json()
    assert folders[1] == {
        "path": "dir",
        "name": "dir",
        "type": "folder",
        "size": None,
        "modified_at": None,
    }
    assert cli("--json", "ls", "data:dir/sub/").json()[0]["name"] == "c.txt"


def test_ls_empty_store_json_is_empty_array(cli: Runner) -> None:
    # spec: CLI-041
    r = cli("--json", "ls", "scratch:")
    assert r.code == 0
    assert r.json() == []


def test_ls_file_and_missing(cli: Runner, tree: Env) -> None:
    # spec: CLI-070
    assert cli("ls", "data:dir/b.txt").out.splitlines() == ["b.txt"]
    r = cli("ls", "data:nope")
    assert r.code == 3
    assert "no such file or folder" in r.err and "nope" in r.err


def test_ls_lists_stores(cli: Runner) -> None:
    # spec: CLI-070
    r = cli("ls")
    assert r.out.splitlines() == ["alias:", "data:", "other:", "ro:", "scratch:"]
    rows = cli("--json", "ls").json()
    assert {"name": "scratch", "backend": "mem", "type": "memory", "root_path": ""} in rows


# -- cat / info --------------------------------------------------------------------------


def test_cat_streams_bytes(env: Env, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # spec: CLI-071
    payload = bytes(range(256)) * 3
    env.put_file("bin.dat", payload)
    env.put_file("two.txt", b"second")
    code = main(["--config", str(env.config), "cat", "data:bin.dat", "data:two.txt"])
    out = capsysbinary.readouterr().out
    assert code == 0
    assert out == payload + b"second"


def test_cat_errors(cli: Runner, tree: Env) -> None:
    # spec: CLI-071, CLI-030
    assert cli("cat", "data:nope").code == 3
    assert cli("cat", "data:dir").code == 2  # a folder is not a file
    assert cli("cat", "data:").code == 2  # the root is not a file


def test_info_file(cli: Runner, tree: Env) -> None:
    # spec: CLI-072
    r = cli("info", "data:dir/b.txt")
    assert r.code == 0
    assert "type:         file" in r.out
    assert "size:         4" in r.out
    info = cli("--json", "info", "data:dir/b.txt").json()
    assert info["type"] == "file" and info["size"] == 4 and info["store"] == "data"
    assert info["backend"] == "local"
    assert Path(info["native_path"]) == tree.disk / "dir" / "b.txt"


def test_info_folder_and_root(cli: Runner, tree: Env) -> None:
    # spec: CLI-072
    folder = cli("--json", "info", "data:dir").json()
    assert (folder["type"], folder["file_count"], folder["total_size"]) == ("folder", 2, 5)
    root = cli("--json", "info", "data:").json()
    assert (root["type"], root["file_count"], root["total_size"]) == ("folder", 3, 8)
    r = cli("info", "data:missing")
    assert r.code == 3


# -- put ---------------------------------------------------------------------------------


def test_put_file(cli: Runner, env: Env) -> None:
    # spec: CLI-060, CLI-040
    src = env.put_file("local.txt", b"hello", root=Path.cwd())
    r = cli("put", str(src), "data:in/x.txt")
    assert r.code == 0
    assert (env.disk / "in" / "x.txt").read_bytes() == b"hello"
    assert "-> data:in/x.txt (5 bytes)" in r.out


def test_put_into_folder_appends_name(cli: Runner, env: Env) -> None:
    # spec: CLI-013
    src = env.put_file("local.txt", b"hello", root=Path.cwd())
    assert cli("put", str(src), "data:").code == 0
    assert (env.disk / "local.txt").read_bytes() == b"hello"
    assert cli("put", str(src), "data:new/").code == 0
    assert (env.disk / "new" / "local.txt").exists()
    env.put_file("existing/keep", b"")
    r = cli("--json", "put", str(src), "data:existing")
    assert r.json()["files"][0]["dst"] == "data:existing/local.txt"


def test_put_existing_needs_overwrite(cli: Runner, env: Env) -> None:
    # spec: CLI-060, CLI-034
    env.put_file("x.txt", b"old")
    src = env.put_file("local.txt", b"new", root=Path.cwd())
    r = cli("put", str(src), "data:x.txt")
    assert r.code == 5
    assert "pass --overwrite to replace it" in r.err
    assert (env.disk / "x.txt").read_bytes() == b"old"
    r = cli("--json", "put", "--overwrite", str(src), "data:x.txt")
    assert r.code == 0
    assert r.json() == {
        "files": [{"src": str(src), "dst": "data:x.txt", "bytes": 3}],
        "count": 1,
        "bytes": 3,
    }
    assert (env.disk / "x.txt").read_bytes() == b"new"


def test_put_atomic(cli: Runner, env: Env) -> None:
    # spec: CLI-060
    src = env.put_file("local.txt", b"atomic", root=Path.cwd())
    assert cli("put", "--atomic", str(src), "data:a.txt").code == 0
    assert (env.disk / "a.txt").read_bytes() == b"atomic"


def test_put_from_stdin(cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-060
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\x00piped\xff")))
    r = cli("put", "-", "data:p.bin")
    assert r.code == 0, r.err
    assert (env.disk / "p.bin").read_bytes() == b"\x00piped\xff"
    r = cli("put", "-", "data:")
    assert r.code == 2
    assert "needs a destination file name" in r.err


def test_put_local_errors(cli: Runner, env: Env) -> None:
    # spec: CLI-033, CLI-060
    r = cli("put", "missing.txt", "data:x")
    assert r.code == 3
    assert "local path not found" in r.err
    (Path.cwd() / "folder").mkdir()
    assert cli("put", "folder", "data:x").code == 2
    r = cli("put", "x.txt", "nowhere")
    assert r.code == 2
    assert "not a STORE:path" in r.err


def test_put_to_read_only_store_is_not_supported(cli: Runner, env: Env) -> None:
    # spec: CLI-030
    src = env.put_file("local.txt", b"x", root=Path.cwd())
    r = cli("--json", "put", str(src), "ro:x.txt")
    assert r.code == 7
    assert r.err_json()["error"]["type"] == "CapabilityNotSupported"
    assert not (env.disk / "x.txt").exists()


# -- get ---------------------------------------------------------------------------------


def test_get_file_and_folder_target(cli: Runner, env: Env) -> None:
    # spec: CLI-061, CLI-013
    env.put_file("dir/r.txt", b"remote")
    r = cli("get", "data:dir/r.txt", "out.txt")
    assert r.code == 0
    assert Path("out.txt").read_bytes() == b"remote"
    Path("dl").mkdir()
    assert cli("get", "data:dir/r.txt", "dl").code == 0
    assert Path("dl/r.txt").read_bytes() == b"remote"
    assert cli("get", "data:dir/r.txt", "dl2/").code == 3  # missing local folder
    assert os.listdir("dl") == ["r.txt"]  # no temp file left


def test_get_existing_needs_overwrite(cli: Runner, env: Env) -> None:
    # spec: CLI-061
    env.put_file("r.txt", b"remote")
    Path("out.txt").write_bytes(b"local")
    r = cli("get", "data:r.txt", "out.txt")
    assert r.code == 5
    assert Path("out.txt").read_bytes() == b"local"
    assert cli("get", "--overwrite", "data:r.txt", "out.txt").code == 0
    assert Path("out.txt").read_bytes() == b"remote"


def test_get_to_stdout(env: Env, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # spec: CLI-061, CLI-041
    env.put_file("r.bin", b"\xff\x00raw")
    code = main(["--config", str(env.config), "--json", "get", "data:r.bin", "-"])
    captured = capsysbinary.readouterr()
    assert code == 0
    assert captured.out == b"\xff\x00raw"
    assert captured.err == b""


def test_get_missing_creates_nothing(cli: Runner, env: Env) -> None:
    # spec: CLI-062
    r = cli("get", "data:nope.txt", "out.txt")
    assert r.code == 3
    assert os.listdir(".") == []


class _FailingStream(io.RawIOBase):
    """Yields one chunk, then fails the way a dropped connection does."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc
        self.sent = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if not self.sent:
            self.sent = True
            return b"partial data"
        raise self.exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (BackendUnavailable("connection reset"), 8),
        (KeyboardInterrupt(), 130),
    ],
)
def test_failed_get_leaves_no_file(
    cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int
) -> None:
    # spec: CLI-062, CLI-035
    env.put_file("big.bin", b"x" * 100)
    monkeypatch.setattr(Store, "read", lambda self, path: _FailingStream(exc))
    r = cli("get", "data:big.bin", "out.bin")
    assert r.code == code
    assert os.listdir(".") == []
    Path("keep.bin").write_bytes(b"old")
    r = cli("get", "--overwrite", "data:big.bin", "keep.bin")
    assert r.code == code
    assert os.listdir(".") == ["keep.bin"]
    assert Path("keep.bin").read_bytes() == b"old"


# -- cp / mv -----------------------------------------------------------------------------


def test_cp_same_store(cli: Runner, env: Env) -> None:
    # spec: CLI-063
    env.put_file("a.txt", b"A")
    r = cli("cp", "data:a.txt", "data:b/a2.txt")
    assert r.code == 0
    assert (env.disk / "b" / "a2.txt").read_bytes() == b"A"
    assert (env.disk / "a.txt").exists()
    assert "copied data:a.txt -> data:b/a2.txt" in r.out


def test_cp_across_stores(cli: Runner, env: Env) -> None:
    # spec: CLI-063
    env.put_file("a.txt", b"across")
    r = cli("--json", "cp", "data:a.txt", "other:copied/")
    assert r.code == 0
    assert r.json()["files"] == [{"src": "data:a.txt", "dst": "other:copied/a.txt", "bytes": 6}]
    assert (env.other / "copied" / "a.txt").read_bytes() == b"across"
    assert (env.disk / "a.txt").read_bytes() == b"across"


def test_cp_into_memory_store(cli: Runner, tree: Env) -> None:
    # spec: CLI-063, CLI-064
    r = cli("--json", "cp", "-r", "data:", "scratch:mirror")
    assert r.code == 0
    out = r.json()
    assert out["count"] == 3 and out["bytes"] == 8
    assert [f["dst"] for f in out["files"]] == [
        "scratch:mirror/a.txt",
        "scratch:mirror/dir/b.txt",
        "scratch:mirror/dir/sub/c.txt",
    ]


def test_cp_existing_needs_overwrite(cli: Runner, env: Env) -> None:
    # spec: CLI-066
    env.put_file("a.txt", b"new")
    env.put_file("b.txt", b"old")
    env.put_file("b.txt", b"other-old", root=env.other)
    for dst in ("data:b.txt", "other:b.txt"):
        r = cli("cp", "data:a.txt", dst)
        assert r.code == 5, dst
        assert "--overwrite" in r.err
    assert (env.disk / "b.txt").read_bytes() == b"old"
    assert (env.other / "b.txt").read_bytes() == b"other-old"
    assert cli("cp", "--overwrite", "data:a.txt", "other:b.txt").code == 0
    assert (env.other / "b.txt").read_bytes() == b"new"


def test_cp_existing_fails_before_reading_source(
    cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-066, CLI-060
    env.put_file("a.txt", b"new")
    env.put_file("a.txt", b"old", root=env.other)
    opened: list[str] = []
    original = Store.read

    def read(self: Store, path: str) -> Any:
        opened.append(path)
        return original(self, path)

    monkeypatch.setattr(Store, "read", read)
    assert cli("cp", "data:a.txt", "other:a.txt").code == 5
    assert opened == []
    assert cli("cp", "--overwrite", "data:a.txt", "other:a.txt").code == 0
    assert opened == ["a.txt"]


def test_cp_recursive_mirrors_folder(cli: Runner, tree: Env) -> None:
    # spec: CLI-064
    assert cli("cp", "-r", "data:dir", "other:backup").code == 0
    assert (tree.other / "backup" / "b.txt").read_bytes() == b"bbbb"
    assert (tree.other / "backup" / "sub" / "c.txt").read_bytes() == b"c"
    assert cli("cp", "-r", "data:dir", "other:backup").code == 5
    assert cli("cp", "-r", "--overwrite", "data:dir", "other:backup").code == 0
    assert cli("cp", "-r", "data:dir", "data:dir2").code == 0
    assert (tree.disk / "dir2" / "sub" / "c.txt").exists()


def test_cp_folder_errors(cli: Runner, tree: Env) -> None:
    # spec: CLI-064
    r = cli("cp", "data:dir", "other:x")
    assert r.code == 2
    assert "-r" in r.err and "is a folder" in r.err
    r = cli("cp", "-r", "data:dir", "data:dir/inner")
    assert r.code == 2
    assert "into itself" in r.err
    assert cli("cp", "-r", "data:nothing", "other:x").code == 3
    assert cli("cp", "data:nothing", "other:x").code == 3


def test_mv_same_store(cli: Runner, env: Env) -> None:
    # spec: CLI-063
    env.put_file("a.txt", b"A")
    r = cli("mv", "data:a.txt", "data:moved.txt")
    assert r.code == 0
    assert not (env.disk / "a.txt").exists()
    assert (env.disk / "moved.txt").read_bytes() == b"A"


def test_mv_across_stores(cli: Runner, env: Env) -> None:
    # spec: CLI-063
    env.put_file("a.txt", b"travel")
    r = cli("mv", "data:a.txt", "other:")
    assert r.code == 0
    assert not (env.disk / "a.txt").exists()
    assert (env.other / "a.txt").read_bytes() == b"travel"


def test_mv_across_stores_keeps_source_when_copy_fails(
    cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-063
    env.put_file("a.txt", b"keep me")

    def broken(self: Store, *args: Any, **kwargs: Any) -> Any:
        raise PermissionDenied("write refused", path=args[0])

    monkeypatch.setattr(Store, "write_atomic", broken)
    monkeypatch.setattr(Store, "write", broken)
    r = cli("mv", "data:a.txt", "other:a.txt")
    assert r.code == 6
    assert (env.disk / "a.txt").read_bytes() == b"keep me"


def test_mv_recursive_prunes_emptied_folders(cli: Runner, tree: Env) -> None:
    # spec: CLI-064
    r = cli("mv", "-r", "data:dir", "other:dir")
    assert r.code == 0
    assert not (tree.disk / "dir").exists()
    assert (tree.other / "dir" / "sub" / "c.txt").read_bytes() == b"c"
    assert (tree.disk / "a.txt").exists()
    tree.put_file("x/y/z.txt", b"z")
    assert cli("mv", "-r", "data:x", "data:x2").code == 0
    assert not (tree.disk / "x").exists()
    assert (tree.disk / "x2" / "y" / "z.txt").read_bytes() == b"z"


def test_mv_onto_same_physical_file_keeps_it(cli: Runner, env: Env) -> None:
    # spec: CLI-065
    env.put_file("a.txt", b"only copy")
    r = cli("mv", "--overwrite", "data:a.txt", "alias:a.txt")
    assert r.code == 0
    assert (env.disk / "a.txt").read_bytes() == b"only copy"
    assert cli("cp", "--overwrite", "alias:a.txt", "data:a.txt").code == 0
    assert (env.disk / "a.txt").read_bytes() == b"only copy"


# -- rm ----------------------------------------------------------------------------------


def test_rm_file(cli: Runner, tree: Env) -> None:
    # spec: CLI-073
    r = cli("rm", "data:a.txt")
    assert r.code == 0
    assert "deleted data:a.txt" in r.out
    assert not (tree.disk / "a.txt").exists()
    assert cli("rm", "data:a.txt").code == 3
    assert cli("rm", "--missing-ok", "data:a.txt").code == 0


def test_rm_folder(cli: Runner, tree: Env) -> None:
    # spec: CLI-073
    r = cli("rm", "data:dir")
    assert r.code == 2
    assert "rm -r" in r.err
    assert (tree.disk / "dir" / "b.txt").exists()
    r = cli("--json", "rm", "-r", "data:dir")
    assert r.code == 0
    assert r.json() == {"deleted": "data:dir", "type": "folder"}
    assert not (tree.disk / "dir").exists()
    assert cli("rm", "-r", "data:dir").code == 3
    assert cli("rm", "-r", "--missing-ok", "data:dir").code == 0


def test_rm_root_refused(cli: Runner, tree: Env) -> None:
    # spec: CLI-073
    assert cli("rm", "-r", "data:").code == 2
    assert cli("rm", "data:").code == 2
    assert (tree.disk / "a.txt").exists()


# -- ping --------------------------------------------------------------------------------


def test_ping_all(cli: Runner) -> None:
    # spec: CLI-074
    r = cli("ping")
    assert r.code == 0
    assert [line.split()[:2] for line in r.out.splitlines()] == [
        ["ok", s] for s in ("alias", "data", "other", "ro", "scratch")
    ]
    data = cli("--json", "ping", "scratch").json()
    assert data["ok"] is True
    assert [s["store"] for s in data["stores"]] == ["scratch"]


def test_ping_failure_sets_exit_code(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: CLI-074
    original = Store.ping

    def ping(self: Store) -> None:
        if self.name == "other":
            raise BackendUnavailable("host down")
        original(self)

    monkeypatch.setattr(Store, "ping", ping)
    r = cli("ping", "data", "other")
    assert r.code == 8
    assert r.out.splitlines()[0].startswith("ok    data")
    assert r.out.splitlines()[1].startswith("FAIL  other  host down")
    data = cli("--json", "ping").json()
    assert data["ok"] is False
    failed = [s for s in data["stores"] if not s["ok"]]
    assert failed == [
        {
            "store": "other",
            "ok": False,
            "elapsed_ms": failed[0]["elapsed_ms"],
            "error": failed[0]["error"],
            "exit_code": 8,
        }
    ]
    r = cli("-q", "ping")
    assert r.code == 8 and r.out == ""
    assert "ping other" in r.err
    assert cli("ping", "nosuch").code == 2


# -- error mapping -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "code", "kind"),
    [
        (NotFound("gone"), 3, "NotFound"),
        (PermissionDenied("no access"), 6, "PermissionDenied"),
        (BackendUnavailable("timed out"), 8, "BackendUnavailable"),
        (StoreroomError("strange"), 1, "StoreroomError"),
        (RuntimeError("bug"), 1, "RuntimeError"),
    ],
)
def test_errors_map_to_exit_codes(
    cli: Runner,
    env: Env,
    monkeypatch: pytest.MonkeyPatch,
    exc: Exception,
    code: int,
    kind: str,
) -> None:
    # spec: CLI-030, CLI-031, CLI-032
    env.put_file("a.txt", b"x")

    def boom(self: Store, path: str) -> Any:
        raise exc

    monkeypatch.setattr(Store, "get_file_info", boom)
    r = cli("info", "data:a.txt")
    assert r.code == code
    assert r.out == ""
    assert r.err.startswith("storeroom: error: ")
    assert r.err.count("\n") == 1
    assert "Traceback" not in r.err
    j = cli("--json", "info", "data:a.txt")
    assert j.code == code and j.out == ""
    assert j.err_json()["error"]["type"] == kind
    assert j.err_json()["error"]["exit_code"] == code


def test_error_messages_never_show_secrets(
    cli: Runner, env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: CLI-031
    from storeroom.config.secret import Secret

    Secret("tok-PLAIN-123")
    env.put_file("a", b"x")

    def boom(self: Store, path: str) -> Any:
        raise BackendUnavailable("auth with tok-PLAIN-123 failed", hint="tok-PLAIN-123 expired")

    monkeypatch.setattr(Store, "get_file_info", boom)
    for args in (("info", "data:a"), ("--json", "info", "data:a")):
        r = cli(*args)
        assert r.code == 8
        assert "tok-PLAIN-123" not in r.err
        assert "***" in r.err
