"""Reads of the ``memory`` backend: entries of nodes and streams over snapshots (MEM-015)."""

from __future__ import annotations

import io
from typing import BinaryIO

from storeroom.backend import Entry
from storeroom.backends.memory._core import File, Folder, MemoryCore, err
from storeroom.errors import InvalidPath
from storeroom.models import FileInfo, FolderEntry

__all__ = ["entry", "open_read"]


def entry(path: str, name: str, node: Folder | File) -> Entry:
    """The listing entry of ``node`` at ``path``."""
    if type(node) is File:
        return FileInfo._fast(
            path, name, len(node.data), node.modified_at, node.etag, None, node.metadata
        )
    return FolderEntry._fast(path, name)


def open_read(core: MemoryCore, key: str, start: int | None, end: int | None) -> BinaryIO:
    """A stream over a snapshot of the content (later writes do not affect it)."""
    if (start is not None and start < 0) or (end is not None and end < 0):
        raise err(InvalidPath, "byte offsets must not be negative", key)
    with core.lock:
        data = core.file(key).data
    if start or end is not None:
        data = data[start:end]
    return io.BytesIO(data)
