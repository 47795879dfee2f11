"""The Store's read family on a ``StoreCore``: text decoding, byte ranges, seekable readers.

Arguments are checked before any I/O; backend failures are translated with
the store-relative path and the operation (STORE-003..006).
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from storeroom._rangeio import open_seekable
from storeroom._store_core import MAX_OFFSET, StoreCore, StoreStream
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument
from storeroom.path import normalize

__all__ = ["decode_text", "read_range", "read_seekable"]


def decode_text(core: StoreCore, path: str, data: bytes, encoding: str, errors: str) -> str:
    """``data`` decoded; a decode error or unknown codec is ``InvalidArgument``."""
    try:
        codecs.lookup_error(errors)  # decode() looks a handler up only on an error
        return data.decode(encoding, errors)
    except (LookupError, UnicodeError, TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"cannot decode as {encoding!r}: {exc}",
            path=normalize(path),
            backend=core._type,
            operation="read_text",
            store=core._name,
            hint="pass the right encoding= (and errors=) or use read_bytes()",
        ) from exc


def read_range(core: StoreCore, path: str, start: int, end: int | None) -> bytes:
    """Bytes ``[start, end)`` of the file at ``path``; past-EOF ranges shrink."""
    key = core._file_key(path)
    if (
        not isinstance(start, int)
        or not 0 <= start <= MAX_OFFSET
        or (end is not None and (not isinstance(end, int) or not start <= end <= MAX_OFFSET))
    ):
        raise InvalidArgument(
            f"invalid byte range start={start!r} end={end!r}",
            path=core._rel(key),
            backend=core._type,
            operation="read_range",
            store=core._name,
            hint="use 0 <= start <= end < 2**63 (end exclusive, None for end of file)",
        )
    try:
        if end == start:
            core._backend._check_file(key)
            return b""
        with core._backend.open_read(key, start, end) as stream:
            return stream.read()
    except Exception as exc:
        raise core._fail(exc, "read_range", key)


def read_seekable(core: StoreCore, path: str) -> BinaryIO:
    """A seekable reader: the backend's own stream where it seeks, else ranged reads."""
    key = core._file_key(path)
    backend = core._backend
    try:
        if Capability.SEEKABLE_READ in core._caps:
            stream = backend.open_read(key)
            if stream.seekable():
                return StoreStream(stream, core, "read_seekable", key)  # type: ignore[return-value]
            stream.close()
        size = backend._check_file(key).size
    except Exception as exc:
        raise core._fail(exc, "read_seekable", key)

    def opener(start: int, end: int | None) -> BinaryIO:
        try:
            stream = backend.open_read(key, start, end)
        except Exception as exc:
            raise core._fail(exc, "read_seekable", key)
        return StoreStream(stream, core, "read_seekable", key)  # type: ignore[return-value]

    reader: BinaryIO = open_seekable(
        opener,
        size,
        name=core._rel(key),
        backend=core._type,
        operation="read_seekable",
        store=core._name,
    )
    return reader
