"""Unit tests of the small core pieces (specs/14-models-and-helpers.md)."""

from __future__ import annotations

import dataclasses
import io
import pickle
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeroom import ContentDigest, FileInfo, FolderEntry, RemotePath
from storeroom._glob import compile_glob
from storeroom._rangeio import open_seekable
from storeroom.backend import derive_folders, entry_sort_key
from storeroom.errors import InvalidPath, NotFound, StoreroomError

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_models_are_frozen_hashable_and_fast_equals_slow() -> None:
    # spec: MODEL-001, MODEL-002
    a = FileInfo(RemotePath("x/y.txt"), "y.txt", 3, NOW, etag="e")
    b = FileInfo._fast("x/y.txt", "y.txt", 3, NOW, etag="e")
    assert a == b and hash(a) == hash(b) == hash("x/y.txt")
    assert {a, b} == {a}
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.size = 4  # type: ignore[misc]
    assert dataclasses.replace(b, size=9).size == 9
    assert FolderEntry._fast("x", "x") == FolderEntry(RemotePath("x"), "x")
    assert a._rebase("z/y.txt").path == "z/y.txt" and a.path == "x/y.txt"


def test_content_digest_normalises_and_validates() -> None:
    # spec: MODEL-003
    d = ContentDigest(" SHA256 ", "ABCDEF01")
    assert (d.algorithm, d.value, str(d)) == ("sha256", "abcdef01", "sha256:abcdef01")
    for bad in (("", "ab"), ("md5", "xyz"), ("md5", "")):
        with pytest.raises(ValueError):
            ContentDigest(*bad)


def test_remote_path_helpers() -> None:
    # spec: MODEL-010
    p = RemotePath("a\\b//c.tar.gz/")
    assert p == "a/b/c.tar.gz" and isinstance(p, str)
    assert (p.name, p.suffix, p.stem, p.parts) == (
        "c.tar.gz",
        ".gz",
        "c.tar",
        ("a", "b", "c.tar.gz"),
    )
    assert p.parent == "a/b" and RemotePath("").parent is None
    assert RemotePath("a") / "b/./c" == "a/b/c"
    assert p.is_relative_to("a") and not p.is_relative_to("a/bb")
    assert p.relative_to("a/b") == "c.tar.gz"
    with pytest.raises(InvalidPath):
        p.relative_to("z")
    with pytest.raises(InvalidPath):
        RemotePath("a/../b")
    assert pickle.loads(pickle.dumps(p)) == p and type(pickle.loads(pickle.dumps(p))) is RemotePath


def test_errors_pickle_with_context_and_read_well() -> None:
    # spec: MODEL-020
    err = NotFound("file not found", path="a.txt", backend="local", operation="read", store="s")
    err.hint = "check the name"
    text = str(err)
    assert text.startswith("file not found [path='a.txt', store='s', backend='local'")
    assert text.endswith("— check the name")
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is NotFound and str(clone) == text and clone.retryable is False
    assert isinstance(clone, FileNotFoundError) and isinstance(clone, StoreroomError)


def _files(paths: list[str]) -> list[FileInfo]:
    return [FileInfo._fast(p, p.rpartition("/")[2], 0, None) for p in sorted(paths)]


def test_derive_folders_matches_real_folder_order() -> None:
    # spec: MODEL-030
    paths = ["a.txt", "a/b/c.txt", "a/b/d.txt", "a/e.txt", "a0.txt", "z/y/x.txt"]
    out = list(derive_folders(_files(paths), ""))
    rendered = [(e.path, type(e).__name__) for e in out]
    assert rendered == [
        ("a.txt", "FileInfo"),
        ("a", "FolderEntry"),
        ("a/b", "FolderEntry"),
        ("a/b/c.txt", "FileInfo"),
        ("a/b/d.txt", "FileInfo"),
        ("a/e.txt", "FileInfo"),
        ("a0.txt", "FileInfo"),
        ("z", "FolderEntry"),
        ("z/y", "FolderEntry"),
        ("z/y/x.txt", "FileInfo"),
    ]
    assert [entry_sort_key(e) for e in out] == sorted(entry_sort_key(e) for e in out)


@given(st.lists(st.lists(st.sampled_from("ab0."), min_size=1, max_size=3), max_size=12))
def test_derive_folders_property(raw: list[list[str]]) -> None:
    # spec: MODEL-030
    paths = sorted({"/".join(seg + "f" for seg in parts) for parts in raw})
    files = {p for p in paths if not any(q.startswith(p + "/") for q in paths)}
    out = list(derive_folders(_files(sorted(files)), ""))
    folders = [e.path for e in out if isinstance(e, FolderEntry)]
    expected = {p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/") + 1)}
    assert sorted(folders) == sorted(expected) and len(folders) == len(set(folders))
    keys = [entry_sort_key(e) for e in out]
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    ("pattern", "prefix", "recursive", "yes", "no"),
    [
        ("*.csv", "", False, ["a.csv"], ["d/a.csv", "a.csvx"]),
        ("d/**/*.csv", "d", True, ["d/a.csv", "d/x/y/a.csv"], ["e/a.csv", "d/a.txt"]),
        ("d/*", "d", False, ["d/a"], ["d/a/b", "d"]),
        ("d/[ab]?.txt", "d", False, ["d/a1.txt"], ["d/c1.txt", "d/a.txt"]),
        ("d/[!a]*", "d", False, ["d/b"], ["d/a"]),
        ("**/x.txt", "", True, ["x.txt", "a/b/x.txt"], ["a/y.txt"]),
        ("a/b.txt", "a", False, ["a/b.txt"], ["a/c.txt"]),
    ],
)
def test_glob_compile(
    pattern: str, prefix: str, recursive: bool, yes: list[str], no: list[str]
) -> None:
    # spec: MODEL-040
    got_prefix, got_rec, regex = compile_glob(pattern)
    assert (got_prefix, got_rec) == (prefix, recursive)
    assert all(regex.match(p) for p in yes)
    assert not any(regex.match(p) for p in no)


def test_range_reader_seeks_and_reads_through_small_gaps() -> None:
    # spec: MODEL-050
    data = bytes(range(256)) * 4096  # 1 MiB
    opened: list[tuple[int, int | None]] = []

    def opener(start: int, end: int | None) -> io.BytesIO:
        opened.append((start, end))
        return io.BytesIO(data[start:end])

    with open_seekable(opener, len(data)) as f:
        assert f.read(10) == data[:10]
        f.seek(500_000)
        assert f.read(5) == data[500_000:500_005]
        f.seek(-3, io.SEEK_END)
        assert f.read() == data[-3:]
        f.seek(0)
        assert f.read() == data
        assert f.tell() == len(data) and f.read(1) == b""
    assert 2 <= len(opened) <= 5
