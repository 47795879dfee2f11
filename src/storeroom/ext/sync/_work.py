"""One file of a sync as a picklable work item, and the function any executor runs on it.

An item names its stores (which pickle as configuration), so a process pool,
a Dask ``Client.get_executor()`` or a Ray-backed executor can run it. Every copy
lands under a temporary name first (``write_atomic`` where the backend has
it, a ``.part`` file renamed into place for a local folder), so a killed sync
never leaves a half file under a target name (spec SYNC-020..023).
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from storeroom.errors import StoreroomError
from storeroom.ext._pool import as_error
from storeroom.ext._transfer_jobs import CHUNK, FileTransfer, _execute, _Job
from storeroom.ext.streams import ProgressReader
from storeroom.ext.sync._sides import DIGEST_KEY
from storeroom.store import Store

__all__ = ["SPOOL", "Item", "run_item"]

#: A copy that records its digest is staged in memory up to this size, then on disk.
SPOOL = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Item:
    """One file to copy: where from, where to, and how."""

    kind: Literal["upload", "download", "copy", "server_copy"]
    src: Store | None
    src_path: str
    dst: Store | None
    dst_path: str
    size: int | None
    atomic: bool
    record_digest: bool  # write the source's SHA-256 into the copy's metadata


def run_item(item: Item, on_bytes: Callable[[int], object] | None = None) -> FileTransfer:
    """Copy one file (overwriting); failures are returned, never raised."""
    if not item.record_digest:
        job = _Job(
            item.kind,
            item.src,
            item.src_path,
            item.dst,
            item.dst_path,
            item.size,
            True,
            False,
            None,
            item.atomic,
            CHUNK,
        )
        return _execute(job, on_bytes)
    started = time.perf_counter()
    try:
        size = _copy_recording(item, on_bytes)
    except Exception as exc:
        err = _error(exc, item)
        return FileTransfer(
            item.src_path, item.dst_path, "failed", error=err, seconds=time.perf_counter() - started
        )
    return FileTransfer(
        item.src_path, item.dst_path, "copied", bytes=size, seconds=time.perf_counter() - started
    )


def _error(exc: Exception, item: Item) -> StoreroomError:
    if isinstance(exc, OSError) and not isinstance(exc, StoreroomError):
        from storeroom.backends.local.errors import TABLE

        err = TABLE.map(exc, item.src_path, operation="sync")
        err.__cause__ = exc
        return err
    return as_error(exc)


def _copy_recording(item: Item, on_bytes: Callable[[int], object] | None) -> int:
    """Stage the source once (hashing it), then write it with its digest as metadata.

    Reading the source once keeps the recorded digest exact even if the
    source changes meanwhile.
    """
    assert item.dst is not None
    if item.kind == "upload":
        raw: Any = open(item.src_path, "rb")  # noqa: SIM115 - closed by the with below
    else:
        assert item.src is not None
        raw = item.src.read(item.src_path)
    hasher = hashlib.sha256()
    with raw, tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:
        while block := raw.read(CHUNK):
            hasher.update(block)
            spool.write(block)
        spool.seek(0)
        meta = {DIGEST_KEY: hasher.hexdigest()}
        source = ProgressReader(spool, on_bytes) if on_bytes is not None else spool
        write = item.dst.write_atomic if item.atomic else item.dst.write
        return write(item.dst_path, source, overwrite=True, metadata=meta).size
