"""fsspec file objects over a Store: ranged, block-cached reads; streamed atomic writes.

Reads fetch blocks through ``Store.read_range`` (so the store's cache and retry
layers apply) behind fsspec's read-ahead cache; long reads fetch and hold
spans (``_spans``) instead. Writes stream to a writer
thread running ``Store.write_atomic`` over a bounded queue; the file appears
under its name only when ``close()`` succeeds (spec FSSPEC-010..014).
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from fsspec.spec import AbstractBufferedFile  # type: ignore[import-untyped]

from storeroom.capabilities import Capability
from storeroom.ext.fsspec._spans import Spans
from storeroom.store import Store

__all__ = ["StoreroomFile", "open_writer"]

_END = object()
_ABORT = object()
#: Chunks in flight between the caller and the writer thread (memory bound).
_QUEUE_CHUNKS = 2
#: Reads at least this long skip the block cache and read ahead by their own length.
_DIRECT = 16 * 2**20


class _Aborted(Exception):
    """Raised inside the content iterator to make the atomic write fail on purpose."""


class Writer(Protocol):
    def send(self, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class _ThreadWriter:
    """Feeds chunks to ``store.write_atomic`` running in a thread; abort publishes nothing."""

    def __init__(self, store: Store, path: str, overwrite: bool) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self._error: BaseException | None = None
        self._store, self._path, self._overwrite = store, path, overwrite
        self._thread = threading.Thread(target=self._run, name="storeroom-fsspec-writer")
        self._thread.daemon = True
        self._thread.start()

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is _ABORT:
                raise _Aborted("write discarded")
            yield item  # type: ignore[misc]

    def _run(self) -> None:
        try:
            self._store.write_atomic(self._path, self._chunks(), overwrite=self._overwrite)
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc

    def _put(self, item: object) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue
        self._reraise()

    def _reraise(self) -> None:
        if self._error is not None:
            raise self._error

    def send(self, data: bytes) -> None:
        self._put(data)

    def finish(self) -> None:
        self._put(_END)
        self._thread.join()
        self._reraise()

    def abort(self) -> None:
        if self._thread.is_alive():
            try:
                self._put(_ABORT)
            except BaseException:
                pass
        self._thread.join()


class _SpoolWriter:
    """For stores without ATOMIC_WRITE: spool locally, write once on ``finish``."""

    def __init__(self, store: Store, path: str, overwrite: bool) -> None:
        self._spool = tempfile.SpooledTemporaryFile(max_size=8 * 2**20)  # noqa: SIM115 - closed in finish/abort
        self._store, self._path, self._overwrite = store, path, overwrite

    def send(self, data: bytes) -> None:
        self._spool.write(data)

    def finish(self) -> None:
        try:
            self._spool.seek(0)
            self._store.write(self._path, self._spool, overwrite=self._overwrite)
        finally:
            self._spool.close()

    def abort(self) -> None:
        self._spool.close()


def open_writer(store: Store, path: str, overwrite: bool) -> Writer:
    """The writer for ``path``: streamed and atomic where the store can, else spooled."""
    if store.supports(Capability.ATOMIC_WRITE):
        return _ThreadWriter(store, path, overwrite)
    return _SpoolWriter(store, path, overwrite)


class StoreroomFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A file of a ``StoreroomFileSystem``: ``rb`` (seekable, cached) or ``wb``/``xb``.

    An exception inside ``with``, ``discard()``, or dropping an unclosed
    writer publishes nothing.
    """

    def __init__(
        self,
        fs: Any,
        path: str,
        store: Store,
        rel: str,
        mode: str = "rb",
        *,
        size: int | None = None,
        details: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._store_obj, self._rel = store, rel
        self._writer: Writer | None = None
        self._spans = Spans()
        super().__init__(fs, path, mode=mode, size=size, **kwargs)
        if details is not None:
            self.details = details

    # -- read -------------------------------------------------------------------------

    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        if start == 0 and end >= self.size and self.size <= _DIRECT:
            # The whole (small) file: one whole read, which a cache layer can keep.
            return self._store_obj.read_bytes(self._rel)
        return self._store_obj.read_range(self._rel, start, min(end, self.size))

    def _take(self, length: int | None) -> memoryview | None:
        """The next ``length`` bytes as a view of a held span, fetching one for a long read.

        ``None`` when the read is short and no span holds it: the block cache serves it.
        """
        if self.mode != "rb" or self.closed:
            return None
        remaining = max(self.size - self.loc, 0)
        want = remaining if length is None or length < 0 else min(length, remaining)
        view = self._spans.get(self.loc, want)
        if view is None and want >= _DIRECT:
            view = self._spans.fetch(self.loc, want, self.size, self._fetch_range)
        if view is not None:
            self.loc += len(view)
        return view

    def read(self, length: int = -1) -> bytes:
        """Long reads bypass the block cache and read ahead as far as they asked.

        A read of ``_DIRECT`` bytes or more fetches twice its length (to the end
        of the file when little would be left, and never into bytes already
        held) in one ranged read, and keeps that span for the reads that
        follow: pyarrow reads a file as a few long column-chunk runs, in any
        order, and each request to an object store has a fixed cost (spec
        FSSPEC-010).
        """
        view = self._take(length)
        if view is None:
            return bytes(super().read(length))
        whole = view.obj
        if isinstance(whole, bytes) and len(view) == len(whole):
            return whole  # the span is exactly this read: no copy
        return view.tobytes()

    def read_buffer(self, nbytes: int = -1) -> memoryview | bytes:
        """Like ``read``, but a long read is a read-only view of the fetched bytes (no copy).

        ``pyarrow.PythonFile`` (used by pandas and pyarrow for fsspec files)
        calls this instead of ``read`` when it exists.
        """
        view = self._take(nbytes)
        return bytes(super().read(nbytes)) if view is None else view

    def readinto(self, b: Any) -> int:
        out = memoryview(b).cast("B")
        view = self._take(len(out))
        if view is None:
            return int(super().readinto(b))
        out[: len(view)] = view
        return len(view)

    def close(self) -> None:
        self._spans.clear()
        super().close()

    # -- write ------------------------------------------------------------------------

    def _initiate_upload(self) -> None:
        self._writer = open_writer(self._store_obj, self._rel, overwrite=self.mode != "xb")

    def _upload_chunk(self, final: bool = False) -> bool:
        writer = self._writer
        assert writer is not None
        data: bytes = self.buffer.getvalue()  # type: ignore[attr-defined]
        try:
            if data:
                writer.send(data)
            if final:
                writer.finish()
        except BaseException:
            writer.abort()
            raise
        return True

    def discard(self) -> None:
        """Drop what was written: nothing is published under the name."""
        if self.mode != "rb" and not self.closed:  # type: ignore[has-type]
            self.closed = True
            if self._writer is not None:
                self._writer.abort()
            self.buffer = None

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is not None and self.mode != "rb":
            self.discard()
        else:
            self.close()

    def __del__(self) -> None:
        if not getattr(self, "closed", True):  # a half-built file has no "closed"
            if self.mode == "rb":
                self.close()
            else:
                self.discard()
