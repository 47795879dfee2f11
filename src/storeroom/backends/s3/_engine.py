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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom.backend import Source
from storeroom.backends.s3 import _reader
from storeroom.backends.s3._core import S3Core
from storeroom.backends.s3._transfer import fill, source_size
from storeroom.backends.s3._writer import S3fsWriter
from storeroom.backends.s3.errors import BACKEND
from storeroom.errors import ConfigError, InvalidPath, NotFound
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from storeroom.backends.s3._arrow_engine import ArrowEngine

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


class DataPath:
    """Reads and writes of one backend, routed to its engine."""

    __slots__ = ("arrow", "core", "writer")

    def __init__(self, core: S3Core) -> None:
        self.core = core
        self.writer = S3fsWriter(core)
        self.arrow: ArrowEngine | None = _arrow(core) if core.options.engine == "pyarrow" else None

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
                return self.writer.put(key, data, overwrite, args, metadata)
            src = io.BytesIO(data)
            del data
        total = source_size(src)
        first = fill(src.read, threshold)
        lead = fill(src.read, 1) if len(first) == threshold else b""
        if not lead:
            return self.writer.put(key, first, overwrite, args, metadata)
        if self.arrow is not None and overwrite and not metadata:
            first += lead
            del lead
            size = self.arrow.write(key, first, src.read)
            return _local_result(key, size)
        return self.writer.multipart(key, src, first, bytes(lead), total, overwrite, args, metadata)


def _local_result(key: str, size: int) -> WriteResult:
    """The result of an Arrow write: Arrow reports no ETag or version (spec S3-053)."""
    return S3Core.result(key, size, {}, None)
