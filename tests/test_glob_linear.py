"""Glob and name patterns: linear-time matching, typed pattern errors, unchanged semantics.

``glob`` and ``list_files(pattern=)`` compile to regexes that cannot
backtrack exponentially (spec STORE-027a); a malformed character class is an
``InvalidArgument`` naming the pattern (STORE-027b); and the matcher agrees
with a plain reference implementation of the STORE-027 rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeroom import Registry, Store
from storeroom._glob import compile_glob, compile_name
from storeroom.errors import InvalidArgument
from storeroom.ext.glob import matches

BOUND_S = 0.5  # generous: the backtracking regex took seconds to minutes here


def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


@pytest.fixture
def store() -> Store:
    config = {"backends": {"m": {"type": "memory"}}, "stores": {"s": {"backend": "m"}}}
    return Registry(config).get_store("s")


# -- linear time -----------------------------------------------------------------

DEEP = "/".join(["d"] * 19 + ["dx"])  # 20 segments
LONG_NAME = "a" * 60
PATHOLOGICAL = [
    ("/".join(["**"] * 10) + "/y", DEEP),  # '**/' ten times, no match at the end
    ("**/d/" * 10 + "y", DEEP),
    ("*a" * 8 + "b", LONG_NAME),
    ("**/" + "*d" * 8 + "y", DEEP),
    ("/".join(["*"] * 19) + "/" + "*a" * 8 + "b", "/".join(["d"] * 19 + [LONG_NAME])),
]


@pytest.mark.parametrize(("pattern", "path"), PATHOLOGICAL)
def test_pathological_patterns_match_in_milliseconds(pattern: str, path: str) -> None:
    # spec: STORE-027a
    regex = compile_glob(pattern)[2]
    assert _timed(lambda: regex.match(path)) < BOUND_S
    assert regex.match(path) is None


def test_pathological_glob_and_name_pattern_on_a_store(store: Store) -> None:
    # spec: STORE-027a, STORE-021
    store.write(DEEP, b"deep")
    store.write(LONG_NAME, b"long")
    assert _timed(lambda: list(store.glob("/".join(["**"] * 10) + "/y"))) < BOUND_S
    assert _timed(lambda: list(store.glob("*a" * 8 + "b"))) < BOUND_S
    pattern = "*a" * 8 + "b"
    assert _timed(lambda: list(store.list_files(recursive=True, pattern=pattern))) < BOUND_S
    # ...and the same patterns still find what they should
    assert [f.path for f in store.glob("/".join(["**"] * 10) + "/dx")] == [DEEP]
    assert [f.path for f in store.glob("*a" * 8)] == [LONG_NAME]
    assert [f.path for f in store.list_files(recursive=True, pattern="*a" * 8)] == [LONG_NAME]


# -- typed pattern errors ----------------------------------------------------------

BAD_CLASSES = ["[z-a]", "[", "a[b", "[!]", "x/[9-0]*.csv", "**/[b-a]"]


@pytest.mark.parametrize("pattern", BAD_CLASSES)
def test_bad_character_class_in_glob_is_invalid_argument(store: Store, pattern: str) -> None:
    # spec: STORE-027b, ERR-010
    with pytest.raises(InvalidArgument) as info:
        list(store.glob(pattern))
    err = info.value
    assert repr(pattern) in err.message
    assert (err.backend, err.operation, err.store) == ("memory", "glob", "s")


@pytest.mark.parametrize("pattern", ["[z-a]", "[", "a[b"])
def test_bad_character_class_in_name_pattern_is_invalid_argument(
    store: Store, pattern: str
) -> None:
    # spec: STORE-021, STORE-022, STORE-027b
    with pytest.raises(InvalidArgument) as info:
        store.list_files(pattern=pattern)  # refused when called, before listing
    assert repr(pattern) in info.value.message
    assert (info.value.operation, info.value.store) == ("list_files", "s")
    with pytest.raises(InvalidArgument) as folders:
        store.list_folders(pattern=pattern)
    assert folders.value.operation == "list_folders"
    with pytest.raises(InvalidArgument):
        store.list_files(pattern=5)  # type: ignore[arg-type]


# -- semantics: the matcher agrees with a plain reference ----------------------------


def _ref_char(pattern: str, i: int, ch: str) -> tuple[bool, int]:
    """Does one fixed item at ``pattern[i]`` match ``ch``; and where the next item starts."""
    if pattern[i] == "?":
        return True, i + 1
    if pattern[i] != "[":
        return pattern[i] == ch, i + 1
    j = i + 1
    negate = pattern[j] in "!^"
    j += negate
    items = [pattern[j]]  # a ']' first is literal
    j += 1
    while pattern[j] != "]":
        items.append(pattern[j])
        j += 1
    hit, k = False, 0
    while k < len(items):
        if k + 2 < len(items) and items[k + 1] == "-":
            hit = hit or items[k] <= ch <= items[k + 2]
            k += 3
        else:
            hit = hit or items[k] == ch
            k += 1
    return hit != negate, j + 1


def _ref_segment(pattern: str, name: str) -> bool:
    if not pattern:
        return not name
    if pattern[0] == "*":
        return any(_ref_segment(pattern[1:], name[k:]) for k in range(len(name) + 1))
    if not name:
        return False
    ok, nxt = _ref_char(pattern, 0, name[0])
    return ok and _ref_segment(pattern[nxt:], name[1:])


def _ref_path(psegs: list[str], ssegs: list[str]) -> bool:
    if not psegs:
        return not ssegs
    if psegs[0] == "**":
        if len(psegs) == 1:  # a trailing '**' matches one or more segments
            return len(ssegs) >= 1
        return any(_ref_path(psegs[1:], ssegs[k:]) for k in range(len(ssegs) + 1))
    return bool(ssegs) and _ref_segment(psegs[0], ssegs[0]) and _ref_path(psegs[1:], ssegs[1:])


_items = st.sampled_from(["a", "b", ".", "-", "]", "*", "?", "[ab]", "[!a]", "[^b]", "[a-b]"])
_items = _items | st.sampled_from(["[]a]", "[!]b]", "[a-]", "[-a]", "**", "\n"])
_canonical = lambda seg: seg not in (".", "..")  # noqa: E731 - segments normalize keeps
_segments = st.lists(_items, min_size=1, max_size=4).map("".join).filter(_canonical)
_patterns = st.lists(_segments, min_size=1, max_size=4).map("/".join)
_names = st.text("ab.-]\n", min_size=1, max_size=5).filter(_canonical)
_paths = st.lists(_names, min_size=1, max_size=5).map("/".join)


@settings(max_examples=400, deadline=None)
@given(_patterns, _paths)
def test_glob_matches_the_reference_rules(pattern: str, path: str) -> None:
    # spec: STORE-027
    segs = pattern.split("/")
    expected = _ref_path(segs, path.split("/"))
    assert bool(compile_glob(pattern)[2].match(path)) is expected
    assert matches(pattern, path) is expected


@settings(max_examples=300, deadline=None)
@given(_segments, st.text("ab.-]\n", max_size=6))
def test_name_pattern_matches_the_reference_rules(pattern: str, name: str) -> None:
    # spec: STORE-021
    assert bool(compile_name(pattern).match(name)) is _ref_segment(pattern, name)
