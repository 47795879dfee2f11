"""The cache layer's on-disk tier (spec LAYER-028)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from layer_support import NoSleep, Scripted, memory_config, store_on
from test_cache import CacheMatchesBackend

from storeroom import Registry
from storeroom.backends.local.backend import LocalBackend
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import ConfigError
from storeroom.layers import CacheLayer, ObserveLayer, Recorder
from storeroom.store import Store

BIG = 2000  # above max_item_bytes below: goes to disk


def disk_cached(
    tmp_path: Path, ttl_s: float | None = 60.0, inner: Any = None, **kw: Any
) -> tuple[Store, CacheLayer, Scripted, NoSleep]:
    clock = NoSleep()
    counting = Scripted(inner)
    kw.setdefault("max_item_bytes", 1000)
    layer = CacheLayer(
        counting, ttl_s=ttl_s, clock=clock.clock, cache_dir=str(tmp_path / "c"), **kw
    )
    return store_on(layer), layer, counting, clock


def files(tmp_path: Path, suffix: str) -> list[Path]:
    return sorted((tmp_path / "c").glob(f"*{suffix}"))


def content(n: int, size: int = BIG) -> bytes:
    return bytes([n % 256]) * size


def test_large_whole_reads_go_to_disk_small_ones_stay_in_memory(tmp_path: Path) -> None:
    # spec: LAYER-028
    store, layer, counting, _ = disk_cached(tmp_path)
    store.write("big", content(1))
    store.write("small", b"s" * 100)
    for _ in range(3):
        assert store.read_bytes("big") == content(1)
        assert store.read_bytes("small") == b"s" * 100
    assert counting.calls["open_read"] == 2
    stats = layer.stats
    assert stats.disk_hits == 2 and stats.disk_misses == 1
    assert stats.bytes < BIG  # the big file never went into memory
    assert len(files(tmp_path, ".meta")) == 1 and len(files(tmp_path, ".data")) == 1
    assert files(tmp_path, ".data")[0].read_bytes() == content(1)
    meta = json.loads(files(tmp_path, ".meta")[0].read_text())
    assert meta["key"] == "big" and meta["size"] == BIG and meta["etag"] and meta["mtime"]


def test_hits_stream_from_the_cached_file_and_serve_ranges(tmp_path: Path) -> None:
    # spec: LAYER-028, LAYER-027
    store, _, counting, _ = disk_cached(tmp_path)
    data = bytes(range(256)) * 8
    store.write("f", data)
    store.read_bytes("f")
    with store.read("f") as stream:
        assert stream.read(10) == data[:10]
        assert stream.read(5) == data[10:15]
        assert stream.read() == data[15:]
    assert store.read_range("f", 100, 300) == data[100:300]
    assert store.read_range("f", 2000, None) == data[2000:]
    assert store.read_range("f", 5000, 6000) == b""
    with store.read_seekable("f") as stream:
        stream.seek(1000)
        assert stream.read(3) == data[1000:1003]
    assert counting.calls["open_read"] == 1


def test_partial_reads_do_not_fill(tmp_path: Path) -> None:
    # spec: LAYER-028
    store, layer, counting, _ = disk_cached(tmp_path)
    store.write("f", content(3))
    with store.read("f") as stream:
        stream.read(100)
    with store.read_seekable("f") as stream:
        stream.seek(10)
        stream.read()
    store.read_range("f", 0, 10)
    assert files(tmp_path, ".meta") == []
    assert not list((tmp_path / "c").iterdir())  # no temporary file left behind either
    assert layer.stats.disk_hits == 0 and counting.calls["open_read"] == 3


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s.write("a/b/f", b"new" * 800, overwrite=True),
        lambda s: s.delete("a/b/f"),
        lambda s: s.move("a/b/f", "a/b/g", overwrite=True),
        lambda s: s.copy("a/b/g", "a/b/f", overwrite=True),
        lambda s: s.delete_folder("a", recursive=True),
    ],
)
def test_changes_through_the_layer_drop_disk_entries(tmp_path: Path, change: Any) -> None:
    # spec: LAYER-023, LAYER-028
    store, _, _, _ = disk_cached(tmp_path)
    plain = Store(store.backend.inner.inner)  # type: ignore[attr-defined]
    store.write("a/b/f", content(1))
    store.write("a/b/g", content(2))
    store.read_bytes("a/b/f")
    store.read_bytes("a/b/g")
    assert len(files(tmp_path, ".meta")) == 2
    change(store)

    def look(s: Store) -> list[Any]:
        return [s.is_file(p) and s.read_bytes(p) for p in ("a/b/f", "a/b/g")]

    assert look(store) == look(plain)


def test_a_fill_racing_a_write_is_not_published(tmp_path: Path) -> None:
    # spec: LAYER-024, LAYER-028
    store, _, _, _ = disk_cached(tmp_path)
    store.write("f", content(1))
    with store.read("f") as stream:
        first = stream.read(10)
        store.write("f", content(2), overwrite=True)
        rest = stream.read()
    assert first + rest == content(1)
    assert files(tmp_path, ".meta") == []
    assert store.read_bytes("f") == content(2)
    assert store.read_bytes("f") == content(2)


def test_ttl_revalidates_unchanged_files_and_refetches_changed_ones(tmp_path: Path) -> None:
    # spec: LAYER-021, LAYER-028
    store, layer, counting, clock = disk_cached(tmp_path, ttl_s=10)
    behind = Store(counting.inner)
    store.write("f", content(1))
    store.read_bytes("f")
    clock.now += 11  # stat and disk entry expired; the file did not change
    assert store.read_bytes("f") == content(1)
    assert counting.calls["open_read"] == 1 and layer.stats.disk_hits == 1
    behind.write("f", content(2), overwrite=True)  # a change the layer does not see
    assert store.read_bytes("f") == content(1)  # within the ttl: as the memory tier would
    clock.now += 11
    assert store.read_bytes("f") == content(2)
    assert store.read_bytes("f") == content(2)
    assert counting.calls["open_read"] == 2


def test_expired_entry_with_only_a_size_is_refetched(tmp_path: Path) -> None:
    # spec: LAYER-028
    store, layer, counting, clock = disk_cached(tmp_path, ttl_s=10)
    store.write("f", content(1))
    store.read_bytes("f")
    meta = files(tmp_path, ".meta")[0]
    doc = json.loads(meta.read_text())
    meta.write_text(json.dumps(dict(doc, etag=None, mtime=None)))
    clock.now += 11
    store.get_file_info("f")  # refresh the stat; the weak entry no longer matches it
    assert store.read_bytes("f") == content(1)
    assert counting.calls["open_read"] == 2 and layer.stats.disk_hits == 0


def test_bounded_by_bytes_evicting_least_recently_used(tmp_path: Path) -> None:
    # spec: LAYER-028
    store, layer, counting, _ = disk_cached(tmp_path, disk_max_bytes=3 * BIG + 10)
    for n in range(3):
        store.write(f"f{n}", content(n))
        store.read_bytes(f"f{n}")
    store.read_bytes("f0")  # f0 is now more recent than f1
    store.write("f3", content(3))
    store.read_bytes("f3")
    assert sum(p.stat().st_size for p in files(tmp_path, ".data")) <= 3 * BIG + 10
    assert layer.stats.disk_evictions == 1 and layer.stats.disk_bytes == 3 * BIG
    reads = counting.calls["open_read"]
    store.read_bytes("f0")
    store.read_bytes("f3")
    assert counting.calls["open_read"] == reads
    store.read_bytes("f1")  # the evicted one
    assert counting.calls["open_read"] == reads + 1
    store.write("huge", content(9, 4 * BIG))
    store.read_bytes("huge")
    assert not any(b"huge" in p.read_bytes() for p in files(tmp_path, ".meta"))


def test_damaged_or_half_written_entries_are_misses(tmp_path: Path) -> None:
    # spec: LAYER-028
    store, layer, counting, _ = disk_cached(tmp_path)
    for n in range(3):
        store.write(f"f{n}", content(n))
        store.read_bytes(f"f{n}")
    metas = {json.loads(p.read_text())["key"]: p for p in files(tmp_path, ".meta")}
    data0 = tmp_path / "c" / json.loads(metas["f0"].read_text())["data"]
    data0.write_bytes(content(0)[:100])  # as if a crash cut the file short
    metas["f1"].write_text('{"v": 1, "id": ')  # a torn sidecar
    (tmp_path / "c" / json.loads(metas["f2"].read_text())["data"]).unlink()
    (tmp_path / "c" / ".tmp-leftover").write_bytes(b"junk")
    before = counting.calls["open_read"]
    for n in range(3):
        assert store.read_bytes(f"f{n}") == content(n)
    assert counting.calls["open_read"] == before + 3 and layer.stats.disk_hits == 0
    for n in range(3):
        assert store.read_bytes(f"f{n}") == content(n)
    assert layer.stats.disk_hits == 3


def test_two_layers_share_a_directory(tmp_path: Path) -> None:
    # spec: LAYER-028
    root = tmp_path / "data"
    root.mkdir()
    a = Store(
        CacheLayer(LocalBackend(root=str(root)), cache_dir=str(tmp_path / "c"), max_item_bytes=10)
    )
    b_layer = CacheLayer(
        LocalBackend(root=str(root)), cache_dir=str(tmp_path / "c"), max_item_bytes=10
    )
    b = Store(b_layer)
    a.write("f", content(1))
    assert a.read_bytes("f") == content(1)
    assert b.read_bytes("f") == content(1)
    assert b_layer.stats.disk_hits == 1  # filled by the other layer
    other = Store(CacheLayer(MemoryBackend(), cache_dir=str(tmp_path / "c"), max_item_bytes=10))
    other.write("f", content(7))
    assert other.read_bytes("f") == content(7)  # another backend: its own entry
    assert b.read_bytes("f") == content(1)
    a.write("f", content(2), overwrite=True)
    assert a.read_bytes("f") == content(2)
    b_layer.clear(disk=False)  # b's memory tier would otherwise show the old stat for ttl_s
    assert b.read_bytes("f") == content(2)


_WORKER = textwrap.dedent(
    """
    import sys
    from storeroom.backends.local.backend import LocalBackend
    from storeroom.layers import CacheLayer
    from storeroom.store import Store

    root, cache, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = Store(CacheLayer(LocalBackend(root=root), cache_dir=cache, max_item_bytes=10,
                             disk_max_bytes=12_000, ttl_s=0.05))
    bad = 0
    for i in range(150):
        key = f"k{(i * 7 + seed) % 5}"
        if i % 4 == seed % 4:
            n = (i + seed) % 250 + 1
            # atomic: plain overwrites racing in two processes may interleave on disk
            store.write_atomic(key, bytes([n]) * (4000 + n), overwrite=True)
        else:
            try:
                data = store.read_bytes(key)
            except Exception:
                continue
            if not data or data != bytes([data[0]]) * (4000 + data[0]):
                bad += 1
    print(bad)
    """
)


def test_processes_sharing_a_directory_never_see_a_wrong_or_partial_file(tmp_path: Path) -> None:
    # spec: LAYER-028
    root = tmp_path / "data"
    root.mkdir()
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), str(tmp_path / "c"), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(3)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0]
    assert outs == ["0", "0", "0"]
    # LAYER-028f: each process bounds what it adds since its last rescan, so three
    # processes may each overshoot by up to disk_max_bytes plus one entry.
    assert sum(p.stat().st_size for p in files(tmp_path, ".data")) <= 3 * (12_000 + 4300)
    # No race between the processes left a data file that no sidecar names, or a
    # claimed sidecar behind.
    cache = tmp_path / "c"
    named = {json.loads(p.read_text())["data"] for p in cache.glob("*.meta")}
    assert {p.name for p in cache.glob("*.data")} <= named
    assert not list(cache.glob(".tmp-*"))


def test_threads_share_the_disk_tier(tmp_path: Path) -> None:
    # spec: LAYER-026, LAYER-028
    layer = CacheLayer(MemoryBackend(), cache_dir=str(tmp_path / "c"), max_item_bytes=10)
    store = store_on(layer)
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(60):
            path = f"t{i % 3}"
            if i % 5 == n % 5:
                store.write(path, content(i, 500 + i), overwrite=True)
            data = store.read_bytes(path) if store.exists(path) else b""
            if data and data != bytes([data[0]]) * (500 + data[0]):
                errors.append(path)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(3):
        assert store.read_bytes(f"t{i}") == Store(layer.inner).read_bytes(f"t{i}")


def test_disk_hits_reach_observe(tmp_path: Path) -> None:
    # spec: LAYER-028, LAYER-032
    recorder = Recorder()
    layer = CacheLayer(MemoryBackend(), cache_dir=str(tmp_path / "c"), max_item_bytes=10)
    store = store_on(ObserveLayer(layer, sinks=[recorder], log=False))
    store.write("f", content(1))
    store.read_bytes("f")
    store.read_bytes("f")
    assert [e.cache_hit for e in recorder.of("open_read")] == [False, True]


def test_config_code_and_pickling(tmp_path: Path) -> None:
    # spec: LAYER-002, LAYER-028
    cache = tmp_path / "c"
    reg = Registry(
        memory_config(
            [
                {
                    "type": "cache",
                    "cache_dir": str(cache),
                    "disk_max_bytes": 10_000,
                    "max_item_bytes": 9,
                }
            ]
        )
    )
    store = reg.get_store("s")
    store.write("f", content(1))
    assert store.read_bytes("f") == content(1)
    assert len(files(tmp_path, ".data")) == 1
    layer = store.unwrap(CacheLayer)
    assert layer.options.cache_dir == str(cache) and layer.options.disk_max_bytes == 10_000
    copy = pickle.loads(pickle.dumps(layer))
    assert copy.options == layer.options
    with pytest.raises(ConfigError, match=r"layers\[0\]\.disk_max_bytes"):
        CacheLayer.Options.parse({"disk_max_bytes": -1}, where="layers[0]")
    with pytest.raises(ConfigError, match=r"layers\[0\]\.cache_dir"):
        CacheLayer.Options.parse({"cache_dir": 5}, where="layers[0]")
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    with pytest.raises(ConfigError, match="cache_dir"):
        CacheLayer(MemoryBackend(), cache_dir=str(blocker / "sub"))


def test_close_keeps_the_directory_clear_empties_it(tmp_path: Path) -> None:
    # spec: LAYER-025, LAYER-028
    store, layer, _, _ = disk_cached(tmp_path)
    store.write("f", content(1))
    store.read_bytes("f")
    layer.close()
    assert len(files(tmp_path, ".data")) == 1
    layer.clear()
    assert files(tmp_path, ".data") == [] and files(tmp_path, ".meta") == []


# -- the equivalence state machine, with the disk tier on (LAYER-029) ---------------------


class CacheWithDiskMatchesBackend(CacheMatchesBackend):
    """As ``CacheMatchesBackend``, with files over 2 bytes on disk and a tight disk bound."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="storeroom-disk-")
        self.cached = Store(
            CacheLayer(
                MemoryBackend(),
                max_bytes=4000,
                max_item_bytes=2,
                cache_dir=self.dir,
                disk_max_bytes=60,
            )
        )

    def teardown(self) -> None:
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


TestCacheWithDiskMatchesBackend = CacheWithDiskMatchesBackend.TestCase
TestCacheWithDiskMatchesBackend.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None
)
