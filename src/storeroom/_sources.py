"""Turn what users pass to ``write`` into what backends accept: bytes or a binary stream."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from storeroom.backend import Source
from storeroom.errors import InvalidArgument

__all__ = ["SourceReader", "is_user_error", "mark_user_error", "source_failure", "to_source"]

_MARK = "_storeroom_from_source"


def is_user_error(exc: BaseException) -> bool:
    """True when ``exc`` was raised by the caller's own content source."""
    return getattr(exc, _MARK, False) is True


def mark_user_error(exc: BaseException) -> None:
    """Tag ``exc`` as raised by the caller's own source, so the Store passes it on unchanged."""
    setattr(exc, _MARK, True)


def source_failure(src: object) -> Exception | None:
    """The exception the caller's own content source raised while a write read it, if any.

    Backends may wrap it (an ``OSError`` looks like a disk failure to them);
    the Store re-raises this very object instead (STORE-008).
    """
    failure = getattr(src, "failure", None)
    return failure if isinstance(failure, Exception) else None


class SourceReader(io.RawIOBase):
    """Readable stream over a user file object or an iterable of bytes.

    Exceptions raised by the user's source are tagged, so the Store re-raises
    them unchanged instead of reporting a backend failure. Seeking is passed
    through when the underlying file supports it (the retry layer rewinds).
    """

    def __init__(self, fileobj: Any = None, chunks: Iterator[Any] | None = None) -> None:
        super().__init__()
        self._file = fileobj
        self._chunks = chunks
        self._pending = b""
        #: The first exception the source raised (re-raised by the Store as is).
        self.failure: Exception | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._file is not None and bool(self._file.seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("source is not seekable")
        return int(self._file.seek(offset, whence))

    def tell(self) -> int:
        if self._file is None:
            raise io.UnsupportedOperation("source has no position")
        return int(self._file.tell())

    def read(self, size: int = -1) -> bytes:
        try:
            if self._file is not None:
                data = self._file.read(size) if size is not None else self._file.read()
                if isinstance(data, str):
                    raise InvalidArgument(
                        "write() needs binary content but the file object returned str",
                        hint="open the file in binary mode ('rb') or use write_text()",
                    )
                return bytes(data) if not isinstance(data, bytes) else data
            return self._read_chunks(size)
        except Exception as exc:
            mark_user_error(exc)
            if self.failure is None:
                self.failure = exc
            raise

    def _read_chunks(self, size: int) -> bytes:
        assert self._chunks is not None
        buf = self._pending
        while size < 0 or len(buf) < size:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                break
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise InvalidArgument(
                    f"write() got an iterable yielding {type(chunk).__name__}, expected bytes"
                )
            buf += bytes(chunk)
        if size < 0:
            self._pending = b""
            return buf
        self._pending = buf[size:]
        return buf[:size]

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def to_source(content: object) -> Source:
    """Normalise ``write()`` content; a wrong type is an ``InvalidArgument``."""
    if isinstance(content, bytes):
        return content
    if isinstance(content, bytearray | memoryview):
        return bytes(content)
    if isinstance(content, str):
        raise InvalidArgument(
            "write() needs bytes, got str",
            hint="use write_text() for text, or encode the string first",
        )
    if isinstance(content, io.TextIOBase):
        raise InvalidArgument(
            "write() needs a binary file object, got a text file",
            hint="open the file in binary mode ('rb')",
        )
    if hasattr(content, "read"):
        stream: BinaryIO = SourceReader(fileobj=content)  # type: ignore[assignment]
        return stream
    if isinstance(content, Iterable):
        chunks: BinaryIO = SourceReader(chunks=iter(content))  # type: ignore[assignment]
        return chunks
    raise InvalidArgument(
        f"write() cannot take {type(content).__name__}",
        hint="pass bytes, a binary file object, or an iterable of bytes",
    )
