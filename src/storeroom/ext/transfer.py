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
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from storeroom.capabilities import Capability, CapabilitySet
from storeroom.errors import InvalidArgument, InvalidPath, NotFound
from storeroom.ext._pool import PartialFailure, as_error, run_parallel
from storeroom.ext._transfer_jobs import (
    CHUNK,
    FileTransfer,
    TransferReport,
    _execute,
    _Job,
    local_target,
)
from storeroom.ext.progress import CallbackProgress, TransferProgress
from storeroom.ext.streams import new_hasher, normalize_algorithm
from storeroom.models import FileInfo
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


# -- planning and running ----------------------------------------------------------


def _store_files(store: Store, path: str) -> tuple[bool, list[FileInfo]]:
    """(is a single file, the files) of a store path; a missing path is ``NotFound``."""
    # A source that cannot read fails before any lookup, as in remote-store (COMPAT-307).
    CapabilitySet(store.capabilities).require(Capability.READ, backend=store.backend.type_name)
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
    jobs: Sequence[Any],
    *,
    max_workers: int | None,
    executor: Executor | None,
    stop_on_error: bool,
    progress: TransferProgress | None,
    on_bytes: Callable[[int], object] | None,
    on_file: Callable[[FileTransfer], object] | None,
    run: Callable[..., FileTransfer] = _execute,
    chunk: int | None = None,
) -> TransferReport:
    """Run ``run(job)`` (``_execute`` or ``ext.sync``'s worker) for each job, reporting progress."""
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
    fn: Callable[[Any], FileTransfer] = (
        functools.partial(run, on_bytes=advance) if live and sinks else run
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
            per_task=chunk,
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


def _check_order(op: str, store: object, local: object, shape: str) -> None:
    """A Store where a path belongs (the earlier ``upload(local, store, dest)``) is refused."""
    if isinstance(store, Store):
        return
    moved = " (the Store comes first now)" if isinstance(local, Store) else ""
    raise InvalidArgument(
        f"{op}: expected a Store, got {type(store).__name__}{moved}",
        hint=f"call {shape}",
    )


def _bytes_callback(
    on_progress: Callable[[int], object] | None, on_bytes: Callable[[int], object] | None
) -> Callable[[int], object] | None:
    """``on_progress`` is remote-store's name of ``on_bytes``; give one of them."""
    if on_progress is not None and on_bytes is not None:
        raise InvalidArgument(
            "on_progress and on_bytes are the same callback; give one of them",
            hint="keep on_progress=",
        )
    return on_progress if on_progress is not None else on_bytes


def _single_raises(report: TransferReport, single: bool) -> TransferReport:
    """One file asked for: its failure is raised, as a plain Store call would raise it."""
    if single:
        for f in report:
            if f.error is not None:
                raise f.error
    return report


def upload(
    store: Store,
    local_path: str | os.PathLike[str],
    remote_path: str = "",
    *,
    overwrite: bool = False,
    on_progress: Callable[[int], object] | None = None,
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
    """Copy a local file to ``remote_path``, or a local folder's files under it.

    Symlinked folders are not followed; symlinked files are copied as files.
    A single file's failure is raised; a folder's failures are in the report.
    """
    _check_order("upload", store, local_path, "upload(store, local_path, remote_path)")
    on_bytes = _bytes_callback(on_progress, on_bytes)
    dest = remote_path
    algo = _verify_algo(verify)
    src = Path(local_path)
    single = src.is_file()
    if single:
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
    report = _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )
    return _single_raises(report, single)


def download(
    store: Store,
    remote_path: str,
    local_path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    on_progress: Callable[[int], object] | None = None,
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
    A single file's failure is raised; a folder's failures are in the report.
    """
    _check_order("download", store, None, "download(store, remote_path, local_path)")
    on_bytes = _bytes_callback(on_progress, on_bytes)
    path = remote_path
    algo = _verify_algo(verify)
    single, infos = _store_files(store, path)
    target = Path(local_path)
    base = normalize(path)
    if single:
        size = infos[0].size if infos else None
        pairs = [(base, target, size)] if _included(include, base.rpartition("/")[2]) else []
    else:
        # Every destination is checked before anything is written (EXT-075).
        pairs = [
            (info.path, local_target(target, rel, key=info.path, operation="download"), info.size)
            for info in infos
            if _included(include, rel := _relative(info.path, base))
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
    report = _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )
    return _single_raises(report, single)


def transfer(
    src_store: Store,
    src_path: str,
    dst_store: Store,
    dst_path: str = "",
    *,
    overwrite: bool = False,
    on_progress: Callable[[int], object] | None = None,
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
    A single file's failure is raised; a folder's failures are in the report.
    """
    _check_order("transfer", src_store, None, "transfer(src_store, src_path, dst_store, dst_path)")
    _check_order("transfer", dst_store, None, "transfer(src_store, src_path, dst_store, dst_path)")
    on_bytes = _bytes_callback(on_progress, on_bytes)
    src, dst = src_store, dst_store
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
    report = _run_jobs(
        jobs,
        max_workers=max_workers,
        executor=executor,
        stop_on_error=stop_on_error,
        progress=progress,
        on_bytes=on_bytes,
        on_file=on_file,
    )
    return _single_raises(report, single)
