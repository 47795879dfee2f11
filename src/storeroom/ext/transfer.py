"""Move many files: ``upload`` (local → store), ``download`` (store → local),
``transfer`` (store → store) (spec EXT-060..069).

A source naming a file copies that file to exactly the destination path; a
source naming a folder copies every file below it (recursively) to the same
relative paths under the destination folder. Files move in parallel (a
thread pool of ``max_workers``, default 16, or any ``executor=``: a
``ProcessPoolExecutor`` or a Dask ``Client.get_executor()``; stores pickle as
configuration, so each worker reconnects). Within a file data streams in
chunks: a file is never held whole in memory. Between two stores sharing one
backend object the copy is server-side (``Backend.copy``).

``include`` (a predicate on each file's path relative to the source folder,
or a single file's name) limits a transfer to some files: ``storeroom sync``
plans what differs, then copies just those.

Each file's outcome is in the ``TransferReport``; a failed file never stops
the others unless ``stop_on_error=True``. ``verify="sha256"`` (or any
hashlib name) checks each copy after it is written: the source hash is
taken while streaming (or from the backend's native digest), the
destination's from the backend's native digest or by reading it back; a
mismatch fails the file and removes the bad copy.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from storeroom.capabilities import Capability
from storeroom.errors import AlreadyExists, InvalidPath, NotFound, StoreroomError
from storeroom.ext._pool import PartialFailure, as_error, run_parallel
from storeroom.ext.integrity import ChecksumMismatch, content_digest, digest_stream, native_digest
from storeroom.ext.progress import CallbackProgress, TransferProgress
from storeroom.ext.streams import ChecksumReader, ProgressReader, new_hasher, normalize_algorithm
from storeroom.models import ContentDigest, FileInfo
from storeroom.path import join_key, normalize
from storeroom.store import Store

__all__ = [
    "FileTransfer",
    "PartialFailure",
    "TransferReport",
    "download",
    "transfer",
    "upload",
]

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
    from storeroom.backends.local.errors import map_os_error

    local = job.src_path if job.kind == "upload" else job.dst_path
    err = map_os_error(exc, local, operation=job.kind)
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


# -- planning and running ----------------------------------------------------------


def _store_files(store: Store, path: str) -> tuple[bool, list[FileInfo]]:
    """(is a single file, the files) of a store path; a missing path is ``NotFound``."""
    rel = normalize(path)
    if rel and store.is_file(rel):
        return True, [store.get_file_info(rel)] if store.supports(Capability.METADATA) else []
    if not store.is_folder(rel):
        raise NotFound("nothing to transfer: no file or folder here", path=rel, store=store.name)
    return False, list(store.list_files(rel, recursive=True))


def _relative(info_path: str, base: str) -> str:
    return info_path[len(base) + 1 :] if base else info_path


def _included(include: Callable[[str], bool] | None, rel: str) -> bool:
    return include is None or include(rel)


def _run_jobs(
    jobs: list[_Job],
    *,
    max_workers: int | None,
    executor: Executor | None,
    stop_on_error: bool,
    progress: TransferProgress | None,
    on_bytes: Callable[[int], object] | None,
    on_file: Callable[[FileTransfer], object] | None,
) -> TransferReport:
    started = time.perf_counter()
    sinks: list[TransferProgress] = []
    if progress is not None:
        sinks.append(progress)
    if on_bytes is not None or on_file is not None:
        sinks.append(CallbackProgress(on_bytes, on_file))
    lock = threading.Lock()
    live = executor is None or isinstance(executor, ThreadPoolExecutor)

    def advance(n: int) -> None:
        with lock:
            for sink in sinks:
                sink.advance(n)

    def done(result: FileTransfer) -> None:
        with lock:
            for sink in sinks:
                if not live and result.status == "copied":
                    sink.advance(result.bytes)
                sink.file_done(result)

    sizes = [j.size for j in jobs]
    total = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)
    for sink in sinks:
        sink.start(len(jobs), total)
    fn: Callable[[_Job], FileTransfer] = (
        functools.partial(_execute, on_bytes=advance) if live and sinks else _execute
    )
    try:
        results = run_parallel(
            fn,
            jobs,
            max_workers=max_workers,
            executor=executor,
            stop_on_error=stop_on_error,
            failed=lambda r: r.status == "failed",
            on_exception=lambda job, exc: FileTransfer(
                job.src_path, job.dst_path, "failed", error=as_error(exc)
            ),
            on_done=done if sinks else None,
        )
    finally:
        for sink in sinks:
            sink.close()
    files = tuple(
        r if r is not None else FileTransfer(j.src_path, j.dst_path, "skipped")
        for j, r in zip(jobs, results, strict=True)
    )
    return TransferReport(files, time.perf_counter() - started)


def _verify_algo(verify: bool | str | None) -> str | None:
    if verify is None or verify is False:
        return None
    algo = "sha256" if verify is True else normalize_algorithm(str(verify))
    new_hasher(algo)  # unknown algorithm: fail before any I/O
    return algo


def _walk(root: Path) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file():
                yield path


def upload(
    local_path: str | os.PathLike[str],
    store: Store,
    dest: str = "",
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    verify: bool | str | None = None,
    atomic: bool = False,
    max_workers: int | None = None,
    executor: Executor | None = None,
    stop_on_error: bool = False,
    progress: TransferProgress | None = None,
    on_bytes: Callable[[int], object] | None = None,
    on_file: Callable[[FileTransfer], object] | None = None,
    chunk_size: int = CHUNK,
    include: Callable[[str], bool] | None = None,
) -> TransferReport:
    """Copy a local file to ``dest``, or a local folder's files under ``dest``.

    Symlinked folders are not followed; symlinked files are copied as files.
    """
    algo = _verify_algo(verify)
    src = Path(local_path)
    if src.is_file():
        if not normalize(dest):
            raise InvalidPath("upload of a single file needs a destination file path", path=dest)
        pairs = [(src, normalize(dest), src.stat().st_size)]
        if not _included(include, src.name):
            pairs = []
    elif src.is_dir():
        base = normalize(dest)
        rels = ((p, p.relative_to(src).as_posix()) for p in _walk(src))
        pairs = [
            (p, join_key(base, rel), p.stat().st_size) for p, rel in rels if _included(include, rel)
        ]
    else:
        raise NotFound("local path not found", path=str(src), operation="upload")
    jobs = [
        _Job(
            "upload",
            None,
            str(p),
            store,
            d,
            size,
            overwrite,
            skip_existing,
            algo,
            atomic,
            chunk_size,
        )
        for p, d, size in pairs
    ]
    return _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )


def download(
    store: Store,
    path: str,
    local_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    verify: bool | str | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    stop_on_error: bool = False,
    progress: TransferProgress | None = None,
    on_bytes: Callable[[int], object] | None = None,
    on_file: Callable[[FileTransfer], object] | None = None,
    chunk_size: int = CHUNK,
    include: Callable[[str], bool] | None = None,
) -> TransferReport:
    """Copy a stored file to ``local_path``, or a stored folder's files under it.

    Each file is written to a temporary name beside its target and renamed
    into place when complete (and verified), so a failure leaves nothing.
    """
    algo = _verify_algo(verify)
    single, infos = _store_files(store, path)
    target = Path(local_path)
    base = normalize(path)
    if single:
        size = infos[0].size if infos else None
        pairs = [(base, target, size)] if _included(include, base.rpartition("/")[2]) else []
    else:
        pairs = [
            (info.path, target.joinpath(*_relative(info.path, base).split("/")), info.size)
            for info in infos
            if _included(include, _relative(info.path, base))
        ]
    jobs = [
        _Job(
            "download",
            store,
            s,
            None,
            str(d),
            size,
            overwrite,
            skip_existing,
            algo,
            False,
            chunk_size,
        )
        for s, d, size in pairs
    ]
    return _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )


def transfer(
    src: Store,
    src_path: str,
    dst: Store,
    dst_path: str = "",
    *,
    overwrite: bool = False,
    skip_existing: bool = False,
    verify: bool | str | None = None,
    atomic: bool = False,
    server_side: bool | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
    stop_on_error: bool = False,
    progress: TransferProgress | None = None,
    on_bytes: Callable[[int], object] | None = None,
    on_file: Callable[[FileTransfer], object] | None = None,
    chunk_size: int = CHUNK,
    include: Callable[[str], bool] | None = None,
) -> TransferReport:
    """Copy a file or a folder's files from one store to another (or within one).

    ``server_side=None`` copies server-side when both stores share the same
    backend object and it offers COPY; ``False`` always streams.
    """
    algo = _verify_algo(verify)
    single, infos = _store_files(src, src_path)
    base = normalize(src_path)
    dest = normalize(dst_path)
    if single:
        if not dest:
            raise InvalidPath("transfer of a single file needs a destination file path", path="")
        pairs = [(base, dest, infos[0].size if infos else None)]
        if not _included(include, base.rpartition("/")[2]):
            pairs = []
    else:
        pairs = [
            (i.path, join_key(dest, _relative(i.path, base)), i.size)
            for i in infos
            if _included(include, _relative(i.path, base))
        ]
    same = src.backend is dst.backend and src.supports(Capability.COPY)
    kind: Literal["copy", "server_copy"] = (
        "server_copy" if same and server_side is not False else "copy"
    )
    jobs = [
        _Job(kind, src, s, dst, d, size, overwrite, skip_existing, algo, atomic, chunk_size)
        for s, d, size in pairs
    ]
    return _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )
