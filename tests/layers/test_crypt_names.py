"""The crypt layer's name schemes: stored forms, listings, foreign names, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_crypt import crypt_store, data_of

from storeroom.backends.memory import MemoryBackend
from storeroom.layers import CryptLayer
from storeroom.models import FileInfo

# -- names ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["standard", "obfuscate", "off"])
@pytest.mark.parametrize("dirs", [True, False])
def test_names_round_trip_in_listings(mode: str, dirs: bool) -> None:
    # spec: CRYPT-020, CRYPT-024, CRYPT-040
    inner = MemoryBackend()
    store = crypt_store(inner, filename_encryption=mode, directory_name_encryption=dirs)
    names = ["a.txt", "b/c d.txt", "b/ü 漢!.md", "b/e/f", "z9/Q"]
    for i, name in enumerate(names):
        store.write(name, data_of(i * 1000))
    listed = [f.path for f in store.list_files("", recursive=True)]
    assert listed == sorted(names)
    assert [e.path for e in store.iter_children("b")] == ["b/c d.txt", "b/e", "b/ü 漢!.md"]
    assert [e.path for e in store.list_folders("")] == ["b", "z9"]
    assert store.is_folder("b/e") and store.exists("b/e/f") and not store.exists("b/x")
    stored = [e.path for e in inner.list("", recursive=True) if isinstance(e, FileInfo)]
    plain_dirs = not dirs or mode == "off"
    for key in stored:
        *folders, leaf = key.split("/")
        assert all((d in ("b", "e", "z9")) == plain_dirs for d in folders)
        if mode == "off":
            assert leaf.endswith(".bin") and leaf[:-4] in {n.rsplit("/", 1)[-1] for n in names}
        else:
            assert leaf not in {n.rsplit("/", 1)[-1] for n in names}
    if mode == "standard" and dirs:
        assert all(c in "0123456789abcdefghijklmnopqrstuv/" for c in "".join(stored))


def test_standard_names_are_deterministic_and_per_segment() -> None:
    # spec: CRYPT-020, CRYPT-021
    a = CryptLayer(MemoryBackend(), password="p").names
    b = CryptLayer(MemoryBackend(), password="p").names
    assert a.file_key("x/y") == b.file_key("x/y")
    assert a.file_key("x/y").split("/")[0] == a.dir_key("x")
    assert len(a.seal_segment("x" * 15)) == 26 and len(a.seal_segment("x" * 16)) == 52
    other = CryptLayer(MemoryBackend(), password="p", password2="salt").names
    assert other.file_key("x") != a.file_key("x")


def test_foreign_names_are_skipped_in_listings() -> None:
    # spec: CRYPT-041
    inner = MemoryBackend()
    store = crypt_store(inner)
    store.write("real.txt", b"x")
    inner.write("README.txt", b"not encrypted")
    inner.write("zzzzzzzzzzzzzzzzzzzzzzzzzz", b"short")  # base32hex, but no valid padding
    inner.write("plainfolder/x", b"x")
    assert [f.path for f in store.list_files("", recursive=True)] == ["real.txt"]
    off = crypt_store(inner, filename_encryption="off")
    off.write("one", b"1")
    assert [f.path for f in off.list_files("", recursive=True)] == ["one"]


def test_suffix_none_and_custom() -> None:
    # spec: CRYPT-023
    inner = MemoryBackend()
    crypt_store(inner, filename_encryption="off", suffix=".enc").write("d/a", b"1")
    crypt_store(inner, filename_encryption="off", suffix="none").write("d/b", b"2")
    assert sorted(e.path for e in inner.list("d")) == ["d/a.enc", "d/b"]


NAME_TEXT = st.text(
    st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=120,
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(name=NAME_TEXT)
def test_every_name_round_trips_in_both_name_schemes(name: str) -> None:
    # spec: CRYPT-020, CRYPT-022
    for names in (_STANDARD.names, _OBFUSCATE.names):
        stored = names.seal_segment(name)
        assert "/" not in stored and stored
        assert names.open_segment(stored) == name


_STANDARD = CryptLayer(MemoryBackend(), password="property pw")
_OBFUSCATE = CryptLayer(MemoryBackend(), password="property pw", filename_encryption="obfuscate")
