"""Config resolution, the entry point, instance caching, pickling and fork safety."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from every_backend import registry_on
from storeroom import RegistryConfig, Store
from storeroom.backends.memory import MemoryBackend
from storeroom.config.locate import load_located_config, locate_config
from storeroom.errors import ConfigError, InvalidArgument
from storeroom.ext.fsspec import StoreroomFileSystem, clear_registry_cache


@pytest.fixture(autouse=True)
def _fresh_registries() -> Iterator[None]:
    yield
    clear_registry_cache()


def _toml(path: Path, root: Path) -> Path:
    path.write_text(
        f'[backends.disk]\ntype = "local"\noptions = {{ root = "{root.as_posix()}" }}\n'
        '[stores.data]\nbackend = "disk"\n'
    )
    return path


def test_locate_config_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: FSSPEC-003
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOREROOM_CONFIG", raising=False)
    with pytest.raises(ConfigError) as none:
        locate_config()
    text = str(none.value)
    assert "config=" in text and "STOREROOM_CONFIG" in text and "storeroom.toml" in text
    _toml(tmp_path / "storeroom.toml", tmp_path / "d")
    assert locate_config() == Path("storeroom.toml")
    monkeypatch.setenv("STOREROOM_CONFIG", "/elsewhere.toml")
    assert locate_config() == Path("/elsewhere.toml")
    assert locate_config("given.toml") == Path("given.toml")
    monkeypatch.delenv("STOREROOM_CONFIG")
    assert sorted(load_located_config().stores) == ["data"]


def test_filesystem_finds_config_through_env_and_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: FSSPEC-003, FSSPEC-002
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"from a")
    cfg = _toml(tmp_path / "conf.toml", tmp_path / "a")
    monkeypatch.setenv("STOREROOM_CONFIG", str(cfg))
    assert StoreroomFileSystem().cat_file("storeroom://data/x.txt") == b"from a"
    monkeypatch.delenv("STOREROOM_CONFIG")
    monkeypatch.chdir(tmp_path)
    _toml(tmp_path / "storeroom.toml", tmp_path / "a")
    assert StoreroomFileSystem().cat_file("data/x.txt") == b"from a"


def test_entry_point_without_importing_storeroom(tmp_path: Path) -> None:
    # spec: FSSPEC-001
    (tmp_path / "root" / "reports").mkdir(parents=True)
    cfg = _toml(tmp_path / "storeroom.toml", tmp_path / "root")
    code = (
        "import sys, fsspec\n"
        "assert 'storeroom' not in sys.modules\n"
        "fs = fsspec.filesystem('storeroom', config=sys.argv[1])\n"
        "fs.pipe_file('data/reports/q1.csv', b'a,b\\n1,2\\n')\n"
        "with fsspec.open('storeroom://data/reports/q1.csv', 'rb') as f:\n"
        "    print(type(fs).__name__, f.read().decode().split())\n"
    )
    env = {**os.environ, "STOREROOM_CONFIG": str(cfg)}
    env.pop("PYTHONPATH", None)  # the installed entry point, not this checkout's path hack
    out = subprocess.run(
        [sys.executable, "-c", code, str(cfg)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert out.strip() == "StoreroomFileSystem ['a,b', '1,2']"
    assert (tmp_path / "root" / "reports" / "q1.csv").read_bytes() == b"a,b\n1,2\n"


def test_changed_config_file_is_not_served_from_a_cache(tmp_path: Path) -> None:
    # spec: FSSPEC-021
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "who.txt").write_text(name)
    cfg = _toml(tmp_path / "c.toml", tmp_path / "a")
    first = fsspec.filesystem("storeroom", config=str(cfg))
    assert first.cat_file("data/who.txt") == b"a"
    _toml(cfg, tmp_path / "b")  # same path, new content
    second = fsspec.filesystem("storeroom", config=str(cfg))
    assert second is not first
    assert second.cat_file("data/who.txt") == b"b"
    # Equal configs share one Registry (connections); different ones never do.
    again = fsspec.filesystem("storeroom", config=str(cfg))
    assert again.store_for("data") is second.store_for("data")
    other = RegistryConfig.from_dict(
        {
            "backends": {"disk": {"type": "local", "options": {"root": str(tmp_path / "a")}}},
            "stores": {"data": {"backend": "disk"}},
        }
    )
    assert StoreroomFileSystem(config=other).cat_file("data/who.txt") == b"a"


def test_store_wrapping_instance(tmp_path: Path) -> None:
    # spec: FSSPEC-004, FSSPEC-022
    store = Store(MemoryBackend())
    fs = StoreroomFileSystem(store=store)
    fs.pipe_file("storeroom://dir/a.txt", b"1")
    assert store.read_bytes("dir/a.txt") == b"1"
    assert fs.ls("", detail=False) == ["dir"]
    found = fs.find("/dir/")
    assert found == ["dir/a.txt"] and type(found[0]) is str
    assert fs.store_for("anything") is store
    with pytest.raises(InvalidArgument):
        StoreroomFileSystem(config="x.toml", store=store)
    with pytest.raises(InvalidArgument):
        StoreroomFileSystem(store="not a store")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument) as typo:
        StoreroomFileSystem(store=store, blocksize=10)  # accepted-then-ignored is refused
    assert "blocksize" in str(typo.value)
    with pytest.raises(InvalidArgument):
        StoreroomFileSystem(store=store, block_size=0)


def test_pickles_as_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: FSSPEC-022
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_bytes(b"x")
    _toml(tmp_path / "rel.toml", tmp_path / "a")
    monkeypatch.chdir(tmp_path)
    fs = StoreroomFileSystem(config="rel.toml", block_size=1024)
    monkeypatch.chdir("/")  # a worker elsewhere still finds the file: the path is absolute
    clone = pickle.loads(pickle.dumps(fs))
    assert clone.cat_file("data/x.txt") == b"x" and clone._block_size == 1024
    by_value = StoreroomFileSystem(config=load_located_config(tmp_path / "rel.toml"))
    assert pickle.loads(pickle.dumps(by_value)).cat_file("data/x.txt") == b"x"


def _child_roundtrip(fs: StoreroomFileSystem, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    try:
        seen = fs.cat_file("s/parent.txt")
        fs.pipe_file("s/child.txt", seen + b" child")
        queue.put(("ok", fs.ls("s", detail=False)))
    except BaseException as exc:  # reported to the parent
        queue.put(("error", repr(exc)))


@pytest.mark.parametrize("backend", ["s3", "sftp"])
def test_inherited_instance_works_after_fork(backend: str, tmp_path: Path) -> None:
    # spec: FSSPEC-023
    registry = registry_on(backend, tmp_path)
    fs = StoreroomFileSystem(config=registry.config)
    try:
        fs.pipe_file("s/parent.txt", b"parent")
        assert fs.ls("s", detail=False) == ["s/parent.txt"]  # connections now open
        ctx = multiprocessing.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=_child_roundtrip, args=(fs, queue))
        proc.start()
        status, value = queue.get(timeout=60)
        proc.join(60)
        assert (status, value) == ("ok", ["s/child.txt", "s/parent.txt"])
        assert fs.cat_file("s/child.txt") == b"parent child"  # the parent still works too
    finally:
        fs.rm("s", recursive=True)
        registry.close()
