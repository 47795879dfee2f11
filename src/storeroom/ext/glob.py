"""Portable glob: the matcher ``Store.glob`` uses, for any backend that can LIST.

``Store.glob(pattern)`` already works on every backend with the LIST
capability: it lists only under the pattern's fixed prefix (``data/2024``
for ``data/2024/*/part-*.csv``), recursively only when the pattern needs
more than one level, and matches paths with the regex below. This module
exposes those pieces for code that filters paths itself (spec EXT-050..052).
Patterns: ``*`` and ``?`` within one segment, ``[abc]``/``[!abc]`` classes,
``**`` for any number of segments.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from re import Pattern

from storeroom._glob import compile_glob, has_magic
from storeroom.models import FileInfo
from storeroom.path import normalize
from storeroom.store import Store

__all__ = [
    "compile_glob",
    "filter_paths",
    "glob",
    "glob_files",
    "glob_prefix",
    "has_magic",
    "matches",
]


def _compiled(pattern: str) -> tuple[str, bool, Pattern[str]]:
    return compile_glob(normalize(pattern))


def glob_prefix(pattern: str) -> str:
    """The folder a listing for ``pattern`` has to cover (no magic characters in it)."""
    return _compiled(pattern)[0]


def matches(pattern: str, path: str) -> bool:
    """True when store path ``path`` matches ``pattern``."""
    return _compiled(pattern)[2].match(normalize(path)) is not None


def filter_paths(pattern: str, paths: Iterable[str]) -> Iterator[str]:
    """The paths (normalised) that match ``pattern``, in input order."""
    regex = _compiled(pattern)[2]
    for p in paths:
        key = normalize(p)
        if regex.match(key):
            yield key


def glob(store: Store, pattern: str) -> Iterator[FileInfo]:
    """Files of ``store`` matching ``pattern``, sorted by path (``store.glob``)."""
    return store.glob(pattern)


def glob_files(store: Store, pattern: str) -> Iterator[FileInfo]:
    """remote-store's name of ``glob``: files matching ``pattern``, sorted by path."""
    return store.glob(pattern)
