"""Flat-namespace reads of the ``azure`` backend through the SDK: HEADs, downloads, listings.

Every function works on the backend's ``AzureCore`` (spec AZURE-013, -016, -017).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, cast

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobPrefix

from storeroom.backend import Entry, entry_sort_key
from storeroom.backends.azure._blob import BlobReader, file_info, folder
from storeroom.backends.azure._core import AzureCore
from storeroom.backends.azure.errors import BACKEND, TABLE
from storeroom.models import FileInfo
from storeroom.path import is_store_key, listable

__all__ = ["children", "exists", "files", "has_children", "listable_blob", "open_read", "stat"]


def listable_blob(name: str) -> bool:
    """True for blob names that are store keys (spec BACKEND-006).

    A folder marker (``a/b/``, written by other tools) is skipped silently;
    any other name that is not a store path is skipped with a warning.
    """
    if name.endswith("/") and is_store_key(name[:-1]):
        return False
    return listable(name, BACKEND)


def stat(core: AzureCore, key: str) -> FileInfo:
    """File entry from one ``Get Blob Properties``."""
    try:
        props = core.blob(key).get_blob_properties()
    except AzureError as exc:
        raise core.fail(exc, key, "stat") from exc
    return file_info(key, key.rpartition("/")[2], props)


def has_children(core: AzureCore, key: str) -> bool:
    """Whether any blob lies below ``key/`` (listing pages of at most one name)."""
    pages = core.container().list_blobs(name_starts_with=key + "/", results_per_page=1)
    for page in pages.by_page():
        for _item in page:
            return True
    return False


def exists(core: AzureCore, key: str) -> bool:
    """A file (the SDK's own HEAD) or, when that misses, a folder (AZURE-017)."""
    try:
        if core.blob(key).exists():
            return True
        return has_children(core, key)
    except AzureError as exc:
        raise core.fail(exc, key, "exists") from exc


def open_read(core: AzureCore, key: str, offset: int, length: int | None) -> tuple[BinaryIO, Any]:
    """A stream over ``length`` bytes from ``offset`` and the blob's properties (or ``None``)."""
    workers = core.options.max_concurrency
    try:
        if offset or length is not None:
            dl = core.blob(key).download_blob(offset=offset, length=length, max_concurrency=workers)
        else:
            dl = core.blob(key).download_blob(max_concurrency=workers)
    except AzureError as exc:
        if getattr(exc, "status_code", None) == 416:  # at or past the end of an existing blob
            return cast(BinaryIO, BlobReader(None, key)), None
        raise TABLE.map(exc, key, operation="open_read", reading=True) from exc
    return cast(BinaryIO, BlobReader(dl, key)), dl.properties


def files(core: AzureCore, prefix: str, base: str) -> Iterator[FileInfo]:
    """Every blob under ``prefix/`` (paths relative to ``base``), page by page."""
    cut = len(base) + 1 if base else 0
    try:
        pages = core.container().list_blobs(name_starts_with=prefix + "/" if prefix else None)
        for page in pages.by_page():
            for item in page:
                name = item.name
                if not listable_blob(name):
                    continue
                yield file_info(name[cut:], name.rpartition("/")[2], item)
    except AzureError as exc:
        raise core.fail(exc, prefix, "list") from exc


def children(core: AzureCore, prefix: str, base: str) -> Iterator[Entry]:
    """The files and folders right under ``prefix/``, one sorted page at a time."""
    cut = len(base) + 1 if base else 0
    try:
        pages = (
            core.container()
            .walk_blobs(name_starts_with=prefix + "/" if prefix else None, delimiter="/")
            .by_page()
        )
        for page in pages:
            batch: list[Entry] = []
            folders = False
            for item in page:
                name = item.name
                if isinstance(item, BlobPrefix):
                    if listable(name[:-1], BACKEND):
                        folders = True
                        batch.append(folder(name[cut:-1]))
                elif listable_blob(name):
                    batch.append(file_info(name[cut:], name.rpartition("/")[2], item))
            if folders:  # the SDK returns a page's folders first
                batch.sort(key=entry_sort_key)
            yield from batch
    except AzureError as exc:
        raise core.fail(exc, prefix, "list") from exc
