"""Writes that also return the content's digest: ``write_with_hash``, ``open_atomic_with_hash``.

remote-store's helpers, kept by name (spec COMPAT-013). The digest is computed
client-side while the bytes go to the store (``storeroom.ext.integrity`` and
``storeroom.ext.streams`` do the hashing) and set on the ``WriteResult``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from storeroom.ext.integrity import digest_stream
from storeroom.ext.streams import ChecksumReader, ChecksumWriter
from storeroom.models import WriteResult
from storeroom.path import RemotePath
from storeroom.store import Store

__all__ = ["HashingAtomicWriter", "open_atomic_with_hash", "write_with_hash"]


class HashingAtomicWriter(ChecksumWriter):
    """The stream ``open_atomic_with_hash`` yields; ``result`` is set once the block commits."""

    def __init__(self, stream: BinaryIO | Any, algorithm: str = "sha256") -> None:
        super().__init__(stream, algorithm)
        self.result: WriteResult | None = None

    def hexdigest(self) -> str:
        """The hex digest of everything written so far."""
        return self.digest().value


def write_with_hash(
    store: Store,
    path: str,
    content: BinaryIO | bytes,
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> WriteResult:
    """Write ``content`` to ``path``; the result's ``digest`` is the client-side hash."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        digest = digest_stream(io.BytesIO(data), algorithm)
        result = store.write(path, data, overwrite=overwrite, metadata=metadata)
    else:
        reader = ChecksumReader(content, algorithm)
        result = store.write(path, reader, overwrite=overwrite, metadata=metadata)
        digest = reader.digest()
    return dataclasses.replace(result, digest=digest)


@contextlib.contextmanager
def open_atomic_with_hash(
    store: Store,
    path: str,
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> Iterator[HashingAtomicWriter]:
    """``with open_atomic_with_hash(store, p) as w: w.write(...)``; then ``w.result.digest``.

    Committed atomically on a clean exit (``result`` set), discarded on an
    exception (``result`` stays ``None``). With ``metadata`` the bytes are
    buffered in memory and written with ``write_atomic``.
    """
    if metadata:
        buffer = io.BytesIO()
        writer = HashingAtomicWriter(buffer, algorithm)
        yield writer
        done = store.write_atomic(path, buffer.getvalue(), overwrite=overwrite, metadata=metadata)
        writer.result = dataclasses.replace(done, digest=writer.digest())
        return
    with store.open_atomic(path, overwrite=overwrite) as stream:
        writer = HashingAtomicWriter(stream, algorithm)
        yield writer
    writer.result = WriteResult(
        path=RemotePath(path), size=writer.bytes_written, digest=writer.digest()
    )
