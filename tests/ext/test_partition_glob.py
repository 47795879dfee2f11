"""Hive partition paths (EXT-040..045) and the portable glob (EXT-050..052)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storeroom import Store
from storeroom.backends import MemoryBackend
from storeroom.errors import InvalidArgument, InvalidPath
from storeroom.ext.glob import compile_glob, filter_paths, glob, glob_prefix, has_magic, matches
from storeroom.ext.partition import (
    DEFAULT_PARTITION,
    build_partition_path,
    escape,
    parse_partition_path,
    split_partitions,
    unescape,
)
from storeroom.path import normalize


def test_build_and_parse_examples() -> None:
    """spec: EXT-040, EXT-041, EXT-042"""
    path = build_partition_path(
        {"year": 2024, "day": date(2024, 5, 1), "ok": True, "tag": "a/b=c", "n": None},
        "part-0.parquet",
    )
    assert path == (
        "year=2024/day=2024-05-01/ok=true/tag=a%2Fb%3Dc/n=__HIVE_DEFAULT_PARTITION__/part-0.parquet"
    )
    assert parse_partition_path(path) == {
        "year": "2024",
        "day": "2024-05-01",
        "ok": "true",
        "tag": "a/b=c",
        "n": None,
    }
    assert split_partitions("tbl/x/a=1/b=2/f.csv") == ("tbl/x", {"a": "1", "b": "2"}, "f.csv")
    assert build_partition_path([("k", "")]) == f"k={DEFAULT_PARTITION}"


def test_hive_escaping_table() -> None:
    """spec: EXT-043 — the characters Hive escapes, and only those."""
    assert escape("a:b") == "a%3Ab"
    assert escape("50%") == "50%25"
    assert escape("x y-z_é.ü") == "x y-z_é.ü"
    assert escape("\x01\x7f") == "%01%7F"
    for ch in "\"#%'*/:=?\\{[]^}":
        assert escape(ch) == f"%{ord(ch):02X}"
    assert unescape("%2f%2F") == "//"
    assert unescape("100%") == "100%" and unescape("%zz") == "%zz"


def test_invalid_keys() -> None:
    """spec: EXT-044"""
    with pytest.raises(InvalidArgument):
        build_partition_path({"": 1})
    with pytest.raises(InvalidPath):
        parse_partition_path("=1/f")


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(st.dictionaries(names, names.filter(lambda v: v != DEFAULT_PARTITION), max_size=5))
def test_round_trip(parts: dict[str, str]) -> None:
    """spec: EXT-045 — parse(build(d)) == d, and the path survives store normalisation."""
    path = build_partition_path(parts, "file.bin")
    assert parse_partition_path(path) == parts
    assert normalize(path) == path
    store = Store(MemoryBackend())
    store.write(path, b"")
    [info] = store.list_files(recursive=True)
    assert parse_partition_path(info.path) == parts


def test_glob_helpers() -> None:
    """spec: EXT-050, EXT-051, EXT-052"""
    assert has_magic("*.csv") and not has_magic("data")
    assert glob_prefix("data/2024/*/part-*.csv") == "data/2024"
    assert compile_glob("a/*")[0] == "a"
    assert matches("data/**/*.csv", "data/x/y/z.csv")
    assert not matches("data/*.csv", "data/x/z.csv")
    assert list(filter_paths("*.txt", ["a.txt", "b.csv", "c\\d.txt", "e.txt"])) == [
        "a.txt",
        "e.txt",
    ]
    store = Store(MemoryBackend())
    for p in ["a/1.csv", "a/b/2.csv", "c/3.csv", "a/4.txt"]:
        store.write(p, b"")
    assert [f.path for f in glob(store, "a/**/*.csv")] == ["a/1.csv", "a/b/2.csv"]
    assert list(glob(store, "a/**/*.csv")) == list(store.glob("a/**/*.csv"))
