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
from storeroom.backends.s3._conn import Connection, Lane
from storeroom.backends.s3.config import MAX_PART_SIZE, MAX_PARTS
from storeroom.backends.s3.errors import TABLE

__all__ = [
    "BodyReader",
    "PartBody",
    "Upload",
    "cut_parts",
    "fetch_small",
    "fill",
    "fill_into",
    "part_sizes",
    "source_size",
]

#: Reads wider than this go straight to the body without buffering.
READ_BUFFER = 256 * 1024

#: Create-only copies of objects up to this size relay the bytes (spec S3-016).
RELAY_MAX = 1024 * 1024


def fetch_small(conn: Connection, bucket: str, key: str, limit: int) -> dict[str, Any]:
    """GET ``key``: the response, with the content under ``"Data"`` when it is at
    most ``limit`` bytes; a larger body is dropped unread (its size is in
    ``ContentLength``)."""

    async def get(client: Any) -> dict[str, Any]:
        resp: dict[str, Any] = await client.get_object(Bucket=bucket, Key=key)
        body = resp.pop("Body")
        try:
            if int(resp.get("ContentLength", 0)) <= limit:
                resp["Data"] = await body.read()
        finally:
            body.close()
        return resp

    return conn.run(get)


class BodyReader(io.RawIOBase):
    """A forward-only raw stream over an S3 GET body; errors are storeroom errors.

    It holds the lane the GET ran on until the body is read to the end or the
    stream is closed; then the lane goes back to the pool.
    """

    def __init__(
        self, conn: Connection, lane: Lane, epoch: int, body: Any, key: str, bucket: str
    ) -> None:
        super().__init__()
        self._conn = conn
        self._lane: Lane | None = lane
        self._epoch = epoch
        self._body = body
        self._key = key
        self._bucket = bucket
        self._eof = False

    def readable(self) -> bool:
        return True

    def _give_back(self, broken: bool = False) -> None:
        lane, self._lane, self._body = self._lane, None, None
        if lane is not None:
            self._conn.release(lane, self._epoch, broken=broken)

    def _read(self, size: int | None) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        lane = self._lane
        if self._eof or lane is None:
            return b""
        try:
            data: bytes = self._conn.run_on(lane, self._body.read(size))
        except Exception as exc:
            self._eof = True
            self._give_back()
            raise TABLE.map(exc, self._key, operation="open_read", bucket=self._bucket) from exc
        except BaseException:
            self._eof = True
            self._give_back(broken=True)
            raise
        if (not data and size != 0) or size is None:
            self._eof = True
            self._give_back()  # the body is read: its connection is back in the pool
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
            lane, body = self._lane, self._body
            # A body closed early drops its HTTP connection; then the lane is free again.
            if lane is not None and body is not None and lane.pid == os.getpid():
                try:
                    self._conn.run_on(lane, body.aclose())
                except Exception:  # best effort: the connection is dropped either way
                    pass
            self._give_back()
        super().close()


def open_body(
    conn: Connection, lane: Lane, epoch: int, body: Any, key: str, bucket: str
) -> io.BufferedReader:
    """A buffered, forward-only binary reader over ``body`` (read on ``lane``)."""
    return io.BufferedReader(
        BodyReader(conn, lane, epoch, body, key, bucket), buffer_size=READ_BUFFER
    )


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
    """Up to ``size`` bytes (``lead`` first, then ``read``) in one growing buffer.

    The buffer grows with what arrives instead of being allocated at ``size``
    up front: zeroing a whole part (8 MiB by default) for a 4 KiB file cost
    more CPU than the request itself. Only a source that returns more than
    asked makes the buffer longer than ``size``.
    """
    buf = bytearray(lead)
    while len(buf) < size:
        block = read(size - len(buf))
        if not block:
            break
        buf += block
    return buf


def fill_into(buf: bytearray, read: Callable[[int], bytes], lead: bytes) -> tuple[int, bytes]:
    """Fill ``buf`` in place (``lead`` first, then ``read``): bytes filled, and any excess.

    ``buf`` is never resized, so a view of a previous part still alive cannot
    block it; what a source returns beyond the buffer is handed back as excess.
    """
    size = len(buf)
    view = memoryview(buf)
    try:
        got = min(len(lead), size)
        view[:got] = lead[:got]
        if len(lead) > got:
            return got, bytes(lead[got:])
        while got < size:
            block = read(size - got)
            if not block:
                break
            n = len(block)
            if n > size - got:
                k = size - got
                view[got:] = memoryview(block)[:k]
                return size, bytes(memoryview(block)[k:])
            view[got : got + n] = block
            got += n
        return got, b""
    finally:
        view.release()


def cut_parts(
    read: Callable[[int], bytes], first: bytearray, lead: bytes, sizes: Iterator[int]
) -> Iterator[memoryview]:
    """Parts of the stream ``first + lead + read(...)``, each the next size but the last.

    Every part is a view of ONE buffer refilled in place (``first`` itself when
    it has the first part's size, the usual case): the consumer must be done
    with a part before asking for the next, and memory holds a single part.
    """
    size = next(sizes)
    buf = bytearray()
    if len(first) == size:
        buf = first
        yield memoryview(buf)
        size = next(sizes)
    else:  # re-cut the head into parts of the right size
        head = memoryview(bytes(first) + lead)
        first.clear()
        pos = 0
        while len(head) - pos >= size:
            yield head[pos : pos + size]
            pos += size
            size = next(sizes)
        lead = head[pos:].tobytes()
        head.release()
    del first
    while True:
        if len(buf) != size:
            buf = bytearray(size)
        n, lead = fill_into(buf, read, lead)
        if not n:
            return
        yield memoryview(buf)[:n]
        if n < size:
            return
        size = next(sizes)


class PartBody(io.BytesIO):
    """A read-only, seekable file over a buffer, without copying it.

    ``io.BytesIO(bytearray)`` copies the whole part; botocore and aiohttp only
    read, seek and tell, chunk by chunk, so a view is enough.
    """

    def __init__(self, data: memoryview) -> None:
        super().__init__()
        self._view = data.cast("B") if data.format != "B" or data.ndim != 1 else data
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = (
            len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        )
        out = self._view[self._pos : end].tobytes() if end > self._pos else b""
        self._pos = max(self._pos, end)
        return out

    read1 = read

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        n = max(0, min(len(out), len(self._view) - self._pos))
        out[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._view)}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def getbuffer(self) -> memoryview:
        return self._view[:]

    def getvalue(self) -> bytes:
        return self._view.tobytes()

    def __len__(self) -> int:
        return len(self._view)


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

    def add(self, data: bytes | memoryview) -> None:
        """Upload the next part; ``data`` is not copied (a view is read in place)."""
        number = len(self.parts) + 1
        if number > MAX_PARTS:
            raise ValueError("more than 10,000 parts")  # part_sizes() prevents this
        body = data if isinstance(data, bytes) else PartBody(data)
        resp = self._conn.call(
            "upload_part",
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"PartNumber": number, "ETag": resp["ETag"]})
        self.size += memoryview(data).nbytes

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
