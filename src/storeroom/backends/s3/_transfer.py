"""Streaming transfers of the ``s3`` backend: the GET body reader and multipart uploads.

Uploads read the source in parts and never hold more than one part (plus the
first ``multipart_threshold`` bytes) in memory. A multipart upload becomes
visible only when S3 completes it, and it is aborted on any failure, so no
truncated object ever appears under the target name (spec S3-010..013).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from typing import Any

from storeroom.backend import Source
from storeroom.backends.s3._conn import Connection
from storeroom.backends.s3.config import MAX_PART_SIZE, MAX_PARTS
from storeroom.backends.s3.errors import map_error

__all__ = ["BodyReader", "Upload", "cut_parts", "fill", "part_sizes", "source_size"]

#: Reads wider than this go straight to the body without buffering.
READ_BUFFER = 256 * 1024


class BodyReader(io.RawIOBase):
    """A forward-only raw stream over an S3 GET body; errors are storeroom errors."""

    def __init__(self, conn: Connection, body: Any, key: str, bucket: str) -> None:
        super().__init__()
        self._conn = conn
        self._body = body
        self._key = key
        self._bucket = bucket
        self._pid = os.getpid()
        self._eof = False

    def readable(self) -> bool:
        return True

    def _read(self, size: int | None) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if self._eof:
            return b""
        try:
            data: bytes = self._conn.run(self._body.read, size)
        except Exception as exc:
            raise map_error(exc, self._key, operation="open_read", bucket=self._bucket) from exc
        if (not data and size != 0) or size is None:
            self._eof = True
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        n = len(data)
        view[:n] = data
        return n

    def readall(self) -> bytes:
        return self._read(None)

    def close(self) -> None:
        if not self.closed:
            body, self._body = self._body, None
            # A fully read body has already returned its connection to the pool.
            if body is not None and not self._eof and self._pid == os.getpid():
                try:
                    self._conn.run(body.aclose)
                except Exception:  # best effort: the connection is dropped either way
                    pass
        super().close()


def open_body(conn: Connection, body: Any, key: str, bucket: str) -> io.BufferedReader:
    """A buffered, forward-only binary reader over ``body``."""
    return io.BufferedReader(BodyReader(conn, body, key, bucket), buffer_size=READ_BUFFER)


# -- uploads -----------------------------------------------------------------


def source_size(src: Source) -> int | None:
    """Bytes left in ``src`` when it can tell cheaply (bytes, seekable files), else ``None``."""
    if isinstance(src, bytes | bytearray | memoryview):
        return memoryview(src).nbytes
    try:
        if not src.seekable():
            return None
        here = src.tell()
        end = src.seek(0, io.SEEK_END)
        src.seek(here)
        return max(0, end - here)
    except (AttributeError, OSError, ValueError):
        return None


def part_sizes(part_size: int, total: int | None) -> Iterator[int]:
    """Part sizes that keep an upload under S3's 10,000 parts.

    A known ``total`` gets one fixed size (at least ``total / 10,000``, rounded up
    to a MiB). An unknown one starts at ``part_size`` and doubles every 1,000
    parts, which covers S3's 5 TiB object limit from a 5 MiB start.
    """
    if total is not None:
        mib = 1024 * 1024
        need = -(-total // MAX_PARTS)
        size = max(part_size, -(-need // mib) * mib)
        while True:
            yield min(size, MAX_PART_SIZE)
    n = 0
    while True:
        yield min(part_size << (n // 1000), MAX_PART_SIZE)
        n += 1


def fill(read: Callable[[int], bytes], size: int, lead: bytes = b"") -> bytearray:
    """Up to ``size`` bytes (``lead`` first, then ``read``) in one buffer, no joins.

    Only a source that returns more than asked makes the buffer longer.
    """
    buf = bytearray(size)
    view = memoryview(buf)
    got = len(lead)
    view[:got] = lead
    while got < size:
        block = read(size - got)
        if not block:
            break
        n = len(block)
        if n > size - got:  # a source that returns more than asked: keep all of it
            view[got:] = memoryview(block)[: size - got]
            view.release()
            buf += memoryview(block)[size - got :]
            return buf
        view[got : got + n] = block
        got += n
    view.release()
    if got < size:
        del buf[got:]
    return buf


def cut_parts(
    read: Callable[[int], bytes], first: bytearray, lead: bytes, sizes: Iterator[int]
) -> Iterator[bytearray]:
    """Parts of the stream ``first + lead + read(...)``, each the next size but the last.

    ``first`` is yielded as it is when it has the first part's size (the usual
    case: ``multipart_threshold == part_size``), so a part is never copied.
    """
    size = next(sizes)
    if len(first) == size:
        yield first
        size = next(sizes)
    else:  # re-cut the head into parts of the right size
        head = memoryview(bytes(first) + lead)
        first.clear()
        pos = 0
        while len(head) - pos >= size:
            yield bytearray(head[pos : pos + size])
            pos += size
            size = next(sizes)
        lead = head[pos:].tobytes()
        head.release()
    del first
    while True:
        part = fill(read, size, lead)
        lead = b""
        if not part:
            return
        yield part
        if len(part) < size:
            return
        size = next(sizes)


class Upload:
    """One multipart upload: ``add`` parts, then ``complete``; ``abort`` on failure."""

    def __init__(
        self, conn: Connection, bucket: str, key: str, create_args: dict[str, Any]
    ) -> None:
        self._conn = conn
        self._bucket = bucket
        self._key = key
        resp = conn.call("create_multipart_upload", Bucket=bucket, Key=key, **create_args)
        self.upload_id: str = resp["UploadId"]
        self.parts: list[dict[str, Any]] = []
        self.size = 0

    def add(self, data: bytes | bytearray) -> None:
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise ValueError("more than 10,000 parts")  # part_sizes() prevents this
        resp = self._conn.call(
            "upload_part",
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=data,
        )
        self.parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        self.size += len(data)

    def add_copy(self, source: dict[str, str], first: int, last: int) -> None:
        number = len(self.parts) + 1
        resp = self._conn.call(
            "upload_part_copy",
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            PartNumber=number,
            CopySource=source,
            CopySourceRange=f"bytes={first}-{last}",
        )
        self.parts.append({"PartNumber": number, "ETag": resp["CopyPartResult"]["ETag"]})
        self.size += last - first + 1

    def complete(self, overwrite: bool) -> dict[str, Any]:
        extra = {} if overwrite else {"IfNoneMatch": "*"}
        resp: dict[str, Any] = self._conn.call(
            "complete_multipart_upload",
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
            **extra,
        )
        return resp

    def abort(self) -> None:
        """Best effort: an upload that cannot be aborted now stays invisible (see docs)."""
        try:
            self._conn.call(
                "abort_multipart_upload",
                Bucket=self._bucket,
                Key=self._key,
                UploadId=self.upload_id,
            )
        except Exception:
            pass
