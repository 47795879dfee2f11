"""The per-file work of ``storeroom.ext.transfer``: one job, its outcome and the report.

A ``_Job`` is a small picklable description of one file's copy, so a process
pool or a Dask executor can run it; ``_execute`` performs it and returns a
``FileTransfer`` (spec EXT-060..069).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storeroom.errors import AlreadyExists, InvalidPath, StoreroomError
from storeroom.ext._pool import PartialFailure, as_error
from storeroom.ext.integrity import ChecksumMismatch, content_digest, digest_stream, native_digest
from storeroom.ext.streams import ChecksumReader, ProgressReader, new_hasher, normalize_algorithm
from storeroom.models import ContentDigest
from storeroom.path import is_store_key, join_key
from storeroom.store import Store

CHUNK = 1024 * 1024
Status = Literal["copied", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class FileTransfer:
    """One file's outcome. ``source``/``dest`` are store paths or local paths."""

    source: str
    dest: str
    status: Status
    bytes: int = 0
    error: StoreroomError | None = None
    server_side: bool = False
    digest: ContentDigest | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True)
class TransferReport:
    """Every file's outcome, in source order, and the totals."""

    files: tuple[FileTransfer, ...]
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[FileTransfer]:
        return iter(self.files)

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return all(f.status != "failed" for f in self.files)

    @property
    def copied(self) -> list[FileTransfer]:
        return [f for f in self.files if f.status == "copied"]

    @property
    def failed(self) -> list[FileTransfer]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def skipped(self) -> list[FileTransfer]:
        return [f for f in self.files if f.status == "skipped"]

    @property
    def bytes(self) -> int:
        """Bytes of the files copied."""
        return sum(f.bytes for f in self.files if f.status == "copied")

    def summary(self) -> str:
        return (
            f"{len(self.copied)} copied ({self.bytes} bytes), {len(self.failed)} failed, "
            f"{len(self.skipped)} skipped in {self.seconds:.2f}s"
        )

    def raise_on_error(self) -> TransferReport:
        """Raise ``PartialFailure`` (cause: the first error) if any file failed."""
        failures = [(f.source, f.error) for f in self.files if f.error is not None]
        if failures:
            first = failures[0][1]
            err = PartialFailure(f"transfer: {self.summary()}; first: {first}", failures)
            err.operation = "transfer"
            raise err from first
        return self


def local_target(root: str | os.PathLike[str], rel: str, *, key: str, operation: str) -> Path:
    """Where store path ``rel`` goes under local folder ``root`` (spec EXT-075).

    ``InvalidPath`` naming the store path ``key`` unless ``rel`` is a store path
    (no ``..``, empty or absolute segment, NUL, ``\\``) and the joined path,
    resolved (symlinks followed), stays inside ``root``: a listing can never
    make a helper write outside its destination folder. Returns ``root``
    joined with the segments of ``rel``.
    """
    base = Path(root).resolve()
    inside = is_store_key(rel) and base in base.joinpath(*rel.split("/")).resolve().parents
    if not inside:
        raise InvalidPath(
            f"refusing to write outside the local destination folder {str(base)!r}",
            path=key,
            operation=operation,
            hint="the store listed a name that is not a valid store path",
        )
    return Path(root).joinpath(*rel.split("/"))


# -- one file (module level and picklable, so any executor can run it) ---------------


@dataclass(frozen=True)
class _Job:
    kind: Literal["upload", "download", "copy", "server_copy"]
    src: Store | None
    src_path: str
    dst: Store | None
    dst_path: str
    size: int | None
    overwrite: bool
    skip_existing: bool
    verify: str | None
    atomic: bool
    chunk_size: int


def _write(job: _Job, source: Any) -> Any:
    assert job.dst is not None
    if job.atomic:
        return job.dst.write_atomic(job.dst_path, source, overwrite=job.overwrite)
    return job.dst.write(job.dst_path, source, overwrite=job.overwrite)


def _source_digest(job: _Job, reader: ChecksumReader | None) -> ContentDigest | None:
    return reader.digest() if reader is not None else None


def _check(job: _Job, sent: ContentDigest, got: ContentDigest) -> None:
    if sent.value != got.value:
        raise ChecksumMismatch(
            f"checksum mismatch after copy: source {sent}, destination {got}",
            expected=sent,
            actual=got,
            path=job.dst_path,
            operation="transfer",
        )


def _verify_store_dest(job: _Job, sent: ContentDigest, result: Any) -> ContentDigest:
    assert job.dst is not None and job.verify is not None
    got = native_digest(result, job.verify) or content_digest(job.dst, job.dst_path, job.verify)
    try:
        _check(job, sent, got)
    except ChecksumMismatch:
        try:
            job.dst.delete(job.dst_path, missing_ok=True)
        except StoreroomError:
            pass
        raise
    return got


def _run_store_dest(job: _Job, on_bytes: Callable[[int], object] | None) -> tuple[int, Any]:
    """Upload or stream copy into ``job.dst``; returns (bytes, digest or None)."""
    assert job.dst is not None
    algo = job.verify
    if job.kind == "upload":
        raw: Any = open(job.src_path, "rb")  # noqa: SIM115 - closed below
    else:
        assert job.src is not None
        raw = job.src.read(job.src_path)
    with raw:
        summer = ChecksumReader(raw, algo) if algo else None
        source: Any = summer or raw
        if on_bytes is not None:
            source = ProgressReader(source, on_bytes)
        result = _write(job, source)
    if algo is None:
        return result.size, None
    sent = _source_digest(job, summer)
    assert sent is not None
    return result.size, _verify_store_dest(job, sent, result)


def _run_download(job: _Job, on_bytes: Callable[[int], object] | None) -> tuple[int, Any]:
    assert job.src is not None
    target = Path(job.dst_path)
    if not job.overwrite and os.path.lexists(target):
        raise AlreadyExists("local file already exists", path=str(target), operation="download")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    hasher = new_hasher(job.verify) if job.verify else None
    size = 0
    try:
        with job.src.read(job.src_path) as stream, open(tmp, "xb") as out:
            while True:
                block = stream.read(job.chunk_size)
                if not block:
                    break
                out.write(block)
                size += len(block)
                if hasher is not None:
                    hasher.update(block)
                if on_bytes is not None:
                    on_bytes(len(block))
        digest = None
        if hasher is not None and job.verify is not None:
            sent = ContentDigest(normalize_algorithm(job.verify), hasher.hexdigest())
            native = job.src.get_file_info(job.src_path) if job.src.supports("metadata") else None
            sent = native_digest(native, job.verify) or sent
            with open(tmp, "rb") as back:
                digest = digest_stream(back, job.verify)
            _check(job, sent, digest)
        if job.overwrite:
            tmp.replace(target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise AlreadyExists(
                    "local file already exists", path=str(target), operation="download"
                ) from None
            tmp.unlink()
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return size, digest


def _run_server_copy(job: _Job) -> tuple[int, Any]:
    assert job.src is not None and job.dst is not None
    src, dst = job.src, job.dst
    if src.root_path == dst.root_path:
        src.copy(job.src_path, job.dst_path, overwrite=job.overwrite)
    else:
        root = Store(src.backend, owns_backend=False, name=src.name)
        root.copy(
            join_key(src.root_path, job.src_path),
            join_key(dst.root_path, job.dst_path),
            overwrite=job.overwrite,
        )
    size = job.size if job.size is not None else dst.get_file_info(job.dst_path).size
    if job.verify is None:
        return size, None
    sent = content_digest(src, job.src_path, job.verify)
    return size, _verify_store_dest(job, sent, None)


def _local_error(exc: OSError, job: _Job) -> StoreroomError:
    """A local filesystem error (upload source, download target) as a storeroom error."""
    if isinstance(exc, StoreroomError):
        return exc
    from storeroom.backends.local.errors import TABLE

    local = job.src_path if job.kind == "upload" else job.dst_path
    err = TABLE.map(exc, local, operation=job.kind)
    err.__cause__ = exc
    return err


def _exists(job: _Job) -> bool:
    if job.kind == "download":
        return os.path.lexists(job.dst_path)
    assert job.dst is not None
    return job.dst.is_file(job.dst_path)


def _execute(job: _Job, on_bytes: Callable[[int], object] | None = None) -> FileTransfer:
    started = time.perf_counter()
    label = job.src_path
    try:
        if job.skip_existing and _exists(job):
            return FileTransfer(label, job.dst_path, "skipped")
        if job.kind == "download":
            size, digest = _run_download(job, on_bytes)
        elif job.kind == "server_copy":
            size, digest = _run_server_copy(job)
            if on_bytes is not None:
                on_bytes(size)
        else:
            size, digest = _run_store_dest(job, on_bytes)
    except Exception as exc:
        err = _local_error(exc, job) if isinstance(exc, OSError) else as_error(exc)
        return FileTransfer(
            label, job.dst_path, "failed", error=err, seconds=time.perf_counter() - started
        )
    return FileTransfer(
        label,
        job.dst_path,
        "copied",
        bytes=size,
        server_side=job.kind == "server_copy",
        digest=digest,
        seconds=time.perf_counter() - started,
    )
