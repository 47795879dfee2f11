"""Commands that move bytes: ``put``, ``get``, ``cp`` and ``mv``.

Data is streamed in 1 MiB chunks (memory stays flat whatever the size)
through a ``storeroom.ext.progress.ProgressReader``, so every path
can show a bar. ``get`` writes to a temporary file beside the target and
renames it into place, so a failed download leaves nothing behind
(spec CLI-060..066).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storeroom.capabilities import Capability
from storeroom.cli.address import Remote, target_in_folder
from storeroom.cli.errors import UsageError
from storeroom.cli.progress import copy_stream, tracked
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.path import normalize_file

if TYPE_CHECKING:
    from storeroom.backend import Backend
    from storeroom.cli.context import Context
    from storeroom.store import Store

__all__ = ["cmd_cp", "cmd_get", "cmd_mv", "cmd_put"]

_OVERWRITE_HINT = "pass --overwrite to replace it"


def _label(text: str) -> str:
    return text if len(text) <= 40 else "…" + text[-39:]


def _size(store: Store, key: str) -> int | None:
    """The file's size, or ``None`` when the backend cannot say without reading."""
    try:
        return store.get_file_info(key).size
    except CapabilityNotSupported:
        return None


def _refuse_existing(store: Store, addr: Remote, key: str, overwrite: bool) -> None:
    """Fail before any transfer when the target exists (the write would refuse it anyway)."""
    if not overwrite and store.is_file(key):
        raise AlreadyExists("file already exists", path=key, store=addr.store, hint=_OVERWRITE_HINT)


def _report(ctx: Context, verb: str, records: list[dict[str, Any]]) -> int:
    out = ctx.out
    if out.json_mode:
        total = sum(r["bytes"] for r in records if r["bytes"] is not None)
        out.json({"files": records, "count": len(records), "bytes": total})
        return 0
    for r in records:
        size = f" ({r['bytes']} bytes)" if r["bytes"] is not None else ""
        out.status(f"{verb} {r['src']} -> {r['dst']}{size}")
    return 0


# -- put / get ----------------------------------------------------------------------


def cmd_put(ctx: Context) -> int:
    """Upload a local file (or stdin, ``-``) to ``STORE:path``."""
    args = ctx.args
    dst = ctx.remote(args.dst, what="destination")
    store = ctx.store(dst.store)
    write = store.write_atomic if args.atomic else store.write
    if args.local == "-":
        key = dst.key
        if dst.names_folder or store.is_folder(key):
            raise UsageError(
                "put from stdin needs a destination file name, not a folder",
                hint="e.g. storeroom put - data:incoming/file.bin",
            )
        _refuse_existing(store, dst, key, args.overwrite)
        stdin = getattr(sys.stdin, "buffer", None)
        if stdin is None:  # pragma: no cover - stdin replaced by a text-only object
            raise UsageError("stdin is not a byte stream")
        with tracked(stdin, "stdin", None, enabled=ctx.progress) as reader:
            result = write(key, reader, overwrite=args.overwrite)
        return _report(ctx, "put", [{"src": "-", "dst": dst.at(key), "bytes": result.size}])

    local = ctx.local(args.local)
    if local.is_dir():
        raise UsageError(f"{local} is a folder", hint="put uploads one file at a time")
    with open(local, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        key = dst.key
        if dst.names_folder or store.is_folder(key):
            key = target_in_folder(key, local.name)
        _refuse_existing(store, dst, key, args.overwrite)
        with tracked(fh, _label(f"put {local.name}"), size, enabled=ctx.progress) as reader:
            result = write(key, reader, overwrite=args.overwrite)
    return _report(ctx, "put", [{"src": str(local), "dst": dst.at(key), "bytes": result.size}])


def _download(
    raw: Any, target: Path, *, overwrite: bool, label: str, total: int | None, progress: bool
) -> int:
    """Stream ``raw`` into a temp file next to ``target``, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.storeroom-part")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, "wb") as fh, tracked(raw, label, total, enabled=progress) as reader:
            written = copy_stream(reader, fh)
        if not overwrite and target.exists():
            raise AlreadyExists("local file already exists", path=str(target), hint=_OVERWRITE_HINT)
        tmp.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return written


def cmd_get(ctx: Context) -> int:
    """Download ``STORE:path`` to a local file (or stdout, ``-``)."""
    args = ctx.args
    src = ctx.remote(args.src, what="source")
    store = ctx.store(src.store)
    key = normalize_file(src.path)
    label = _label(f"get {src.at(key)}")
    if args.local == "-":
        total = _size(store, key)
        sink = ctx.out.binary_stdout()
        with store.read(key) as raw, tracked(raw, label, total, enabled=ctx.progress) as reader:
            copy_stream(reader, sink)
        sink.flush()
        return 0
    target = ctx.local(args.local)
    if args.local.endswith(("/", os.sep)) or target.is_dir():
        from storeroom.ext._transfer_jobs import local_target

        # The file's name goes into the folder; the same check as download (EXT-075).
        target = local_target(target, posixpath.basename(key), key=key, operation="get")
    if target.is_dir():
        raise UsageError(f"local path {target} is a folder", hint="name a file to write")
    if not args.overwrite and target.exists():
        raise AlreadyExists("local file already exists", path=str(target), hint=_OVERWRITE_HINT)
    if not target.parent.is_dir():
        raise NotFound("local folder does not exist", path=str(target.parent))
    total = _size(store, key)
    with store.read(key) as raw:
        written = _download(
            raw, target, overwrite=args.overwrite, label=label, total=total, progress=ctx.progress
        )
    return _report(ctx, "get", [{"src": src.at(key), "dst": str(target), "bytes": written}])


# -- cp / mv ---------------------------------------------------------------------------


def _innermost(store: Store) -> Backend:
    backend: Any = store.backend
    while getattr(backend, "inner", None) is not None:
        backend = backend.inner
    inner: Backend = backend
    return inner


def _same_location(s_store: Store, s_key: str, d_store: Store, d_key: str) -> bool:
    """True when two stores name one physical file (copying it onto itself)."""
    if _innermost(s_store) is not _innermost(d_store):
        return False
    try:
        return s_store.native_path(s_key) == d_store.native_path(d_key)
    except StoreroomError:
        return False


class _Mover:
    """Copies or moves single files from one store to another (or within one)."""

    def __init__(self, ctx: Context, src: Remote, dst: Remote, *, move: bool) -> None:
        self.ctx = ctx
        self.src, self.dst = src, dst
        self.s_store, self.d_store = ctx.store(src.store), ctx.store(dst.store)
        self.same = src.store == dst.store
        self.move = move
        self.overwrite: bool = ctx.args.overwrite

    def one(self, s_key: str, d_key: str, size: int | None = None) -> dict[str, Any]:
        s_store, d_store = self.s_store, self.d_store
        record: dict[str, Any] = {"src": self.src.at(s_key), "dst": self.dst.at(d_key)}
        if self.same:
            op = s_store.move if self.move else s_store.copy
            op(s_key, d_key, overwrite=self.overwrite)
            return {**record, "bytes": size}
        if _same_location(s_store, s_key, d_store, d_key):
            s_store.get_file_info(s_key)  # still an error when it does not exist
            return {**record, "bytes": size}
        _refuse_existing(d_store, self.dst, d_key, self.overwrite)
        if size is None:
            size = _size(s_store, s_key)
        atomic = d_store.supports(Capability.ATOMIC_WRITE)
        write = d_store.write_atomic if atomic else d_store.write
        label = _label(f"{'mv' if self.move else 'cp'} {self.src.at(s_key)}")
        with (
            s_store.read(s_key) as raw,
            tracked(raw, label, size, enabled=self.ctx.progress) as reader,
        ):
            result = write(d_key, reader, overwrite=self.overwrite)
        if self.move:
            s_store.delete(s_key)
        return {**record, "bytes": result.size}

    def folder(self) -> list[dict[str, Any]]:
        s_base, d_base = self.src.key, self.dst.key
        verb = "move" if self.move else "copy"
        if self.same and (not s_base or d_base == s_base or d_base.startswith(s_base + "/")):
            raise UsageError(f"cannot {verb} {self.src} into itself ({self.dst})")
        files = self.s_store.list_files(s_base, recursive=True)
        # Within one store, list first: the operation changes what is being listed.
        listing = list(files) if self.same else files
        records = []
        for info in listing:
            rel = str(info.path)[len(s_base) + 1 :] if s_base else str(info.path)
            records.append(self.one(str(info.path), target_in_folder(d_base, rel), info.size))
        if not records and s_base and not self.s_store.is_folder(s_base):
            raise NotFound("no such file or folder", path=s_base, store=self.src.store)
        if self.move and s_base:
            _prune(self.s_store, s_base)
        return records


def _prune(store: Store, base: str) -> None:
    """Remove the folders a recursive move emptied, deepest first; never files."""
    folders = [str(f.path) for f in store.list_folders(base, max_depth=1 << 30)]
    folders.sort(key=lambda p: p.count("/"), reverse=True)
    for path in [*folders, base]:
        with contextlib.suppress(DirectoryNotEmpty, NotFound, CapabilityNotSupported, InvalidPath):
            store.delete_folder(path)


def _copy_or_move(ctx: Context, *, move: bool) -> int:
    args = ctx.args
    src = ctx.remote(args.src, what="source")
    dst = ctx.remote(args.dst, what="destination")
    mover = _Mover(ctx, src, dst, move=move)
    verb = "moved" if move else "copied"
    s_key = src.key
    if args.recursive and (not s_key or src.names_folder or not mover.s_store.is_file(s_key)):
        return _report(ctx, verb, mover.folder())
    s_key = normalize_file(src.path)
    d_key = dst.key
    if dst.names_folder or mover.d_store.is_folder(d_key):
        d_key = target_in_folder(d_key, posixpath.basename(s_key))
    try:
        record = mover.one(s_key, d_key)
    except (InvalidPath, NotFound):
        if mover.s_store.is_folder(s_key):
            raise UsageError(
                f"{src.at(s_key)} is a folder",
                hint=f"use '{args.command} -r' to {'move' if move else 'copy'} a folder",
            ) from None
        raise
    return _report(ctx, verb, [record])


def cmd_cp(ctx: Context) -> int:
    """Copy a file (``-r``: a folder's files) within a store or across stores."""
    return _copy_or_move(ctx, move=False)


def cmd_mv(ctx: Context) -> int:
    """Move a file (``-r``: a folder's files); across stores it is copy + delete."""
    return _copy_or_move(ctx, move=True)
