"""Helpers of the ``azure`` backend that need no client: stream reader, blocks, entries.

Imported only by ``backend.py``, after the SDK is known to be installed.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from azure.core import MatchConditions

from storeroom.backends.azure.errors import BACKEND, TABLE
from storeroom.errors import InvalidArgument
from storeroom.models import FileInfo, FolderEntry

__all__ = [
    "BlobReader",
    "block_ids",
    "check_metadata",
    "create_only",
    "file_info",
    "read_block",
]

# Azure metadata names are C# identifiers; values travel as HTTP header text.
_META_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_META_VALUE = re.compile(r"[\x20-\x7e]*\Z")
_META_RESERVED = "hdi_isfolder"


def check_metadata(metadata: Mapping[str, str] | None, key: str) -> dict[str, str] | None:
    """Metadata Azure stores as given; anything else is ``InvalidArgument`` (never altered)."""
    if not metadata:
        return None
    for name, value in metadata.items():
        if not _META_NAME.match(name) or name.lower() == _META_RESERVED:
            raise InvalidArgument(
                f"Azure cannot store the metadata name {name!r}",
                path=key,
                backend=BACKEND,
                hint="use letters, digits and '_' only, not starting with a digit",
            )
        if not _META_VALUE.match(value) or value != value.strip():
            raise InvalidArgument(
                f"Azure cannot store the metadata value of {name!r} as given",
                path=key,
                backend=BACKEND,
                hint="use printable ASCII without leading or trailing spaces",
            )
    return dict(metadata)


def create_only(overwrite: bool) -> dict[str, Any]:
    """SDK keywords for ``If-None-Match: *`` (create only) unless overwriting."""
    return {} if overwrite else {"match_condition": MatchConditions.IfMissing}


def block_ids(count_hint: int = 0) -> Iterator[str]:
    """Fresh block ids of equal length (Azure requires it within one blob)."""
    tag = uuid.uuid4().hex
    n = count_hint
    while True:
        yield base64.b64encode(f"{tag}{n:010d}".encode("ascii")).decode("ascii")
        n += 1


def read_block(read: Callable[[int], bytes], size: int) -> bytes:
    """Up to ``size`` bytes from ``read``; shorter only at the end of the source."""
    first = read(size)
    if not first or len(first) >= size:
        return bytes(first)
    parts = [first]
    have = len(first)
    while have < size:
        more = read(size - have)
        if not more:
            break
        parts.append(more)
        have += len(more)
    return b"".join(parts)


def file_info(path: str, name: str, props: Any) -> FileInfo:
    """A ``FileInfo`` from ``BlobProperties`` (a listing item or a HEAD answer)."""
    settings = getattr(props, "content_settings", None)
    meta = getattr(props, "metadata", None)
    return FileInfo._fast(
        path,
        name,
        props.size,
        props.last_modified,
        etag=props.etag.strip('"') if props.etag else None,
        content_type=getattr(settings, "content_type", None),
        metadata=dict(meta) if meta else None,
    )


def folder(path: str) -> FolderEntry:
    """A folder entry for a path relative to the listing base."""
    return FolderEntry._fast(path, path.rpartition("/")[2])


class BlobReader(io.RawIOBase):
    """A forward-only binary stream over a ``StorageStreamDownloader``.

    The downloader fetches the blob in chunks of the backend's ``block_size``,
    so memory stays flat however large the blob is. SDK failures while
    reading are raised as storeroom errors.
    """

    def __init__(self, downloader: Any, key: str) -> None:
        super().__init__()
        self._dl = downloader
        self._key = key
        self.name = key

    def readable(self) -> bool:
        return True

    def _fail(self, exc: Exception) -> Exception:
        return TABLE.map(exc, self._key, operation="open_read", reading=True)

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._dl is None:
            return b""
        try:
            data: bytes = self._dl.read(-1 if size is None or size < 0 else size)
        except Exception as exc:
            raise self._fail(exc) from exc
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._dl = None
        super().close()
