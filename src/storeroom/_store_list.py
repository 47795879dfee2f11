"""The Store's listing family on a ``StoreCore``: list_files, list_folders, glob.

Arguments (depth, name pattern, glob pattern) are checked when the method is
called, before the lazy listing starts, and a bad one is an
``InvalidArgument`` with the store's context (STORE-021..027).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from storeroom._glob import compile_glob, compile_name
from storeroom._store_core import StoreCore
from storeroom._store_support import check_depth, filter_files, filter_folders
from storeroom.backend import Entry
from storeroom.errors import InvalidArgument, InvalidPath
from storeroom.models import FileInfo, FolderEntry
from storeroom.path import normalize

__all__ = ["glob", "iterate", "list_files", "list_folders"]


def iterate(core: StoreCore, op: str, key: str, recursive: bool) -> Iterator[Entry]:
    """The backend listing of ``key``, failures translated with the Store's context."""
    try:
        yield from core._backend.list(key, recursive=recursive, base=core._prefix)
    except Exception as exc:
        raise core._fail(exc, op, key)


def _checked(core: StoreCore, op: str, path: str, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except InvalidArgument as exc:
        raise core._stamp(exc, op, path) from None


def _name_filter(core: StoreCore, op: str, path: str, pattern: object) -> Any:
    if pattern is None:
        return None
    return _checked(core, op, path, lambda: compile_name(pattern)).match  # type: ignore[arg-type]


def list_files(
    core: StoreCore, path: object, recursive: bool, max_depth: int | None, pattern: object
) -> Iterator[FileInfo]:
    key = core._key(path)
    base = core._rel(key)
    _checked(core, "list_files", base, lambda: check_depth(max_depth))
    match = _name_filter(core, "list_files", base, pattern)
    rec = max_depth > 0 if max_depth is not None else recursive
    entries = iterate(core, "list_files", key, bool(rec))
    base_depth = base.count("/") + 1 if base else 0
    return filter_files(entries, max_depth, base_depth, match)


def list_folders(
    core: StoreCore, path: object, max_depth: int | None, pattern: object
) -> Iterator[FolderEntry]:
    key = core._key(path)
    base = core._rel(key)
    _checked(core, "list_folders", base, lambda: check_depth(max_depth))
    match = _name_filter(core, "list_folders", base, pattern)
    depth = max_depth or 0
    entries = iterate(core, "list_folders", key, depth > 0)
    base_depth = base.count("/") + 1 if base else 0
    return filter_folders(entries, depth, base_depth, match)


def glob(core: StoreCore, pattern: object) -> Iterator[FileInfo]:
    """Files matching ``pattern``, listing only under its fixed prefix (STORE-027)."""
    try:
        norm = normalize(pattern, backend=core._type)
    except InvalidPath as exc:
        raise core._stamp(exc, "glob") from None
    prefix, recursive, regex = _checked(core, "glob", norm, lambda: compile_glob(norm))
    entries = iterate(core, "glob", core._key(prefix), recursive)
    match = regex.match
    return (e for e in entries if type(e) is FileInfo and match(e.path))
