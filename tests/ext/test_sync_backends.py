"""``plan``/``apply`` on every writable backend, real servers included (spec SYNC-050)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from every_backend import WRITABLE, registry_on
from local_files import tree
from storeroom import Store
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.ext.sync import DIGEST_KEY, apply, plan
from storeroom.layers.observe import ObserveEvent, ObserveLayer

FILES = {"a.txt": b"aaa", "d/b.txt": b"bbbb" * 1000, "d/e/c.txt": b"c"}


@pytest.mark.parametrize("backend", WRITABLE)
def test_sync_up_across_and_down(backend: str, tmp_path: Path) -> None:
    # spec: SYNC-050, SYNC-003, SYNC-040
    registry = registry_on(backend, tmp_path)
    store = registry.get_store("s")
    try:
        src = tree(tmp_path / "src", FILES)
        p = plan(src, (store, "up"), compare="checksum")
        assert len(p.copies) == 3
        assert apply(p).ok
        assert store.read_bytes("up/d/b.txt") == FILES["d/b.txt"]
        events: list[ObserveEvent] = []
        seen = Store(
            ObserveLayer(registry.get_backend("b"), log=False, sinks=[events.append]),
            store.root_path,
            owns_backend=False,
        )
        assert len(plan(src, (seen, "up"), compare="checksum")) == 0
        reads = sum(1 for e in events if e.operation == "open_read")
        if store.supports("user_metadata"):
            digest = hashlib.sha256(FILES["d/b.txt"]).hexdigest()
            assert store.head("up/d/b.txt").metadata[DIGEST_KEY] == digest
            assert reads == 0  # digests from metadata, not from the contents
        else:
            assert reads == 3
        assert len(plan(src, (store, "up"))) == 0
        # store -> store on one backend (server-side where it can), with deletion
        store.write("copy/extra.txt", b"x")
        across = plan((store, "up"), (store, "copy"), delete=True)
        assert [a.path for a in across.deletes] == ["extra.txt"] and len(across.copies) == 3
        assert apply(across).ok
        assert not store.exists("copy/extra.txt")
        assert store.read_bytes("copy/d/e/c.txt") == b"c"
        assert len(plan((store, "up"), (store, "copy"), delete=True)) == 0
        # store -> another backend, and down to a local folder
        mem = Store(MemoryBackend())
        assert apply(plan((store, "copy"), mem)).ok
        assert mem.read_bytes("d/b.txt") == FILES["d/b.txt"]
        down = tmp_path / "down"
        assert apply(plan((store, "up"), down)).ok
        assert (down / "d/b.txt").read_bytes() == FILES["d/b.txt"]
        store.write("up/a.txt", b"AAAA", overwrite=True)
        again = plan((store, "up"), down)
        assert [(a.path, a.reason) for a in again] == [("a.txt", "size")]
        assert apply(again).ok and (down / "a.txt").read_bytes() == b"AAAA"
    finally:
        whole = Store(registry.get_backend("b"), owns_backend=False)
        whole.delete_folder(store.root_path, recursive=True, missing_ok=True)
        registry.close()
