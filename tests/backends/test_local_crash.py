"""A killed writer never destroys data on the local backend; its leftovers are cleaned up."""

from __future__ import annotations

import errno
import io
import os
import random
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from storeroom import Store
from storeroom.backends.local import LocalBackend
from storeroom.backends.local._fileops import STALE_AFTER
from storeroom.errors import DirectoryNotEmpty

SIZE = 4 * 1024 * 1024
OLD = b"o" * SIZE
NEW = b"n" * SIZE
KILLS = 24


def _writer(mode: str) -> Callable[[Store, bytes], object]:
    return {
        # (the write of another file keeps the target in place for a while)
        "create": lambda s, data: (
            s.write("t.bin", data),
            s.write("other.bin", data, overwrite=True),
            s.delete("t.bin"),
        ),
        "overwrite_bytes": lambda s, data: s.write("t.bin", data, overwrite=True),
        "overwrite_stream": lambda s, data: s.write("t.bin", io.BytesIO(data), overwrite=True),
        "write_atomic": lambda s, data: s.write_atomic("t.bin", data, overwrite=True),
    }[mode]


def _run_until_killed(store: Store, mode: str) -> None:
    """In a forked child: write OLD and NEW in turn until SIGKILL arrives."""
    write = _writer(mode)
    try:
        while True:
            write(store, NEW)
            write(store, OLD)
    finally:
        os._exit(3)  # never reached by a kill; any exception ends the child too


@pytest.mark.parametrize("mode", ["create", "overwrite_bytes", "overwrite_stream", "write_atomic"])
def test_a_writer_killed_at_any_point_leaves_old_or_new_content(tmp_path: Path, mode: str) -> None:
    # spec: LOCAL-022, LOCAL-027
    store = Store(LocalBackend(root=str(tmp_path / "root")))
    rng = random.Random(1234)
    seen: set[str] = set()
    for _ in range(KILLS):
        if mode != "create":
            store.write("t.bin", OLD, overwrite=True)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            _run_until_killed(store, mode)
        time.sleep(rng.uniform(0.002, 0.06))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the writer ended before it was killed"
        target = tmp_path / "root" / "t.bin"
        if not target.exists():
            assert mode == "create", "an overwrite lost the file"
            seen.add("absent")
            continue
        content = target.read_bytes()
        assert content in (OLD, NEW), f"torn file: {len(content)} bytes, {content[:1]!r}..."
        seen.add("old" if content == OLD else "new")
        if mode == "create":
            store.delete("t.bin")
    assert len(seen) >= 2, seen  # kills landed at different points
    # leftovers of killed writers are hidden (and only those)
    listed = {str(f.path) for f in store.list_files("")}
    assert listed <= {"t.bin", "other.bin"}, listed
    assert any(name.startswith(".~storeroom-") for name in os.listdir(tmp_path / "root"))


# -- leftovers -----------------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_stale_temporary_files_are_removed_by_a_listing_or_a_write(tmp_path: Path) -> None:
    # spec: LOCAL-024, LOCAL-028
    root = tmp_path / "root"
    store = Store(LocalBackend(root=str(root)))
    store.write("d/keep.txt", b"k")
    store.write("e/keep.txt", b"k")
    stale = root / "d" / ".~storeroom-00000000beef.tmp"
    fresh = root / "d" / ".~storeroom-00000000cafe.tmp"
    lookalike = root / "d" / ".~storeroom-00000000BEEF.tmp"
    for p in (stale, fresh, lookalike):
        p.write_bytes(b"left behind")
    _age(stale, STALE_AFTER + 60)
    _age(lookalike, STALE_AFTER + 60)
    listed = [f.path for f in store.list_files("d")]
    assert listed == ["d/.~storeroom-00000000BEEF.tmp", "d/keep.txt"]
    assert not stale.exists()  # removed by the listing
    assert fresh.exists()  # a writer may still be filling it
    assert lookalike.read_bytes() == b"left behind"  # a user file
    # a write into a folder removes the stale ones there (a fresh backend: first write)
    stale_e = root / "e" / ".~storeroom-0000000000ab.tmp"
    stale_e.write_bytes(b"left behind")
    _age(stale_e, STALE_AFTER + 60)
    Store(LocalBackend(root=str(root))).write("e/new.txt", b"n")
    assert sorted(os.listdir(root / "e")) == ["keep.txt", "new.txt"]


def test_temporary_files_do_not_keep_a_folder_that_lists_empty(tmp_path: Path) -> None:
    # spec: LOCAL-024, LOCAL-052
    root = tmp_path / "root"
    store = Store(LocalBackend(root=str(root)))
    (root / "d").mkdir()
    (root / "d" / ".~storeroom-0123456789ab.tmp").write_bytes(b"fresh leftover")
    assert list(store.list_files("d")) == []
    store.delete_folder("d")
    assert not (root / "d").exists()
    (root / "u").mkdir()
    (root / "u" / ".~storeroom-not-ours.tmp").write_bytes(b"a user file")
    with pytest.raises(DirectoryNotEmpty):
        store.delete_folder("u")
    assert (root / "u" / ".~storeroom-not-ours.tmp").exists()


# -- the caller's source failing --------------------------------------------------------


class BrokenSource(io.RawIOBase):
    """Gives some bytes, then raises the given ``OSError``."""

    def __init__(self, err: OSError) -> None:
        self.err = err
        self.sent = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if not self.sent:
            self.sent = True
            return b"partial" * 1000
        raise self.err


@pytest.mark.parametrize("via", ["backend", "store"])
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("atomic", [False, True])
def test_an_oserror_from_the_callers_source_propagates_unchanged(
    tmp_path: Path, via: str, overwrite: bool, atomic: bool
) -> None:
    # spec: LOCAL-029
    root = tmp_path / "root"
    backend = LocalBackend(root=str(root))
    store = Store(backend)
    if overwrite:
        store.write("d/t.bin", b"old content")
    err = OSError(errno.EIO, "the caller's disk failed")
    src = cast(BinaryIO, BrokenSource(err))
    with pytest.raises(OSError) as info:
        if via == "backend":
            backend.write(
                "d/t.bin" if overwrite else "n/t.bin", src, overwrite=overwrite, atomic=atomic
            )
        elif atomic:
            store.write_atomic("d/t.bin" if overwrite else "n/t.bin", src, overwrite=overwrite)
        else:
            store.write("d/t.bin" if overwrite else "n/t.bin", src, overwrite=overwrite)
    assert info.value is err
    if overwrite:
        assert (root / "d" / "t.bin").read_bytes() == b"old content"
        assert os.listdir(root / "d") == ["t.bin"]
    else:
        assert not (root / "n").exists()


# -- a root removed while in use ---------------------------------------------------------


def test_a_root_removed_while_in_use_is_recreated_by_the_next_write(tmp_path: Path) -> None:
    # spec: LOCAL-007
    root = tmp_path / "root"
    backend = LocalBackend(root=str(root))
    backend.write("a.txt", b"a")
    shutil.rmtree(root)
    assert backend.exists("a.txt") is False
    assert backend.exists("") is False
    assert list(backend.list("")) == []
    backend.write("b/c.txt", b"c")
    assert (root / "b" / "c.txt").read_bytes() == b"c"
    shutil.rmtree(root)
    backend.write("top.txt", b"t")
    assert (root / "top.txt").read_bytes() == b"t"
    # a root removed and made again by someone else is found again too
    shutil.rmtree(root)
    LocalBackend(root=str(root)).write("other.txt", b"o")
    assert backend.open_read("other.txt").read() == b"o"
    assert [e.path for e in backend.list("")] == ["other.txt"]
