"""Binary stream wrappers that observe bytes passing through, adding no buffering.

``ProgressReader``/``ProgressWriter`` report byte counts to a callback;
``ChecksumReader``/``ChecksumWriter`` hash the bytes as they pass. Each call
(``read``, ``readinto``, ``write``, ...) is forwarded as one call to the
wrapped stream, so no data is held back or read ahead (spec EXT-020..024).
Wrap with ``with``: closing the wrapper closes the wrapped stream.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom.errors import InvalidArgument
from storeroom.models import ContentDigest

if TYPE_CHECKING:
    from storeroom.store import Store

__all__ = [
    "ChecksumReader",
    "ChecksumWriter",
    "ProgressReader",
    "ProgressWriter",
    "new_hasher",
    "normalize_algorithm",
    "read_with_progress",
]

ProgressCallback = Callable[[int], object]


def normalize_algorithm(name: str) -> str:
    """``"SHA-256"`` → ``"sha256"``: lower case, hyphens dropped."""
    return str(name).strip().lower().replace("-", "")


def new_hasher(algorithm: str) -> Any:
    """A ``hashlib`` object for ``algorithm``; unknown names are ``InvalidArgument``."""
    algo = normalize_algorithm(algorithm)
    try:
        return hashlib.new(algo)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"unknown hash algorithm {algorithm!r} ({exc})",
            hint="use a hashlib name such as 'sha256', 'md5' or 'blake2b'",
        ) from exc


class _Wrapper:
    """Common pass-through parts: context manager, close, flags."""

    def __init__(self, inner: BinaryIO | Any) -> None:
        self._stream = inner

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_stream":
            raise AttributeError(name)
        return getattr(self._stream, name)

    @property
    def raw(self) -> Any:
        """The wrapped stream."""
        return self._stream

    @property
    def closed(self) -> bool:
        return bool(getattr(self._stream, "closed", False))

    @property
    def name(self) -> Any:
        return getattr(self._stream, "name", None)

    def readable(self) -> bool:
        return bool(getattr(self._stream, "readable", lambda: False)())

    def writable(self) -> bool:
        return bool(getattr(self._stream, "writable", lambda: False)())

    def seekable(self) -> bool:
        return bool(getattr(self._stream, "seekable", lambda: False)())

    def tell(self) -> int:
        return int(self._stream.tell())

    def flush(self) -> None:
        flush = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Reader(_Wrapper):
    """Forwards each read call once and passes the bytes to ``_seen``."""

    def _seen(self, data: Any, n: int) -> None:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._stream.read(size)
        self._seen(data, len(data))
        return data

    def read1(self, size: int = -1) -> bytes:
        read1 = getattr(self._stream, "read1", None)
        data: bytes = read1(size) if read1 is not None else self._stream.read(size)
        self._seen(data, len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        readinto = getattr(self._stream, "readinto", None)
        view = memoryview(buffer).cast("B")
        if readinto is None:
            data = self._stream.read(len(view))
            n = len(data)
            view[:n] = data
        else:
            n = readinto(view) or 0
        self._seen(view[:n], n)
        return n

    def readline(self, size: int = -1) -> bytes:
        data: bytes = self._stream.readline(size)
        self._seen(data, len(data))
        return data

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = self._stream.readlines(hint)
        for line in lines:
            self._seen(line, len(line))
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line


class ProgressReader(_Reader):
    """Calls ``callback(n)`` with each count of new bytes read.

    After a ``seek`` back (a retried upload rewinds its source), bytes are
    reported again only past the furthest position already reported, so a
    progress bar never counts a byte twice.
    """

    def __init__(self, inner: BinaryIO | Any, callback: ProgressCallback) -> None:
        super().__init__(inner)
        self._callback = callback
        self._pos = 0
        self._high = 0
        self.bytes_read = 0

    def _seen(self, data: Any, n: int) -> None:
        self.bytes_read += n
        self._pos += n
        if self._pos > self._high:
            new, self._high = self._pos - self._high, self._pos
            self._callback(new)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = int(self._stream.seek(offset, whence))
        return self._pos


class _Hashing:
    _algorithm: str

    @property
    def algorithm(self) -> str:
        """The hashlib name, normalised (``"sha256"``)."""
        return self._algorithm


class ChecksumReader(_Hashing, _Reader):
    """Hashes every byte read; ``digest()`` is the ``ContentDigest`` of all of them.

    Seeking to 0 restarts the hash; any other seek makes ``digest()`` raise.
    """

    def __init__(self, inner: BinaryIO | Any, algorithm: str = "sha256") -> None:
        super().__init__(inner)
        self._algorithm = normalize_algorithm(algorithm)
        self._hasher = new_hasher(self._algorithm)
        self._valid = True
        self.bytes_read = 0

    def _seen(self, data: Any, n: int) -> None:
        self.bytes_read += n
        self._hasher.update(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        pos = int(self._stream.seek(offset, whence))
        if pos == 0:
            self._hasher = new_hasher(self.algorithm)
            self._valid = True
            self.bytes_read = 0
        else:
            self._valid = False
        return pos

    def digest(self) -> ContentDigest:
        if not self._valid:
            raise InvalidArgument(
                "the stream was repositioned; its checksum no longer covers the content",
                hint="seek back to 0 and read it through again",
            )
        return ContentDigest(self.algorithm, self._hasher.hexdigest())

    def hexdigest(self) -> str:
        """Lower-case hex of the bytes read (``digest().value``)."""
        return self.digest().value


class _Writer(_Wrapper):
    def _seen(self, data: Any, n: int) -> None:
        raise NotImplementedError

    def write(self, data: Any) -> int:
        n = self._stream.write(data)
        view = memoryview(data).cast("B")
        n = len(view) if n is None else int(n)
        self._seen(view[:n], n)
        return n

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)


class ProgressWriter(_Writer):
    """Calls ``callback(n)`` with the count of bytes each ``write`` accepted."""

    def __init__(self, inner: BinaryIO | Any, callback: ProgressCallback) -> None:
        super().__init__(inner)
        self._callback = callback
        self.bytes_written = 0

    def _seen(self, data: Any, n: int) -> None:
        self.bytes_written += n
        if n:
            self._callback(n)


class ChecksumWriter(_Hashing, _Writer):
    """Hashes every byte written; ``digest()`` is their ``ContentDigest``."""

    def __init__(self, inner: BinaryIO | Any, algorithm: str = "sha256") -> None:
        super().__init__(inner)
        self._algorithm = normalize_algorithm(algorithm)
        self._hasher = new_hasher(self._algorithm)
        self.bytes_written = 0

    def _seen(self, data: Any, n: int) -> None:
        self.bytes_written += n
        self._hasher.update(data)

    def digest(self) -> ContentDigest:
        return ContentDigest(self.algorithm, self._hasher.hexdigest())

    def hexdigest(self) -> str:
        """Lower-case hex of the bytes written (``digest().value``)."""
        return self.digest().value


def read_with_progress(store: Store, path: str, callback: ProgressCallback) -> ProgressReader:
    """``ProgressReader(store.read(path), callback)``; the caller closes it."""
    return ProgressReader(store.read(path), callback)
