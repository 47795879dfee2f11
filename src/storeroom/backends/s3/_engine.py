"""The data path of the ``s3`` backend: the one place that picks the engine per call.

``engine = "s3fs"`` serves every read and write through botocore (``_reader``,
``_writer``). ``engine = "pyarrow"`` serves reads and large overwriting writes
through Arrow (``_arrow_engine``); small writes, create-only writes and writes
with user metadata stay on botocore, which alone can send ``If-None-Match: *``
and ``x-amz-meta-*`` and does a small write in one PUT (spec S3-053).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom.backend import Source
from storeroom.backends.s3 import _reader
from storeroom.backends.s3._core import S3Core
from storeroom.backends.s3._transfer import fill, source_size
from storeroom.backends.s3._writer import S3fsWriter
from storeroom.backends.s3.config import MAX_PARTS
from storeroom.backends.s3.errors import BACKEND
from storeroom.errors import ConfigError, InvalidPath, NotFound
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from storeroom.backends.s3._arrow_engine import ArrowEngine
    from storeroom.backends.s3._obstore_engine import ObstoreEngine

__all__ = ["ARROW_PIP", "DataPath"]

ARROW_PIP = 'pip install "storeroom[s3,arrow]"'


def _arrow(core: S3Core) -> ArrowEngine:
    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigError(
            f"engine: the 'pyarrow' engine needs pyarrow, which is not installed; "
            f"install it with: {ARROW_PIP}",
            key="engine",
            backend=BACKEND,
            hint=ARROW_PIP,
        )
    from storeroom.backends.s3._arrow_engine import ArrowEngine, arrow_options

    arrow_options(core.options)  # refuse what Arrow cannot take, before any I/O
    return ArrowEngine(core)


def _obstore(core: S3Core) -> ObstoreEngine:
    from storeroom.backends.s3._obstore_conn import OBSTORE_PIP

    if importlib.util.find_spec("obstore") is None:
        raise ConfigError(
            f"engine: the 'obstore' engine needs obstore, which is not installed; "
            f"install it with: {OBSTORE_PIP}",
            key="engine",
            backend=BACKEND,
            hint=OBSTORE_PIP,
        )
    from storeroom.backends.s3._obstore_engine import ObstoreEngine

    return ObstoreEngine(core)


def _chunks(first: bytes, read: Any, size: int) -> Iterator[bytes | bytearray]:
    """``first``, then reads of ``size`` bytes of the source until it ends."""
    yield first
    while chunk := fill(read, size):
        yield chunk  # handed over as a buffer, not copied


class DataPath:
    """Reads and writes of one backend, routed to its engine."""

    __slots__ = ("_obs", "arrow", "core", "writer")

    def __init__(self, core: S3Core) -> None:
        self.core = core
        self.writer = S3fsWriter(core)
        engine = core.options.engine
        self.arrow: ArrowEngine | None = _arrow(core) if engine == "pyarrow" else None
        self._obs: ObstoreEngine | None = _obstore(core) if engine == "obstore" else None

    @property
    def obs(self) -> ObstoreEngine | None:
        """The obstore engine, or ``None`` (other engine, or a forked child: S3-086)."""
        if self._obs is None:
            return None
        from storeroom.backends.s3._obstore_conn import usable

        return self._obs if usable() else None

    def close(self) -> None:
        """Drop the engines' clients (pyarrow filesystem, obstore store); rebuilt on next use."""
        if self.arrow is not None:
            self.arrow.close()
        if self._obs is not None:
            self._obs.close()

    def open_read(self, key: str, start: int | None, end: int | None) -> BinaryIO:
        """A lazy, forward-only stream of ``[start, end)`` of ``key``."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise InvalidPath("byte offsets must not be negative", path=key, backend=BACKEND)
        if not key:
            raise InvalidPath("expected a file, got the root", path=key, backend=BACKEND)
        first = start or 0
        if end is not None and end <= first:
            if self.core.head(key, "open_read") is None:  # the range itself is empty
                raise NotFound("file not found", path=key, backend=BACKEND, operation="stat")
            return io.BytesIO(b"")
        if self.arrow is not None:
            return self.arrow.open_read(key, first, end)
        if self.obs is not None:
            return self.obs.open_read(key, first, end)
        return _reader.open_read(self.core, key, first, end)

    def write(
        self,
        key: str,
        src: Source,
        overwrite: bool,
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        """Write ``src`` to ``key``: one PUT up to ``multipart_threshold``, else a stream."""
        if not key:
            raise InvalidPath("a file path is required, got the root", path=key, backend=BACKEND)
        if self.core.options.reject_write_under_file_ancestor:
            self.writer.check_ancestors(key)
        args: dict[str, Any] = {"Metadata": dict(metadata)} if metadata else {}
        threshold = self.core.options.multipart_threshold
        if isinstance(src, bytes | bytearray | memoryview):
            data = bytes(src)
            if len(data) <= threshold:
                return self._put(key, data, overwrite, args, metadata)
            src = io.BytesIO(data)
            del data
        total = source_size(src)
        first = fill(src.read, threshold)
        lead = fill(src.read, 1) if len(first) == threshold else b""
        if not lead:
            return self._put(key, first, overwrite, args, metadata)
        if self.obs is not None and overwrite:
            # obstore's multipart upload (aborted by obstore on failure, S3-083).
            parts = max(self.core.options.part_size, -(-(total or 0) // MAX_PARTS))
            head = bytes(first) + lead
            del first, lead
            stream = _chunks(head, src.read, parts)
            return self.obs.put(key, stream, None, "overwrite", metadata, part_size=parts)
        if self.arrow is not None and overwrite and not metadata:
            first += lead
            del lead
            size = self.arrow.write(key, first, src.read)
            return _local_result(key, size)
        return self.writer.multipart(key, src, first, bytes(lead), total, overwrite, args, metadata)

    def _put(
        self,
        key: str,
        data: bytes | bytearray,
        overwrite: bool,
        args: dict[str, Any],
        metadata: Mapping[str, str] | None,
    ) -> WriteResult:
        """One PUT through the engine that does one (``If-None-Match: *`` when create-only)."""
        if self.obs is not None:
            mode = "overwrite" if overwrite else "create"
            return self.obs.put(key, bytes(data), len(data), mode, metadata)
        return self.writer.put(key, data, overwrite, args, metadata)


def _local_result(key: str, size: int) -> WriteResult:
    """The result of an Arrow write: Arrow reports no ETag or version (spec S3-053)."""
    return S3Core.result(key, size, {}, None)
