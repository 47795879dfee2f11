"""Arrow file objects over a Store: ranged random-access inputs and atomic outputs.

An input file maps each read Arrow makes onto one bounded
``Store.read_range`` (a Parquet footer is one small ranged read), so a cache
or retry layer on the store applies to each. An output file spools the
bytes and commits them in one write on ``close`` (ARROW-030..034).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from storeroom._rangeio import MAX_OFFSET
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument
from storeroom.store import Store

__all__ = ["AtomicOutput", "RangedFile"]

#: Spool this much in memory before moving to a temporary file (non-atomic fallback).
SPOOL_MAX = 8 * 1024 * 1024


class RangedFile(io.RawIOBase):
    """A seekable reader of a file of known ``size``; each ``read(n)`` is one ``read_range``.

    Arrow reads Parquet, Feather and IPC files by position (``read_at``), so
    one bounded request per read is the right shape: no read-ahead buffer
    over-fetches, and no open-ended stream is left half-read on a seek.
    Positions outside ``[0, 2**63)`` are ``InvalidArgument`` like the Store's
    own seekable reader.
    """

    def __init__(self, store: Store, path: str, size: int) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._size = size
        self._pos = 0
        self.name = path

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}.get(whence)
        if base is None:
            raise self._bad(f"invalid whence {whence!r}")
        target = base + offset
        if not 0 <= target <= MAX_OFFSET:
            raise self._bad(f"seek position {target} is outside [0, 2**63)")
        self._pos = target
        return target

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._pos >= self._size or size == 0:
            return b""
        stop = self._size if size is None or size < 0 else min(self._size, self._pos + size)
        data = self._store.read_range(self._path, self._pos, stop)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _bad(self, message: str) -> InvalidArgument:
        store = self._store
        return InvalidArgument(
            message,
            path=self._path,
            backend=store.backend.type_name,
            operation="open_input_file",
            store=store.name,
        )


class AtomicOutput(io.RawIOBase):
    """A writable stream committed to ``path`` on ``close`` and discarded otherwise.

    Where the store has ``ATOMIC_WRITE`` the bytes go through ``Store.open_atomic``
    (readers never see a partial file); elsewhere one plain ``Store.write`` at
    close. An existing file is replaced, as Arrow's own filesystems do. A
    stream that is garbage-collected without ``close`` or ``abort``-ed writes
    nothing.
    """

    def __init__(self, store: Store, path: str) -> None:
        super().__init__()
        self._store = store
        self._path = path
        self._written = 0
        self._commit: Callable[[BaseException | None], None]
        if store.supports(Capability.ATOMIC_WRITE):
            cm = store.open_atomic(path, overwrite=True)
            self._spool: BinaryIO = cm.__enter__()

            def commit(exc: BaseException | None) -> None:
                if exc is None:
                    cm.__exit__(None, None, None)
                else:
                    with contextlib.suppress(BaseException):
                        cm.__exit__(type(exc), exc, None)

        else:
            import tempfile

            # closed by commit(): the stream owns it past this call
            self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # type: ignore[assignment]  # noqa: SIM115

            def commit(exc: BaseException | None) -> None:
                try:
                    if exc is None:
                        self._spool.seek(0)
                        store.write(path, self._spool, overwrite=True)
                finally:
                    self._spool.close()

        self._commit = commit

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._written

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        n = self._spool.write(data)
        self._written += n
        return n

    def close(self) -> None:
        """Commit the bytes written to ``path`` (the write's typed error if it fails)."""
        if self.closed:
            return
        try:
            self._commit(None)
        finally:
            super().close()

    def abort(self) -> None:
        """Discard everything written; ``path`` is left as it was."""
        if self.closed:
            return
        try:
            self._commit(_Aborted("output stream aborted"))
        finally:
            super().close()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unclosed stream is an aborted one.
        if not sys.is_finalizing() and not self.closed and hasattr(self, "_commit"):
            with contextlib.suppress(Exception):
                self.abort()


class _Aborted(Exception):
    """Thrown into ``Store.open_atomic`` to discard its spool."""
