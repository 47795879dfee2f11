"""The ``mount`` backend: references, routing, merged listings, per-mount capabilities (48-*)."""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis.stateful import run_state_machine_as_test

from storeroom import Registry, RegistryConfig, Store
from storeroom.aio import AsyncStore
from storeroom.backends import MemoryBackend, MountBackend
from storeroom.capabilities import Capability as C
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
)
from storeroom.testing.conformance.suite_stateful import MACHINE_SETTINGS, make_store_machine


def _paths(entries: Any) -> list[str]:
    return [str(e.path) for e in entries]


def _config(mounts: dict[str, Any], **backends: Any) -> dict[str, Any]:
    return {
        "backends": {
            "disk": {"type": "memory"},
            "lake": {"type": "memory"},
            **backends,
            "all": {"type": "mount", "options": {"mounts": mounts}},
        },
        "stores": {
            "all": {"backend": "all"},
            "disk": {"backend": "disk"},
            "lake": {"backend": "lake"},
        },
    }


@pytest.fixture
def reg() -> Registry:
    return Registry(_config({"raw/": "lake:raw", "": "disk:"}))


# -- configuration ------------------------------------------------------------------------


# spec: MOUNT-010, MOUNT-012
def test_toml_example_routes_to_the_named_backends(tmp_path: Path) -> None:
    cfg = tmp_path / "storeroom.toml"
    cfg.write_text(
        '[backends.disk]\ntype = "local"\noptions.root = "' + str(tmp_path / "d") + '"\n'
        '[backends.lake]\ntype = "memory"\n'
        '[backends.all]\ntype = "mount"\n'
        "[backends.all.options.mounts]\n"
        '"raw/" = "lake:raw"\n'
        '"" = "disk:"\n'
        '[stores.all]\nbackend = "all"\n[stores.lake]\nbackend = "lake"\n'
    )
    with Registry(RegistryConfig.from_toml(cfg)) as reg:
        store = reg.get_store("all")
        store.write("raw/x.csv", b"x")
        store.write("top.txt", b"t")
        assert reg.get_store("lake").read_bytes("raw/x.csv") == b"x"
        assert (tmp_path / "d" / "top.txt").read_bytes() == b"t"
        assert not (tmp_path / "d" / "raw").exists()


# spec: MOUNT-011
def test_reference_forms_backend_store_and_inline(tmp_path: Path) -> None:
    config = _config(
        {
            "a/": {"backend": "lake", "path": "x/y"},
            "b/": {"store": "sub"},
            "c/": {"type": "local", "options": {"root": str(tmp_path / "c")}, "path": "in"},
            "d/": "lake",
        }
    )
    config["stores"]["sub"] = {"backend": "lake", "root_path": "under"}
    with Registry(config) as reg:
        store = reg.get_store("all")
        for top in "abcd":
            store.write(f"{top}/f", top.encode())
        lake = reg.get_store("lake")
        assert lake.read_bytes("x/y/f") == b"a"
        assert lake.read_bytes("under/f") == b"b"
        assert lake.read_bytes("f") == b"d"
        assert (tmp_path / "c" / "in" / "f").read_bytes() == b"c"


@pytest.mark.parametrize(
    ("mounts", "key", "words"),
    [
        ({"": "nope:"}, 'backends.all.options.mounts.""', "unknown backend 'nope'"),
        ({"x/": {"store": "ghost"}}, 'backends.all.options.mounts."x/"', "unknown store 'ghost'"),
        ({"x/": ":sub"}, 'backends.all.options.mounts."x/"', "names no backend"),
        ({"x/": "lake:../up"}, 'backends.all.options.mounts."x/"', "not a valid folder path"),
        ({"../x": "lake:"}, 'backends.all.options.mounts."../x"', "not a valid mount prefix"),
        ({"x": "lake:", "x/": "disk:"}, 'backends.all.options.mounts."x/"', "same folder"),
        ({"x/": 3}, 'backends.all.options.mounts."x/"', "expected a reference"),
        ({"x/": {"backend": "lake", "store": "lake"}}, 'mounts."x/"', "exactly one of"),
        ({"x/": {"type": "nosuch"}}, 'mounts."x/".type', "unknown backend type"),
        ({}, "backends.all.options.mounts", "empty"),
    ],
)
# spec: MOUNT-011, MOUNT-013
def test_bad_references_are_config_errors_naming_the_key(
    mounts: dict[str, Any], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        Registry(_config(mounts))
    assert info.value.key is not None and info.value.key.endswith(key), info.value.key
    assert words in str(info.value)


# spec: MOUNT-013
def test_a_store_name_given_as_backend_gets_a_hint() -> None:
    config = _config({"x/": "reports:"})
    config["stores"]["reports"] = {"backend": "lake"}
    with pytest.raises(ConfigError) as info:
        Registry(config)
    assert '{ store = "reports" }' in str(info.value)


# spec: MOUNT-014
def test_cycles_are_refused_naming_the_key() -> None:
    direct = _config({"": "all:"})
    with pytest.raises(ConfigError, match="cycle") as info:
        Registry(direct)
    assert info.value.key == 'backends.all.options.mounts.""'
    indirect = _config(
        {"x/": {"store": "via"}},
        other={"type": "tiers", "options": {"tiers": ["disk:", "all:sub"]}},
    )
    indirect["stores"]["via"] = {"backend": "other"}
    with pytest.raises(
        ConfigError, match=r"cycle \((all → other → all|other → all → other)\)"
    ) as info:
        Registry(indirect)
    assert info.value.key in (
        'backends.all.options.mounts."x/"',
        "backends.other.options.tiers[1]",
    )
    inline = _config({"x/": {"type": "mount", "options": {"mounts": {"": "all:"}}}})
    with pytest.raises(ConfigError, match="cycle"):
        Registry(inline)


# -- routing and listings ------------------------------------------------------------------


# spec: MOUNT-001, MOUNT-002
def test_longest_prefix_wins_and_deeper_mounts_shadow() -> None:
    config = _config({"": "disk:", "a/": "lake:one", "a/b/": "lake:two"})
    with Registry(config) as reg:
        disk, lake, store = reg.get_store("disk"), reg.get_store("lake"), reg.get_store("all")
        disk.write("a/hidden.txt", b"h")  # under the "a/" mount: not visible
        store.write("a/b/c/f", b"deep")
        store.write("a/g", b"mid")
        store.write("h", b"top")
        assert lake.read_bytes("two/c/f") == b"deep"
        assert lake.read_bytes("one/g") == b"mid"
        assert not lake.exists("one/b")
        assert _paths(store.list_files(recursive=True)) == ["a/b/c/f", "a/g", "h"]
        assert not store.exists("a/hidden.txt")


# spec: MOUNT-003
def test_listing_above_mounts_merges_sorted_and_deduplicated(reg: Registry) -> None:
    store, disk = reg.get_store("all"), reg.get_store("disk")
    disk.write("raw/shadowed.bin", b"s")  # disk's own raw/ is hidden by the mount
    disk.write("q.txt", b"q")
    disk.write("a/b.txt", b"b")
    store.write("raw/x.csv", b"x")
    assert _paths(store.iter_children()) == ["a", "q.txt", "raw"]
    assert _paths(store.list_folders()) == ["a", "raw"]
    assert _paths(store.list_files(recursive=True)) == ["a/b.txt", "q.txt", "raw/x.csv"]
    assert _paths(store.glob("**/*.csv")) == ["raw/x.csv"]


# spec: MOUNT-003, MOUNT-004
def test_mount_points_and_their_parents_are_folders_even_when_empty() -> None:
    with Registry(_config({"": "disk:", "x/y/z/": "lake:"})) as reg:
        store = reg.get_store("all")
        for folder in ("x", "x/y", "x/y/z"):
            assert store.is_folder(folder) and store.exists(folder)
            assert not store.is_file(folder)
        assert _paths(store.iter_children()) == ["x"]
        assert _paths(store.list_folders(max_depth=5)) == ["x", "x/y", "x/y/z"]
        with pytest.raises(InvalidPath) as info:
            store.write("x/y", b"no")
        assert info.value.path == "x/y"
        with pytest.raises(DirectoryNotEmpty):
            store.delete_folder("x")
        store.write("x/y/z/f", b"1")
        store.delete_folder("x", recursive=True)
        assert store.is_folder("x/y/z") and not store.exists("x/y/z/f")


# spec: MOUNT-005
def test_paths_outside_every_mount() -> None:
    with Registry(_config({"only/": "lake:"})) as reg:
        store = reg.get_store("all")
        assert _paths(store.iter_children()) == ["only"]
        assert not store.exists("elsewhere.txt")
        with pytest.raises(NotFound):
            store.read_bytes("elsewhere.txt")
        with pytest.raises(InvalidPath, match="no mount covers") as info:
            store.write("elsewhere.txt", b"x")
        assert info.value.path == "elsewhere.txt"


# spec: MOUNT-001, MOUNT-003
def test_the_model_holds_across_mounts(tmp_path: Path) -> None:
    # The conformance state machine's tree, split over four backends.
    config = _config(
        {
            "": "disk:",
            "d1/": {"type": "local", "options": {"root": str(tmp_path / "l")}},
            "d1/d2/": "lake:two",
            "d3/": {"type": "sql-blob", "options": {"url": f"sqlite:///{tmp_path / 'b.db'}"}},
        }
    )
    with Registry(config) as reg:
        base = reg.get_store("all")
        machine = make_store_machine(lambda: base, real_folders=True)

        def fresh() -> Any:
            for path in _paths(base.list_files(recursive=True)):
                base.delete(path)
            return machine()

        run_state_machine_as_test(fresh, settings=MACHINE_SETTINGS)


# -- capabilities --------------------------------------------------------------------------


# spec: MOUNT-020, MOUNT-021
def test_a_write_under_a_read_only_mount_is_refused_naming_the_path() -> None:
    config = _config({"": "disk:", "ro/": {"store": "frozen"}})
    config["stores"]["frozen"] = {"backend": "lake", "layers": ["readonly"]}
    with Registry(config) as reg:
        store = reg.get_store("all")
        reg.get_store("lake").write("seed.txt", b"seed")
        assert store.read_bytes("ro/seed.txt") == b"seed"
        assert store.supports(C.WRITE) and not store.supports(C.ATOMIC_MOVE)
        for call in (
            lambda: store.write("ro/new.txt", b"x"),
            lambda: store.delete("ro/seed.txt"),
            lambda: store.move("seed2", "ro/x"),
            lambda: store.move("ro/seed.txt", "elsewhere.txt"),
            lambda: store.write_atomic("ro/a.txt", b"x"),
        ):
            with pytest.raises(CapabilityNotSupported) as info:
                call()
            err = info.value
            assert err.path is not None and err.path.startswith(("ro/", "seed2"))
            assert err.backend == "mount"
            assert "read-only" in err.message and 'mount "ro/"' in err.message
        assert reg.get_store("lake").read_bytes("seed.txt") == b"seed"
        assert not store.exists("elsewhere.txt")
        store.write("rw.txt", b"fine")  # the other mount still writes


# spec: MOUNT-021
def test_capabilities_are_the_union_of_gates_and_the_intersection_of_flags(
    tmp_path: Path,
) -> None:
    local = {"type": "local", "options": {"root": str(tmp_path)}}
    with Registry(_config({"": "disk:", "l/": local})) as reg:
        store = reg.get_store("all")
        assert store.supports(C.USER_METADATA)  # memory has it, local does not
        assert C.ATOMIC_MOVE not in store.capabilities
        store.write("m.txt", b"x", metadata={"k": "v"})
        assert store.get_file_info("m.txt").metadata == {"k": "v"}
        with pytest.raises(CapabilityNotSupported, match=r'mount "l/"') as info:
            store.write("l/m.txt", b"x", metadata={"k": "v"})
        assert info.value.path == "l/m.txt" and info.value.capability == "user_metadata"
        store.write_atomic("l/atomic.txt", b"derived on local")
        assert (tmp_path / "atomic.txt").read_bytes() == b"derived on local"


# -- moves, copies, errors -----------------------------------------------------------------


# spec: MOUNT-032
def test_a_move_across_mounts_is_copy_then_delete(reg: Registry) -> None:
    store, lake, disk = reg.get_store("all"), reg.get_store("lake"), reg.get_store("disk")
    store.write("a.bin", b"payload", metadata={"who": "me"})
    store.move("a.bin", "raw/a.bin")
    assert lake.read_bytes("raw/a.bin") == b"payload"
    assert lake.get_file_info("raw/a.bin").metadata == {"who": "me"}
    assert not disk.exists("a.bin")
    store.write("b.bin", b"other")
    with pytest.raises(AlreadyExists) as info:
        store.move("b.bin", "raw/a.bin")
    assert info.value.path == "raw/a.bin"
    assert disk.read_bytes("b.bin") == b"other"  # nothing deleted
    store.copy("raw/a.bin", "c.bin")
    assert store.read_bytes("c.bin") == b"payload" and store.exists("raw/a.bin")


# spec: MOUNT-032
def test_a_move_between_two_mounts_of_one_backend_is_that_backends_move() -> None:
    with Registry(_config({"x/": "lake:one", "y/": "lake:two"})) as reg:
        store, lake = reg.get_store("all"), reg.get_store("lake")
        store.write("x/f", b"1")
        etag = lake.get_file_info("one/f").etag
        store.move("x/f", "y/f")
        assert lake.get_file_info("two/f").etag == etag  # renamed, not rewritten
        assert not lake.exists("one/f")


# spec: MOUNT-030
def test_errors_name_the_store_path_the_mount_and_the_backend(reg: Registry) -> None:
    store = reg.get_store("all").child("raw")
    with pytest.raises(NotFound) as info:
        store.read_bytes("missing.csv")
    err = info.value
    assert err.path == "missing.csv" and err.backend == "mount" and err.store == "all"
    assert 'mount "raw/"' in err.message and "lake:raw" in err.message
    assert "memory" in err.message


# -- API surfaces --------------------------------------------------------------------------


# spec: MOUNT-006
def test_built_in_code_and_pickled(tmp_path: Path) -> None:
    from storeroom.backends import LocalBackend

    side = LocalBackend(root=str(tmp_path))
    store = Store(MountBackend({"": (side, "root"), "mem": MemoryBackend()}))
    store.write("a/f.txt", b"disk")
    store.write("mem/g.txt", b"ram")
    assert (tmp_path / "root" / "a" / "f.txt").read_bytes() == b"disk"
    assert _paths(store.iter_children()) == ["a", "mem"]
    again = pickle.loads(pickle.dumps(store))
    assert again.read_bytes("a/f.txt") == b"disk"
    assert _paths(again.iter_children()) == ["a", "mem"]
    with pytest.raises(ConfigError, match="built by a Registry"):
        MountBackend.from_options(MountBackend.options_class.parse({"mounts": {"": "x:"}}))


# spec: MOUNT-006
def test_async_store_over_a_mount(reg: Registry) -> None:
    async def main() -> None:
        astore: AsyncStore = reg.get_async_store("all")
        await astore.write("raw/a.csv", b"1")
        await astore.write("b.txt", b"2")
        assert await astore.read_bytes("raw/a.csv") == b"1"
        found = [str(e.path) async for e in astore.list_files(recursive=True)]
        assert found == ["b.txt", "raw/a.csv"]
        await astore.move("b.txt", "raw/b.txt")
        assert await astore.exists("raw/b.txt")

    asyncio.run(main())
    assert reg.get_store("lake").read_bytes("raw/b.txt") == b"2"


# spec: MOUNT-006
def test_cli_lists_and_copies_across_mounts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from storeroom.cli import main

    disk, lake = tmp_path / "disk", tmp_path / "lake"
    cfg = tmp_path / "storeroom.toml"
    cfg.write_text(
        f'[backends.disk]\ntype = "local"\noptions.root = "{disk}"\n'
        f'[backends.lake]\ntype = "local"\noptions.root = "{lake}"\n'
        '[backends.all]\ntype = "mount"\n'
        '[backends.all.options.mounts]\n"raw/" = "lake:raw"\n"" = "disk:"\n'
        '[stores.all]\nbackend = "all"\n'
    )
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "x.csv").write_bytes(b"a,b\n")
    disk.mkdir()
    (disk / "top.txt").write_bytes(b"t")
    assert main(["--config", str(cfg), "ls", "all:"]) == 0
    out = capsys.readouterr().out
    assert "raw/" in out and "top.txt" in out
    assert main(["--config", str(cfg), "cp", "all:raw/x.csv", "all:copy.csv"]) == 0
    assert (disk / "copy.csv").read_bytes() == b"a,b\n"
    assert main(["--config", str(cfg), "ls", "-r", "all:"]) == 0
    out = capsys.readouterr().out
    assert "raw/x.csv" in out and "copy.csv" in out


# spec: MOUNT-015
def test_a_registered_type_can_build_over_other_backends() -> None:
    from storeroom import register_backend
    from storeroom.backends.mount.config import MountOptions

    class Mirror(MountBackend):
        """A third-party type: the mount's options, built through the same hook."""

    register_backend("test-mirror", Mirror, options_class=MountOptions, replace=True)
    config = _config({"": "disk:"})
    config["backends"]["m"] = {"type": "test-mirror", "options": {"mounts": {"": "lake:"}}}
    config["stores"]["m"] = {"backend": "m"}
    with Registry(config) as reg:
        reg.get_store("m").write("f", b"via hook")
        assert reg.get_store("lake").read_bytes("f") == b"via hook"
    config["backends"]["m"]["options"]["mounts"] = {"": "ghost:"}
    with pytest.raises(ConfigError, match="unknown backend 'ghost'"):
        Registry(config)


# spec: MOUNT-040
def test_mounts_and_tiers_compose() -> None:
    config = _config(
        {"": "disk:", "cached/": "layered:"},
        layered={"type": "tiers", "options": {"tiers": ["disk:cache", "lake:"]}},
    )
    with Registry(config) as reg:
        store, lake = reg.get_store("all"), reg.get_store("lake")
        lake.write("model.bin", b"weights")
        assert store.read_bytes("cached/model.bin") == b"weights"
        store.write("cached/out.txt", b"result")
        assert reg.get_store("disk").read_bytes("cache/out.txt") == b"result"
        assert _paths(store.list_files("cached")) == ["cached/model.bin", "cached/out.txt"]


# spec: MOUNT-031
def test_merged_listings_stream() -> None:
    class Counting(MemoryBackend):
        seen = 0

        def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Any:
            for entry in super().list(prefix, recursive=recursive, base=base):
                Counting.seen += 1
                yield entry

    root = Counting()
    store = Store(MountBackend({"": root, "m": MemoryBackend()}))
    for i in range(500):
        Store(root).write(f"f{i:04d}", b"")
    Counting.seen = 0
    first = next(iter(store.list_files(recursive=True)))
    assert str(first.path) == "f0000"
    assert Counting.seen <= 3  # one entry pulled per source, not the whole listing
