"""The local backend stays inside its root while another process renames folders and plants links.

Both resolution strategies are exercised: ``openat2`` (where the kernel has
it) and the portable ``O_NOFOLLOW`` walk, forced by switching ``openat2`` off.
"""

from __future__ import annotations

import ctypes
import errno
import io
import os
import platform
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storeroom import Store
from storeroom.backends.local import LocalBackend, _fdpath
from storeroom.errors import InvalidPath, NotFound, StoreroomError

SECRET = b"outside the root"


@pytest.fixture(params=["openat2", "walk"])
def mode(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """Run with openat2, then with the component walk (openat2 switched off)."""
    LocalBackend(root=str(tmp_path / "probe")).exists("x")  # finds out what the kernel has
    if request.param == "walk":
        monkeypatch.setattr(_fdpath, "_openat2", None)
    elif _fdpath._openat2 is None:
        pytest.fail("this kernel has no openat2: the openat2 case cannot run here")
    yield request.param


def snapshot(top: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry below ``top``: (inode, mtime_ns, content or link target)."""
    out: dict[str, tuple[int, int, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            if p.is_symlink():
                body: bytes | str = os.readlink(p)
            elif p.is_dir():
                body = "<dir>"
            else:
                body = p.read_bytes()
            out[str(p.relative_to(top))] = (st.st_ino, st.st_mtime_ns, body)
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    (out / "d").mkdir(parents=True)
    (out / "d" / "f.txt").write_bytes(SECRET)
    (out / "d" / "sub").mkdir()
    (out / "d" / "sub" / "g.txt").write_bytes(SECRET)
    (out / "d" / "dst.txt").write_bytes(SECRET)
    return out


def calls_below(store: Store) -> dict[str, Callable[[], object]]:
    """Every Store method, each on a path below folder ``d``."""
    return {
        "read_bytes": lambda: store.read_bytes("d/f.txt"),
        "read": lambda: store.read("d/f.txt"),
        "read_range": lambda: store.read_range("d/f.txt", 0, 4),
        "get_file_info": lambda: store.get_file_info("d/f.txt"),
        "list_files": lambda: list(store.list_files("d")),
        "list_files_recursive": lambda: list(store.list_files("d", recursive=True)),
        "list_folders": lambda: list(store.list_folders("d")),
        "write": lambda: store.write("d/new.txt", b"pwned"),
        "write_deep": lambda: store.write("d/sub/new.txt", b"pwned"),
        "overwrite": lambda: store.write("d/f.txt", b"pwned", overwrite=True),
        "overwrite_stream": lambda: store.write("d/f.txt", io.BytesIO(b"pwned"), overwrite=True),
        "write_atomic": lambda: store.write_atomic("d/f.txt", b"pwned", overwrite=True),
        "delete": lambda: store.delete("d/f.txt"),
        "move_into": lambda: store.move("inside.txt", "d/dst.txt", overwrite=True),
        "move_out": lambda: store.move("d/f.txt", "stolen.txt"),
        "copy_into": lambda: store.copy("inside.txt", "d/dst.txt", overwrite=True),
        "copy_out": lambda: store.copy("d/f.txt", "stolen.txt"),
        "delete_folder": lambda: store.delete_folder("d/sub", recursive=True),
        "delete_folder_self": lambda: store.delete_folder("d", recursive=True),
    }


def test_a_checked_folder_moved_out_and_replaced_by_a_link_is_refused(
    tmp_path: Path, outside: Path, mode: str
) -> None:
    # spec: LOCAL-010, LOCAL-015
    root = tmp_path / "root"
    store = Store(LocalBackend(root=str(root)))
    store.write("inside.txt", b"mine")
    store.write("d/f.txt", SECRET)
    store.write("d/sub/g.txt", SECRET)
    store.write("d/dst.txt", SECRET)
    for call in calls_below(store).values():  # every path is checked once, and works
        try:
            call()
        except StoreroomError:
            pass
    store.write("d/f.txt", SECRET, overwrite=True)
    store.write("d/sub/g.txt", SECRET, overwrite=True)
    store.write("d/dst.txt", SECRET, overwrite=True)
    store.write("inside.txt", b"mine", overwrite=True)
    for call in (  # the paths below were checked just now
        lambda: store.read_bytes("d/f.txt"),
        lambda: store.read_bytes("d/sub/g.txt"),
        lambda: store.get_file_info("d/dst.txt"),
        lambda: list(store.list_files("d/sub")),
    ):
        call()
    # The folder leaves the root (its files are now outside) and a link takes its name.
    (root / "d").rename(outside / "moved")
    (root / "d").symlink_to(outside / "moved")
    before = snapshot(outside)
    for name, call in calls_below(store).items():
        with pytest.raises(InvalidPath):
            call()
        assert snapshot(outside) == before, name
    assert (root / "inside.txt").read_bytes() == b"mine"
    assert store.exists("d/f.txt") is False
    assert store.is_folder("d") is False
    assert snapshot(outside) == before
    assert sorted(os.listdir(root)) == ["d", "inside.txt"]


# -- the race ------------------------------------------------------------------------

AT_FDCWD = -100
RENAME_EXCHANGE = 2
_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}


def _exchanger() -> Callable[[str, str], None]:
    """``renameat2(RENAME_EXCHANGE)``: swap two names atomically (a rename loop without it)."""
    nr = _RENAMEAT2.get(platform.machine())
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc["syscall"]
    syscall.restype = ctypes.c_long

    def exchange(a: str, b: str) -> None:
        res = syscall(
            ctypes.c_long(nr or -1),
            ctypes.c_int(AT_FDCWD),
            ctypes.c_char_p(a.encode()),
            ctypes.c_int(AT_FDCWD),
            ctypes.c_char_p(b.encode()),
            ctypes.c_uint(RENAME_EXCHANGE),
        )
        if res < 0:
            raise OSError(ctypes.get_errno(), "renameat2")

    try:
        exchange("/nonexistent-a", "/nonexistent-b")
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return exchange

    def rename_loop(a: str, b: str) -> None:
        os.rename(a, a + ".x")
        os.rename(b, a)
        os.rename(a + ".x", b)

    return rename_loop


def test_swapping_a_folder_and_an_escaping_link_never_touches_the_outside(
    tmp_path: Path, outside: Path, mode: str
) -> None:
    # spec: LOCAL-010, LOCAL-014, LOCAL-015
    root = tmp_path / "root"
    backend = LocalBackend(root=str(root), durable=False)
    store = Store(backend)
    store.write("inside.txt", b"mine")
    (root / "d").mkdir()
    (root / "swap").symlink_to(outside / "d")
    before = snapshot(outside)
    exchange = _exchanger()
    stop = threading.Event()
    swaps = 0

    def attacker() -> None:
        nonlocal swaps
        a, b = str(root / "d"), str(root / "swap")
        while not stop.is_set():
            exchange(a, b)
            swaps += 1

    ops: list[Callable[[int], object]] = [
        lambda i: store.write(f"d/w{i}.txt", b"pwned"),
        lambda i: store.write("d/f.txt", b"pwned", overwrite=True),
        lambda i: store.write("d/sub/g.txt", b"pwned", overwrite=True),
        lambda i: store.write_atomic("d/dst.txt", b"pwned", overwrite=True),
        lambda i: store.write("d/f.txt", io.BytesIO(b"pwned"), overwrite=True),
        lambda i: store.copy("inside.txt", "d/dst.txt", overwrite=True),
        lambda i: store.copy("inside.txt", f"d/c{i}.txt"),
        lambda i: leaked.append(store.read_bytes("d/f.txt") == SECRET),
        lambda i: leaked.append(store.read_range("d/sub/g.txt", 0, 100) == SECRET),
        lambda i: store.get_file_info("d/sub/g.txt"),
        lambda i: list(store.list_files("d", recursive=True)),
        lambda i: store.delete("d/f.txt"),
        lambda i: store.delete("d/dst.txt"),
        lambda i: store.delete("d/sub/g.txt"),
        lambda i: store.move("d/dst.txt", f"m{i}.txt"),
        lambda i: store.write(f"n{i}.txt", b"bait") and store.move(f"n{i}.txt", "d/dst.txt"),
        lambda i: store.delete_folder("d/sub", recursive=True),
    ]
    outcomes = {"ok": 0, "refused": 0}
    leaked: list[bool] = []
    thread = threading.Thread(target=attacker)
    thread.start()
    deadline = time.monotonic() + 3.0
    i = 0
    try:
        while time.monotonic() < deadline:
            for op in ops:
                i += 1
                try:
                    op(i)
                    outcomes["ok"] += 1
                except (InvalidPath, NotFound, StoreroomError):
                    outcomes["refused"] += 1
    finally:
        stop.set()
        thread.join()
    assert swaps > 1000, swaps  # the attacker really raced
    assert outcomes["ok"] > 100 and outcomes["refused"] > 100, outcomes
    assert snapshot(outside) == before
    assert not any(leaked), "a read returned a file from outside the root"
