"""Writes of the ``memory`` backend besides the plain ``write``: If-Match writes and copies.

The plain ``write`` is written out in ``backend.py`` on the core, so the hottest
call has no extra layer (MEM-030).
"""

from __future__ import annotations

import types
from collections.abc import Mapping

from storeroom.backend import Source, read_all
from storeroom.backends.memory._core import EMPTY, File, MemoryCore
from storeroom.models import WriteResult

__all__ = ["copy", "result", "write_if_match"]


def result(key: str, record: File) -> WriteResult:
    """The ``WriteResult`` of ``record`` stored at ``key``."""
    meta = record.metadata
    return WriteResult._fast(
        key, len(record.data), record.etag, record.modified_at, dict(meta) if meta else {}
    )


def write_if_match(
    core: MemoryCore, key: str, src: Source, etag: str, metadata: Mapping[str, str] | None
) -> WriteResult:
    """Compare the etag and replace the file under the one lock (COND-040)."""
    data = src if type(src) is bytes else read_all(src)
    record = File(data, types.MappingProxyType(dict(metadata)) if metadata else EMPTY)
    with core.lock:
        core.match(key, etag, "write")
        core.put(key, record)
    return result(key, record)


def copy(core: MemoryCore, src: str, dst: str, overwrite: bool) -> WriteResult:
    """Copy content, metadata and etag in one step; the copy gets a new modification time."""
    with core.lock:
        source = core.file(src)
        if src == dst:
            return result(dst, source)
        record = File(source.data, source.metadata, etag=source.etag)
        core.check_target(dst, overwrite)
        core.put(dst, record)
    return result(dst, record)
