"""Read-side and housekeeping commands: ``ls``, ``cat``, ``info``, ``rm``, ``ping``.

Each handler takes the run ``Context`` and returns an exit code;
failures are raised as storeroom errors and mapped to codes by the app.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storeroom.cli.errors import ExitCode, UsageError, error_message, exit_code_for
from storeroom.cli.output import entry_record
from storeroom.cli.progress import copy_stream
from storeroom.errors import (
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry

if TYPE_CHECKING:
    from storeroom.cli.context import Context

__all__ = ["cmd_cat", "cmd_info", "cmd_ls", "cmd_ping", "cmd_rm"]

Entry = FileInfo | FolderEntry


def _when(value: datetime | None) -> str:
    if value is None:
        return "-".ljust(19)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _relative(path: str, base: str) -> str:
    return path[len(base) + 1 :] if base and path.startswith(base + "/") else path


def _list_stores(ctx: Context) -> int:
    config = ctx.config()
    config.validate()
    rows = [
        {
            "name": name,
            "backend": profile.backend,
            "type": config.backends[profile.backend].type,
            "root_path": profile.root_path,
        }
        for name, profile in sorted(config.stores.items())
    ]
    if ctx.out.json_mode:
        ctx.out.json_array(rows)
    else:
        for row in rows:
            line = f"{row['name']}:"
            if ctx.args.long:
                line += f"  {row['type']} ({row['backend']})  root_path={row['root_path']!r}"
            ctx.out.line(line)
    return 0


def cmd_ls(ctx: Context) -> int:
    """List a folder (``-r``: every file below it); a file path lists that file."""
    args = ctx.args
    if args.target is None:
        return _list_stores(ctx)
    addr = ctx.remote(args.target)
    store = ctx.store(addr.store)
    base = addr.key
    entries: Iterator[Entry]
    if base and not addr.names_folder and store.is_file(base):
        entries = iter([store.get_file_info(base)])
        base = base.rpartition("/")[0]
    elif args.recursive:
        entries = iter(store.list_files(base, recursive=True))
    else:
        entries = iter(store.iter_children(base))
    first = next(entries, None)
    if first is None and base and not store.is_folder(base):
        raise NotFound("no such file or folder", path=base, store=addr.store)
    stream: Iterator[Entry] = itertools.chain([first], entries) if first is not None else iter(())
    out = ctx.out
    if out.json_mode:
        out.json_array(entry_record(e) for e in stream)
        return 0
    for entry in stream:
        name = _relative(str(entry.path), base)
        if isinstance(entry, FolderEntry):
            name += "/"
        if args.long:
            if isinstance(entry, FileInfo):
                out.line(f"{entry.size:>12}  {_when(entry.modified_at)}  {name}")
            else:
                out.line(f"{'-':>12}  {_when(None)}  {name}")
        else:
            out.line(name)
    return 0


def cmd_cat(ctx: Context) -> int:
    """Stream one or more files to stdout, unchanged."""
    targets = [ctx.remote(arg) for arg in ctx.args.targets]
    sink = ctx.out.binary_stdout()
    for addr in targets:
        store = ctx.store(addr.store)
        with store.read(addr.path) as stream:
            copy_stream(stream, sink)
    sink.flush()
    return 0


def cmd_info(ctx: Context) -> int:
    """Facts about a file (size, time, etag, ...) or a folder (count, total size)."""
    addr = ctx.remote(ctx.args.target)
    store = ctx.store(addr.store)
    key = addr.key
    record: dict[str, Any] = {"store": addr.store, "path": key, "backend": store.backend.type_name}
    if key and not addr.names_folder and store.is_file(key):
        info = store.get_file_info(key)
        record.update(
            type="file",
            size=info.size,
            modified_at=info.modified_at,
            etag=info.etag,
            content_type=info.content_type,
            digest=str(info.digest) if info.digest is not None else None,
            metadata=dict(info.metadata) if info.metadata else None,
        )
    elif not key or store.is_folder(key):
        folder = store.get_folder_info(key)
        record.update(
            type="folder",
            file_count=folder.file_count,
            total_size=folder.total_size,
            modified_at=folder.modified_at,
        )
    else:
        raise NotFound("no such file or folder", path=key, store=addr.store)
    with contextlib.suppress(StoreroomError, NotImplementedError):
        record["native_path"] = store.native_path(key)
    out = ctx.out
    if out.json_mode:
        out.json(record)
        return 0
    for k, v in record.items():
        if v is None:
            continue
        if isinstance(v, datetime):
            v = v.isoformat()
        elif isinstance(v, dict):
            v = ", ".join(f"{mk}={mv}" for mk, mv in v.items())
        out.line(f"{k + ':':<14}{v}")
    return 0


def cmd_rm(ctx: Context) -> int:
    """Delete a file, or with ``-r`` a folder and everything below it.

    With ``--missing-ok`` a missing path succeeds, and the output says nothing
    was there instead of claiming a deletion (CLI-073).
    """
    args = ctx.args
    if args.if_match is not None and (args.recursive or args.missing_ok):
        raise UsageError(
            "--if-match deletes one file whose etag matches",
            hint="drop -r and --missing-ok when using --if-match",
        )
    addr = ctx.remote(args.target)
    store = ctx.store(addr.store)
    key = addr.key
    kind = "file"
    deleted = True
    if args.recursive and (not key or addr.names_folder or not store.is_file(key)):
        kind = "folder"
        try:
            store.delete_folder(key, recursive=True)
        except NotFound:
            if not args.missing_ok:
                raise
            deleted = False
    else:
        try:
            store.delete(addr.path, if_match=args.if_match)
        except (InvalidPath, NotFound, DirectoryNotEmpty) as exc:
            if key and store.is_folder(key):
                raise UsageError(
                    f"{addr.at(key)} is a folder", hint="use rm -r to delete a folder"
                ) from None
            if not (args.missing_ok and isinstance(exc, NotFound)):
                raise
            deleted = False
    where = f"{addr.at(key)}{'/' if kind == 'folder' else ''}"
    if ctx.out.json_mode:
        record = {"deleted": addr.at(key), "type": kind}
        ctx.out.json(
            record if deleted else {"deleted": None, "missing": addr.at(key), "type": kind}
        )
    elif deleted:
        ctx.out.status(f"deleted {where}")
    else:
        ctx.out.status(f"nothing to delete: {where} does not exist")
    return 0


def cmd_ping(ctx: Context) -> int:
    """Check every named store (default: all) answers; non-zero exit if any fails."""
    names = ctx.args.stores or ctx.store_names
    ctx.registry()
    known = set(ctx.store_names)
    for name in names:
        if name not in known:
            raise UsageError(
                f"unknown store {name!r} (defined stores: {', '.join(sorted(known)) or 'none'})"
            )
    results: list[dict[str, Any]] = []
    first_failure: int | None = None
    out = ctx.out
    for name in names:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            ctx.store(name).ping()
        except StoreroomError as exc:
            error = exc
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        row: dict[str, Any] = {"store": name, "ok": error is None, "elapsed_ms": elapsed}
        if error is not None:
            code = exit_code_for(error)
            first_failure = first_failure if first_failure is not None else int(code)
            row.update(error=error_message(error), exit_code=int(code))
        results.append(row)
        if out.json_mode:
            continue
        if error is not None and out.quiet:
            out.stderr.write(f"storeroom: error: ping {name}: {row['error']}\n")
        elif error is not None:
            out.line(f"FAIL  {name}  {row['error']}")
        elif not out.quiet:
            out.line(f"ok    {name}  ({elapsed} ms)")
    if out.json_mode:
        out.json({"ok": first_failure is None, "stores": results})
    elif not names:
        out.note("no stores are configured")
    return first_failure if first_failure is not None else int(ExitCode.OK)
