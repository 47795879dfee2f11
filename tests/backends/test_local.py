"""Tests specific to the ``local`` backend (the shared behaviour is in the conformance suite)."""

from __future__ import annotations

import errno
import io
import os
import pickle
import stat
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storeroom.backend import entry_sort_key
from storeroom.backends.local import LocalBackend, LocalOptions
from storeroom.backends.local._reader import RangeFile, open_stream
from storeroom.backends.local.errors import ERRNO_TABLE, TABLE
from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)
from storeroom.models import FileInfo, FolderEntry

SECRET = b"outside the root"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the root, with a file no key may reach."""
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_bytes(SECRET)
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def backend(root: Path) -> LocalBackend:
    return LocalBackend(root=str(root))


class Boom(Exception):
    """Raised by a failing source."""


class FailingSource(io.RawIOBase):
    """A readable stream that gives some bytes, then raises."""

    def __init__(self, good: bytes) -> None:
        self.good = good

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.good:
            out, self.good = self.good, b""
            return out
        raise Boom("source failed")


def _size(backend: LocalBackend, key: str) -> int:
    info = backend.stat(key)
    assert isinstance(info, FileInfo)
    return info.size


def failing(good: bytes) -> BinaryIO:
    """A binary stream that returns ``good`` and then raises :class:`Boom`."""
    return cast(BinaryIO, FailingSource(good))


def names(path: Path) -> set[str]:
    return {p.name for p in path.iterdir()}


def all_files(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


# -- errno table -----------------------------------------------------------------


EXPECTED = {
    "ENOENT": (NotFound, False),
    "EEXIST": (AlreadyExists, False),
    "EACCES": (PermissionDenied, False),
    "EPERM": (PermissionDenied, False),
    "EROFS": (PermissionDenied, False),
    "ENOTDIR": (InvalidPath, False),
    "EISDIR": (InvalidPath, False),
    "ENAMETOOLONG": (InvalidPath, False),
    "ELOOP": (InvalidPath, False),
    "ENOTEMPTY": (DirectoryNotEmpty, False),
    "EIO": (BackendUnavailable, True),
    "EAGAIN": (BackendUnavailable, True),
    "ETIMEDOUT": (BackendUnavailable, True),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_errno_table_maps_each_number_to_its_class(name: str) -> None:
    # spec: LOCAL-005
    cls, retryable = EXPECTED[name]
    exc = OSError(getattr(errno, name), os.strerror(getattr(errno, name)), "/abs/where/x.bin")
    err = TABLE.map(exc, "dir/x.bin")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.path == "dir/x.bin"
    assert err.backend == "local"
    assert "/abs/where" not in str(err)


@pytest.mark.parametrize("name", ["ENOSPC", "EDQUOT"])
def test_disk_full_is_a_plain_non_retryable_error(name: str) -> None:
    # spec: LOCAL-005
    number = getattr(errno, name, None)
    if number is None:
        pytest.skip(f"{name} does not exist on this platform")
    err = TABLE.map(OSError(number, "full"), "k")
    assert type(err) is StoreroomError
    assert not err.retryable
    assert "disk full" in err.message


def test_unknown_errno_becomes_unexpected_error() -> None:
    # spec: LOCAL-005
    err = TABLE.map(OSError(99999, "strange"), "k")
    assert isinstance(err, UnexpectedError)
    assert err.path == "k"
    assert not err.retryable


@given(number=st.integers(min_value=0, max_value=200), key=st.text(max_size=20))
def test_every_errno_maps_to_a_storeroom_error(number: int, key: str) -> None:
    # spec: LOCAL-005
    err = TABLE.map(OSError(number, "x"), key)
    assert isinstance(err, StoreroomError)
    assert (err.path, err.backend) == (key, "local")
    row = ERRNO_TABLE.get(number)
    assert type(err) is (row[0] if row else UnexpectedError)


def test_stream_errors_are_mapped(tmp_path: Path) -> None:
    # spec: LOCAL-006 — a descriptor opened write-only fails every read with EBADF
    (tmp_path / "f").write_bytes(b"data")
    calls: dict[str, Callable[[io.BufferedReader], object]] = {
        "read": lambda s: s.read(),
        "read(n)": lambda s: s.read(2),
        "readinto": lambda s: s.readinto(bytearray(4)),
        "raw.readall": lambda s: cast(RangeFile, s.raw).readall(),
        "raw.read": lambda s: cast(RangeFile, s.raw).read(3),
    }
    for name, call in calls.items():
        stream = open_stream(os.open(tmp_path / "f", os.O_WRONLY), "k", None, None)
        with pytest.raises(StoreroomError) as info:
            call(stream)
        assert info.value.path == "k", name
        assert isinstance(info.value.__cause__, OSError)
        assert not isinstance(info.value.__cause__, StoreroomError)
        stream.close()


def test_native_errors_keep_their_cause(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-005
    backend.write("file", b"x")
    with pytest.raises(InvalidPath) as info:
        backend.write("file/child", b"y")
    assert info.value.path == "file/child"
    with pytest.raises(NotFound) as missing:
        backend.stat("nope")
    assert isinstance(missing.value.__cause__, FileNotFoundError)


# -- options and construction ------------------------------------------------------


def test_options_parse_and_reject() -> None:
    # spec: LOCAL-001
    opts = LocalOptions.parse({"root": "/tmp/x", "durable": False})
    assert (opts.root, opts.create_root, opts.durable) == ("/tmp/x", True, False)
    with pytest.raises(ConfigError):
        LocalOptions.parse({"root": ""})
    with pytest.raises(ConfigError, match="unknown option"):
        LocalOptions.parse({"root": "/tmp/x", "rooot": 1})
    with pytest.raises(ConfigError, match="missing"):
        LocalOptions.parse({})


def test_create_root_and_file_root(tmp_path: Path) -> None:
    # spec: LOCAL-001
    nested = tmp_path / "a" / "b"
    LocalBackend(root=str(nested))
    assert nested.is_dir()
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(ConfigError):
        LocalBackend(root=str(tmp_path / "f"))


def test_missing_root_without_create_fails_ping(tmp_path: Path) -> None:
    # spec: LOCAL-001, LOCAL-003
    backend = LocalBackend(root=str(tmp_path / "missing"), create_root=False)
    assert not (tmp_path / "missing").exists()
    with pytest.raises(BackendUnavailable) as info:
        backend.ping()
    assert info.value.hint
    assert list(backend.list("")) == []


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: LOCAL-001
    monkeypatch.setenv("HOME", str(tmp_path))
    backend = LocalBackend(root="~/data")
    assert backend.root == os.path.realpath(tmp_path / "data")


def test_root_is_resolved_and_described(tmp_path: Path) -> None:
    # spec: LOCAL-002
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    backend = LocalBackend(root=str(tmp_path / "link"))
    assert backend.describe() == {"root": str(real)}
    assert backend.native_path("a/b.txt") == f"{real}/a/b.txt"
    assert backend.native_path("") == str(real)
    backend.write("a/b.txt", b"1")
    assert (real / "a" / "b.txt").read_bytes() == b"1"


def test_pickles_as_options(backend: LocalBackend) -> None:
    # spec: LOCAL-003
    backend.write("x", b"1")
    copy = pickle.loads(pickle.dumps(backend))
    assert isinstance(copy, LocalBackend)
    assert copy.root == backend.root
    assert copy.open_read("x").read() == b"1"
    backend.ping()


def test_capabilities_and_no_user_metadata(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-004
    assert Capability.USER_METADATA not in backend.capabilities
    assert {Capability.ATOMIC_WRITE, Capability.ATOMIC_MOVE} <= backend.capabilities
    with pytest.raises(CapabilityNotSupported):
        backend.write("m.bin", b"x", metadata={"a": "b"})
    assert not (root / "m.bin").exists()
    backend.write("m.bin", b"x", metadata={})  # empty metadata is fine


@pytest.mark.parametrize("key", ["../x", "a/../../x", "a//b", "/etc/passwd", "a/./b", "a\x00b"])
def test_malformed_keys_are_refused_when_called_directly(
    backend: LocalBackend, tmp_path: Path, key: str
) -> None:
    # spec: LOCAL-010
    for call in (
        lambda: backend.write(key, b"x"),
        lambda: backend.open_read(key),
        lambda: backend.stat(key),
        lambda: backend.exists(key),
        lambda: backend.delete(key),
    ):
        with pytest.raises(InvalidPath):
            call()
    assert not (tmp_path / "x").exists()


# -- symlinks --------------------------------------------------------------------


def test_file_symlink_leading_outside(backend: LocalBackend, root: Path, outside: Path) -> None:
    # spec: LOCAL-010, LOCAL-013
    (root / "link.txt").symlink_to(outside / "secret.txt")
    for call in (
        lambda: backend.open_read("link.txt"),
        lambda: backend.stat("link.txt"),
        lambda: backend.write("link.txt", b"pwned", overwrite=True),
        lambda: backend.write("link.txt", io.BytesIO(b"pwned"), overwrite=True),
        lambda: backend.delete("link.txt"),
        lambda: backend.copy("link.txt", "copy.txt"),
        lambda: backend.move("link.txt", "moved.txt"),
    ):
        with pytest.raises(InvalidPath, match="outside"):
            call()
    assert backend.exists("link.txt") is False
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert (root / "link.txt").is_symlink()
    assert names(root) == {"link.txt"}


def test_relative_symlink_leading_outside(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-010
    (root / "up").symlink_to("..")
    with pytest.raises(InvalidPath):
        backend.write("up/escaped.txt", b"x")
    assert not (root.parent / "escaped.txt").exists()


def test_folder_symlink_leading_outside(backend: LocalBackend, root: Path, outside: Path) -> None:
    # spec: LOCAL-010, LOCAL-013
    (root / "out").symlink_to(outside)
    for call in (
        lambda: backend.open_read("out/secret.txt"),
        lambda: backend.stat("out/secret.txt"),
        lambda: backend.write("out/new.txt", b"x"),
        lambda: backend.write("out/deep/new.txt", b"x"),
        lambda: backend.write("out/secret.txt", b"x", overwrite=True, atomic=True),
        lambda: backend.list("out"),
        lambda: backend.remove_folder("out/sub"),
    ):
        with pytest.raises(InvalidPath):
            call()
    # exists answers the same whether the outside file exists or not
    assert backend.exists("out/secret.txt") is False
    assert backend.exists("out/missing.txt") is False
    assert backend.is_folder("out") is False
    assert names(outside) == {"secret.txt"}


def test_listings_skip_escaping_and_broken_links(
    backend: LocalBackend, root: Path, outside: Path
) -> None:
    # spec: LOCAL-012
    backend.write("a.txt", b"a")
    (root / "out").symlink_to(outside)
    (root / "out.txt").symlink_to(outside / "secret.txt")
    (root / "broken").symlink_to(root / "nothing-here")
    listed = [e.path for e in backend.list("", recursive=True)]
    assert listed == ["a.txt"]


def test_symlinks_inside_the_root_are_not_followed_either(
    backend: LocalBackend, root: Path
) -> None:
    # spec: LOCAL-011, LOCAL-012, LOCAL-013
    backend.write("real/file.txt", b"old")
    (root / "alias.txt").symlink_to(root / "real" / "file.txt")
    (root / "dir").symlink_to("real")
    refused: list[Callable[[], object]] = [
        lambda: backend.open_read("alias.txt"),
        lambda: backend.open_read("dir/file.txt"),
        lambda: backend.stat("alias.txt"),
        lambda: backend.write("alias.txt", b"new!", overwrite=True),
        lambda: backend.write("alias.txt", io.BytesIO(b"streamed"), overwrite=True),
        lambda: backend.write("alias.txt", b"new!", overwrite=True, atomic=True),
        lambda: backend.write("dir/new.txt", b"x"),
        lambda: backend.delete("alias.txt"),
        lambda: backend.delete("dir/file.txt"),
        lambda: backend.move("alias.txt", "moved"),
        lambda: backend.move("real/file.txt", "dir/moved"),
        lambda: backend.copy("alias.txt", "copied"),
        lambda: backend.list("dir"),
        lambda: backend.remove_folder("dir"),
        lambda: backend.remove_folder("dir", recursive=True),
    ]
    for call in refused:
        with pytest.raises(InvalidPath, match="symbolic link"):
            call()
    assert backend.exists("alias.txt") is False
    assert backend.exists("dir") is False
    assert backend.is_folder("dir") is False
    # links are not listed; what they point to is, under its own name
    entries = list(backend.list("", recursive=True))
    assert [(type(e).__name__, e.path) for e in entries] == [
        ("FolderEntry", "real"),
        ("FileInfo", "real/file.txt"),
    ]
    assert (root / "real" / "file.txt").read_bytes() == b"old"
    assert (root / "alias.txt").is_symlink() and (root / "dir").is_symlink()
    assert names(root) == {"alias.txt", "dir", "real"}


def test_symlink_cycle_does_not_hang(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-012
    backend.write("a/f", b"1")
    (root / "a" / "loop").symlink_to(root / "a")
    assert [e.path for e in backend.list("", recursive=True)] == ["a", "a/f"]


def test_a_folder_swapped_for_a_symlink_is_refused(
    backend: LocalBackend, root: Path, outside: Path
) -> None:
    # spec: LOCAL-015 — a folder used earlier is swapped for a symlink leading out
    backend.write("d/secret.txt", b"mine")
    assert backend.exists("d/secret.txt")
    assert backend.open_read("d/secret.txt").read() == b"mine"
    assert _size(backend, "d/secret.txt") == 4
    (root / "d" / "secret.txt").unlink()
    (root / "d").rmdir()
    (root / "d").symlink_to(outside)
    assert backend.exists("d/secret.txt") is False
    with pytest.raises(InvalidPath):
        backend.open_read("d/secret.txt")
    with pytest.raises(InvalidPath):
        backend.stat("d/secret.txt")
    with pytest.raises(InvalidPath):
        backend.write("d/other.txt", b"x")
    assert names(outside) == {"secret.txt"}


def test_a_file_swapped_for_a_symlink_is_refused(
    backend: LocalBackend, root: Path, outside: Path
) -> None:
    # spec: LOCAL-015
    backend.write("f.txt", b"mine")
    assert backend.open_read("f.txt").read() == b"mine"
    (root / "f.txt").unlink()
    (root / "f.txt").symlink_to(outside / "secret.txt")
    assert backend.exists("f.txt") is False
    with pytest.raises(InvalidPath):
        backend.open_read("f.txt")


def test_recursive_removal_never_follows_links(
    backend: LocalBackend, root: Path, outside: Path
) -> None:
    # spec: LOCAL-014
    backend.write("d/keep/x.txt", b"x")
    (root / "d" / "out").symlink_to(outside)
    (root / "d" / "secret").symlink_to(outside / "secret.txt")
    backend.remove_folder("d", recursive=True)
    assert not (root / "d").exists()
    assert names(outside) == {"secret.txt"}
    assert (outside / "secret.txt").read_bytes() == SECRET


def test_root_cannot_be_removed(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-014
    with pytest.raises(InvalidPath):
        backend.remove_folder("", recursive=True)
    assert root.is_dir()


# -- writes ----------------------------------------------------------------------


def test_create_only_refuses_existing_file_and_folder(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-020
    backend.write("f.bin", b"original")
    for src in (b"other", io.BytesIO(b"other")):
        for atomic in (False, True):
            with pytest.raises(AlreadyExists):
                backend.write("f.bin", src, atomic=atomic)
    assert (root / "f.bin").read_bytes() == b"original"
    (root / "folder").mkdir()
    for overwrite in (False, True):
        for atomic in (False, True):
            with pytest.raises(InvalidPath):
                backend.write("folder", b"x", overwrite=overwrite, atomic=atomic)
    assert (root / "folder").is_dir()
    assert names(root) == {"f.bin", "folder"}


@pytest.mark.parametrize("atomic", [False, True])
def test_failed_create_leaves_nothing(backend: LocalBackend, root: Path, atomic: bool) -> None:
    # spec: LOCAL-020, LOCAL-025
    backend.write("keep.txt", b"k")
    with pytest.raises(Boom):
        backend.write("new/deeper/f.bin", failing(b"partial"), atomic=atomic)
    assert all_files(root) == {"keep.txt"}


@pytest.mark.parametrize("atomic", [False, True])
def test_failed_overwrite_keeps_old_content(
    backend: LocalBackend, root: Path, atomic: bool
) -> None:
    # spec: LOCAL-021, LOCAL-023
    backend.write("f.bin", b"old content")
    with pytest.raises(Boom):
        backend.write("f.bin", failing(b"new"), overwrite=True, atomic=atomic)
    assert (root / "f.bin").read_bytes() == b"old content"
    assert names(root) == {"f.bin"}


def test_overwrite_from_stream_keeps_permissions(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-021
    backend.write("f.sh", b"#!/bin/sh\n")
    os.chmod(root / "f.sh", 0o751)
    backend.write("f.sh", io.BytesIO(b"#!/bin/sh\necho hi\n"), overwrite=True)
    assert stat.S_IMODE((root / "f.sh").stat().st_mode) == 0o751
    assert (root / "f.sh").read_bytes() == b"#!/bin/sh\necho hi\n"


@pytest.mark.parametrize("new", [b"", b"short", b"a much longer content than before" * 100])
def test_overwrite_from_bytes_replaces_the_file(
    backend: LocalBackend, root: Path, new: bytes
) -> None:
    # spec: LOCAL-022 — a new file renamed over the old one: never a torn mix
    backend.write("f.bin", b"the old content of the file")
    os.chmod(root / "f.bin", 0o640)
    inode = (root / "f.bin").stat().st_ino
    result = backend.write("f.bin", new, overwrite=True)
    assert (root / "f.bin").read_bytes() == new
    assert (root / "f.bin").stat().st_ino != inode
    assert stat.S_IMODE((root / "f.bin").stat().st_mode) == 0o640
    assert result.size == len(new)
    assert _size(backend, "f.bin") == len(new)
    assert names(root) == {"f.bin"}


def test_atomic_write_is_durable(
    backend: LocalBackend, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # spec: LOCAL-023
    synced: list[bool] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    backend.write("d/f.bin", b"one", atomic=True)
    assert synced == [False, True]  # the file, then its folder
    backend.write("d/f.bin", io.BytesIO(b"two"), atomic=True, overwrite=True)
    assert synced == [False, True, False, True]
    backend.write("d/plain.bin", b"x")
    backend.write("d/plain.bin", b"y", overwrite=True)
    assert len(synced) == 4  # plain writes do not fsync
    fast = LocalBackend(root=str(root), durable=False)
    fast.write("d/g.bin", b"g", atomic=True)
    assert len(synced) == 4
    assert (root / "d" / "f.bin").read_bytes() == b"two"
    assert names(root / "d") == {"f.bin", "plain.bin", "g.bin"}


def test_temporary_files_are_hidden(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-024 — exactly the backend's own temporary names are hidden
    backend.write("d/a.txt", b"a")
    (root / ".~storeroom-0123456789ab.tmp").write_bytes(b"leftover")
    (root / "d" / ".~storeroom-ffffffffffff.tmp").write_bytes(b"leftover")
    (root / ".hidden").write_bytes(b"a normal dot file")
    for lookalike in (
        ".~storeroom-1234abcd.tmp",
        ".~storeroom-0123456789AB.tmp",
        ".~storeroom-x.tmp",
    ):
        (root / "d" / lookalike).write_bytes(b"a user file")
    listed = [e.path for e in backend.list("", recursive=True)]
    assert listed == [
        ".hidden",
        "d",
        "d/.~storeroom-0123456789AB.tmp",
        "d/.~storeroom-1234abcd.tmp",
        "d/.~storeroom-x.tmp",
        "d/a.txt",
    ]


def test_write_result(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-026
    result = backend.write("a/b.bin", b"12345")
    assert result.path == "a/b.bin"
    assert result.size == 5
    assert result.last_modified is not None
    assert result.last_modified.utcoffset() is not None
    assert result.last_modified.timestamp() == pytest.approx(
        (root / "a" / "b.bin").stat().st_mtime, abs=1e-5
    )


# -- reads -----------------------------------------------------------------------


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    start=st.none() | st.integers(min_value=0, max_value=300),
    end=st.none() | st.integers(min_value=0, max_value=300),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_ranges_equal_slicing(
    backend: LocalBackend, start: int | None, end: int | None, chunk: int
) -> None:
    # spec: LOCAL-030
    data = bytes(range(256))
    if not backend.exists("r.bin"):
        backend.write("r.bin", data)
    expected = data[start or 0 : end] if end is None or end >= (start or 0) else b""
    with backend.open_read("r.bin", start, end) as stream:
        assert stream.read() == expected
    with backend.open_read("r.bin", start, end) as stream:
        parts = []
        while block := stream.read(chunk):
            parts.append(block)
        assert b"".join(parts) == expected
    with backend.open_read("r.bin", start, end) as stream:
        buf = bytearray(chunk)
        got = bytearray()
        while n := stream.readinto(buf):  # type: ignore[attr-defined]
            got += buf[:n]
        assert bytes(got) == expected


def test_read_stream_is_a_real_file(backend: LocalBackend) -> None:
    # spec: LOCAL-030
    backend.write("f.bin", b"0123456789")
    with backend.open_read("f.bin") as whole:
        assert isinstance(whole, io.BufferedReader)
        assert whole.fileno() >= 0
        assert whole.seekable()
        whole.seek(5)
        assert whole.read() == b"56789"
    with backend.open_read("f.bin", 2, 6) as ranged:
        assert not ranged.seekable()
        assert ranged.readline() == b"2345"
    with pytest.raises(InvalidPath):
        backend.open_read("f.bin", -1)


def test_reading_folders_and_pipes_is_refused(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-031
    backend.write("d/x", b"x")
    with pytest.raises(InvalidPath):
        backend.open_read("d")
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(root / "pipe")
    with pytest.raises(InvalidPath):  # and it must not block waiting for a writer
        backend.open_read("pipe")


# -- listings --------------------------------------------------------------------

segment = st.sampled_from(["a", "b", "a-b", "a0", "B", "é", "z.txt", "a.txt"])
tree_paths = st.lists(st.lists(segment, min_size=1, max_size=3), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(paths=tree_paths)
def test_listing_order_and_content(
    tmp_path_factory: pytest.TempPathFactory, paths: list[list[str]]
) -> None:
    # spec: LOCAL-040
    backend = LocalBackend(root=str(tmp_path_factory.mktemp("tree")))
    files: set[str] = set()
    for parts in paths:
        key = "/".join(parts)
        try:
            backend.write(key, key.encode())
            files.add(key)
        except (InvalidPath, AlreadyExists):
            pass  # a segment is already a file, or the key already a folder/file
    folders = {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
    entries = list(backend.list("", recursive=True))
    assert entries == sorted(entries, key=entry_sort_key)
    assert {e.path for e in entries if isinstance(e, FileInfo)} == files
    assert {e.path for e in entries if isinstance(e, FolderEntry)} == folders
    for e in entries:
        if isinstance(e, FileInfo):
            assert e.size == len(e.path.encode())
            assert e.modified_at is not None and e.modified_at.utcoffset() is not None
    for folder in folders:
        sub = list(backend.list(folder, recursive=True, base=folder))
        assert sub == sorted(sub, key=entry_sort_key)
        assert {e.path for e in sub} == {
            p[len(folder) + 1 :] for p in files | folders if p.startswith(folder + "/")
        }


def test_empty_folders_are_listed(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-040
    (root / "empty" / "inner").mkdir(parents=True)
    assert [e.path for e in backend.list("", recursive=True)] == ["empty", "empty/inner"]
    assert backend.is_folder("empty/inner")


def _peak_listing(backend: LocalBackend) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in backend.list("", recursive=True))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _tree(root: Path, folders: int, per_folder: int) -> None:
    for i in range(folders):
        d = root / f"d{i:04d}"
        d.mkdir(parents=True)
        for j in range(per_folder):
            (d / f"f{j:03d}").write_bytes(b"")


def test_listing_memory_does_not_grow_with_the_count(tmp_path: Path) -> None:
    # spec: LOCAL-040
    _tree(tmp_path / "small", 10, 40)
    _tree(tmp_path / "large", 100, 40)
    small_count, small_peak = _peak_listing(LocalBackend(root=str(tmp_path / "small")))
    large_count, large_peak = _peak_listing(LocalBackend(root=str(tmp_path / "large")))
    assert (small_count, large_count) == (410, 4100)
    assert large_peak < small_peak * 1.5 + 64 * 1024


def test_entries_vanishing_during_a_listing_are_skipped(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-041 — a folder is read when the listing reaches it
    for i in range(300):
        backend.write(f"a/f{i:03d}", b"x")
    backend.write("b/gone", b"x")
    backend.write("b/kept", b"x")
    it = backend.list("", recursive=True)
    assert next(it).path == "a"
    (root / "b" / "gone").unlink()
    rest = [e.path for e in it]
    assert len(rest) == 300 + 2
    assert rest[-2:] == ["b", "b/kept"]


# -- delete, copy, move, folders ---------------------------------------------------


def test_move_is_a_rename(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-050 — the same inode under the new name, with or without overwrite
    backend.write("a.bin", b"a")
    backend.write("b.bin", b"b")
    inode = (root / "a.bin").stat().st_ino
    backend.move("a.bin", "sub/c.bin")
    assert (root / "sub" / "c.bin").stat().st_ino == inode
    backend.move("sub/c.bin", "b.bin", overwrite=True)
    assert (root / "b.bin").read_bytes() == b"a"
    assert (root / "b.bin").stat().st_ino == inode
    assert names(root) == {"b.bin", "sub"}


def test_racing_create_only_moves_exactly_one_wins(backend: LocalBackend) -> None:
    # spec: LOCAL-050
    threads = 10
    for i in range(threads):
        backend.write(f"src/{i}", bytes([i]))
    barrier = threading.Barrier(threads)
    wins: list[int] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            backend.move(f"src/{i}", "dst")
            wins.append(i)
        except AlreadyExists:
            pass

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(wins) == 1
    assert backend.open_read("dst").read() == bytes([wins[0]])
    assert len(list(backend.list("src"))) == threads - 1


def test_copy(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-051 — a new file (not a link), through the write path
    data = os.urandom(3 * 1024 * 1024 + 17)
    backend.write("a.bin", data)
    result = backend.copy("a.bin", "d/b.bin")
    assert result.size == len(data)
    assert (root / "d" / "b.bin").read_bytes() == data
    assert (root / "d" / "b.bin").stat().st_ino != (root / "a.bin").stat().st_ino
    assert names(root / "d") == {"b.bin"}


def test_remove_folder_of_a_file_is_invalid_path(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-052 — always InvalidPath for a file (the contract also allows NotFound)
    backend.write("d/x.txt", b"x")
    for recursive in (False, True):
        with pytest.raises(InvalidPath):
            backend.remove_folder("d/x.txt", recursive=recursive)
    assert (root / "d" / "x.txt").read_bytes() == b"x"


@pytest.mark.skipif(AS_ROOT, reason="permission bits do not bind the superuser")
def test_permission_denied(backend: LocalBackend, root: Path) -> None:
    # spec: LOCAL-005
    backend.write("locked/f.txt", b"x")
    os.chmod(root / "locked", 0o500)
    try:
        with pytest.raises(PermissionDenied) as info:
            backend.write("locked/g.txt", b"y")
        assert isinstance(info.value.__cause__, PermissionError)
    finally:
        os.chmod(root / "locked", 0o700)
