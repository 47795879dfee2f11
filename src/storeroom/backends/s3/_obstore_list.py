"""Listings of the ``obstore`` engine (spec S3-085).

Recursive: ``obstore.list`` pages of 1,000 objects, streamed. One level:
``obstore.list_with_delimiter`` (objects and folder prefixes right under the
prefix). obstore refuses object names its paths cannot hold (an empty segment,
``a//b``, written by other tools): when that happens before the first entry
the listing is served by the botocore lanes instead, which skip such names
with a warning as every engine does (spec BACKEND-006).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from heapq import merge
from typing import TYPE_CHECKING, Any

from storeroom.backends.s3._core import etag
from storeroom.errors import InvalidPath
from storeroom.models import FileInfo, FolderEntry

if TYPE_CHECKING:
    from storeroom.backends.s3._obstore_engine import ObstoreEngine

__all__ = ["pages"]

#: The botocore listing of the same call: ``(prefix, recursive, base) -> entries``.
Fallback = Callable[[str, bool, str], Iterator[Any]]


def _file(path: str, obj: dict[str, Any]) -> FileInfo:
    return FileInfo._fast(
        path,
        path.rpartition("/")[2],
        int(obj["size"]),
        obj.get("last_modified"),
        etag=etag(obj.get("e_tag")),
    )


def _name(item: tuple[str, Any]) -> str:
    return item[0]


def pages(
    obs: ObstoreEngine,
    prefix: str,
    recursive: bool,
    base: str,
    fallback: Fallback,
    canonical: Callable[[str], bool],
) -> Iterator[Any]:
    """The entries under ``prefix`` (paths relative to ``base``), in name order."""
    entries = _entries(obs, prefix, recursive, len(base) + 1 if base else 0, canonical)
    try:
        first = next(entries)
    except StopIteration:
        return
    except InvalidPath:  # a name obstore cannot hold: botocore serves this listing
        yield from fallback(prefix, recursive, base)
        return
    yield first
    yield from entries


def _entries(
    obs: ObstoreEngine, prefix: str, recursive: bool, cut: int, canonical: Callable[[str], bool]
) -> Iterator[Any]:
    if recursive:
        for page in obs.list_all(prefix):
            for obj in page:
                if canonical(obj["path"]):
                    yield _file(obj["path"][cut:], obj)
        return
    folders, objects = obs.list_one(prefix)
    # Sorted here: obstore gathers every page but does not keep S3's order.
    files = sorted(((o["path"], o) for o in objects if canonical(o["path"])), key=_name)
    subs = sorted(((p + "/", None) for p in folders), key=_name)
    found: Iterator[tuple[str, Any]] = merge(files, subs, key=_name)
    for name, obj in found:
        if obj is not None:
            yield _file(name[cut:], obj)
        elif canonical(name[:-1]):
            path = name[cut:-1]
            yield FolderEntry._fast(path, path.rpartition("/")[2])
