"""``storeroom sync SRC DST``: make a destination folder hold what a source folder holds.

Each side is a ``STORE:path`` address or a local folder. A file is copied when
it is missing at the destination or differs: another size; with
``--checksum`` another SHA-256 digest; otherwise, unless both sides report the
same etag, a source modified after the destination copy (a copy is always
newer than its source, so an unchanged file is not copied again). When a
side cannot tell its time, the file is copied. ``--delete`` removes
destination files the source does not have (not after a failed copy).
``--dry-run`` prints the plan and changes nothing. The copying itself is
``storeroom.ext.transfer`` (``upload``, ``download`` or ``transfer`` with
an ``include`` filter), in parallel (spec CLI-080..087).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storeroom.capabilities import Capability
from storeroom.cli.address import Remote, match_store, parse_remote
from storeroom.cli.errors import UsageError, exit_code_for
from storeroom.cli.progress import Bar, NullBar, open_bar
from storeroom.errors import NotFound, StoreroomError
from storeroom.path import join_key

if TYPE_CHECKING:
    from storeroom.cli.context import Context
    from storeroom.ext.transfer import FileTransfer, TransferReport
    from storeroom.store import Store

__all__ = ["cmd_sync"]

_ALGORITHM = "sha256"


@dataclass(frozen=True)
class _Facts:
    """What the comparison needs to know about one file."""

    size: int
    modified_at: datetime | None
    etag: str | None


@dataclass
class _Side:
    """One end of a sync: a store folder or a local folder."""

    label: str
    remote: Remote | None = None
    store: Store | None = None
    local: Path | None = None

    @property
    def key(self) -> str:
        return self.remote.key if self.remote is not None else ""

    def at(self, rel: str) -> str:
        if self.remote is not None:
            return self.remote.at(join_key(self.key, rel))
        assert self.local is not None
        from storeroom.ext._transfer_jobs import local_target

        # A relative path from a listing never leads outside the local folder (CLI-088).
        return str(local_target(self.local, rel, key=rel, operation="sync"))

    def files(self, *, source: bool) -> dict[str, _Facts]:
        """Every file below the folder by relative path; a missing destination is empty."""
        if self.store is not None:
            return self._store_files(self.store, source=source)
        assert self.local is not None
        root = self.local
        if not root.exists():
            if source:
                raise NotFound("local folder does not exist", path=str(root))
            return {}
        if not root.is_dir():
            raise UsageError(f"{root} is not a folder", hint="sync works on folders")
        out = {}
        for path in _walk(root):
            st = path.stat()
            when = datetime.fromtimestamp(st.st_mtime, UTC)
            out[path.relative_to(root).as_posix()] = _Facts(st.st_size, when, None)
        return out

    def _store_files(self, store: Store, *, source: bool) -> dict[str, _Facts]:
        key = self.key
        if key and store.is_file(key):
            raise UsageError(
                f"{self.label} is a file", hint="sync works on folders; use cp for a file"
            )
        if not store.is_folder(key):
            if source:
                store_name = self.remote.store if self.remote is not None else None
                raise NotFound("no such folder", path=key, store=store_name)
            return {}
        out = {}
        for info in store.list_files(key, recursive=True):
            rel = str(info.path)[len(key) + 1 :] if key else str(info.path)
            out[rel] = _Facts(info.size, info.modified_at, info.etag)
        return out

    def digest(self, rel: str) -> str:
        from storeroom.ext.integrity import content_digest, digest_stream

        if self.store is not None:
            return content_digest(self.store, join_key(self.key, rel), _ALGORITHM).value
        with open(self.at(rel), "rb") as fh:
            return digest_stream(fh, _ALGORITHM).value


def _walk(root: Path) -> Iterator[Path]:
    """Regular files below ``root`` (symlinked folders not followed), as ``upload`` sees them."""
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder, name)
            if path.is_file():
                yield path


def _reason(src: _Facts, dst: _Facts | None) -> str | None:
    """Why a file must be copied (without ``--checksum``), or None when it is up to date."""
    if dst is None:
        return "missing"
    if src.size != dst.size:
        return "size"
    if src.etag is not None and src.etag == dst.etag:
        return None
    if src.modified_at is None or dst.modified_at is None:
        return "unknown"
    return "newer" if src.modified_at > dst.modified_at else None


@dataclass
class _Plan:
    copy: list[tuple[str, int, str]]  # (relative path, size, reason)
    delete: list[str]
    unchanged: int


def _plan(src: _Side, dst: _Side, *, checksum: bool, delete: bool, workers: int) -> _Plan:
    have = src.files(source=True)
    there = dst.files(source=False)
    copy: list[tuple[str, int, str]] = []
    same_size: list[str] = []
    for rel, facts in have.items():
        other = there.get(rel)
        if checksum and other is not None and other.size == facts.size:
            same_size.append(rel)
            continue
        why = _reason(facts, other)
        if why is not None:
            copy.append((rel, facts.size, why))
    if same_size:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            equal = pool.map(lambda r: src.digest(r) == dst.digest(r), same_size)
            copy.extend(
                (rel, have[rel].size, "checksum")
                for rel, eq in zip(same_size, equal, strict=True)
                if not eq
            )
        copy.sort()
    gone = sorted(rel for rel in there if rel not in have) if delete else []
    return _Plan(copy, gone, len(have) - len(copy))


class _BarProgress:
    """A ``TransferProgress`` drawing the command's byte bar (CLI-051 rules)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self._label = label
        self._enabled = enabled
        self._bar: Bar = NullBar()
        self._done = 0

    def start(self, files: int, total_bytes: int | None) -> None:
        self._bar = open_bar(f"{self._label} ({files} files)", total_bytes, enabled=self._enabled)

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        self._bar.update(self._done)

    def file_done(self, result: FileTransfer) -> None:
        pass

    def close(self) -> None:
        self._bar.close()


def _side(ctx: Context, arg: str, what: str) -> _Side:
    names = ctx.store_names
    prefix, colon, _ = arg.partition(":")
    # NAME:... with no folder separator in NAME is meant as a store (a typo gets
    # "unknown store"), unless such a local path exists; C:\... stays local.
    meant_remote = colon and len(prefix) > 1 and not {"/", "\\"} & set(prefix)
    if (
        match_store(arg, names) is not None
        or arg in names
        or (meant_remote and not os.path.lexists(arg))
    ):
        remote = parse_remote(arg, names, what=what)
        return _Side(str(remote), remote=remote, store=ctx.store(remote.store))
    return _Side(arg, local=Path(arg))


def _check_sides(src: _Side, dst: _Side) -> None:
    if src.store is None and dst.store is None:
        raise UsageError(
            "sync needs at least one STORE:path side",
            hint="define a store for one of the folders, or use rsync for two local folders",
        )
    if src.remote is not None and dst.remote is not None and src.remote.store == dst.remote.store:
        a, b = src.key, dst.key
        if a == b or not a or not b or b.startswith(a + "/") or a.startswith(b + "/"):
            raise UsageError(f"cannot sync {src.label} with {dst.label}: the folders overlap")


def _run(ctx: Context, src: _Side, dst: _Side, plan: _Plan) -> TransferReport:
    from storeroom.ext.transfer import download, transfer, upload

    wanted = {rel for rel, _, _ in plan.copy}
    common: dict[str, Any] = {
        "overwrite": True,
        "include": wanted.__contains__,
        "max_workers": ctx.args.jobs,
        "progress": _BarProgress(f"sync {src.label}", ctx.progress),
    }
    if src.store is None:
        assert src.local is not None and dst.store is not None
        atomic = dst.store.supports(Capability.ATOMIC_WRITE)
        return upload(dst.store, src.local, dst.key, atomic=atomic, **common)
    if dst.store is None:
        assert dst.local is not None
        return download(src.store, src.key, dst.local, **common)
    atomic = dst.store.supports(Capability.ATOMIC_WRITE)
    return transfer(src.store, src.key, dst.store, dst.key, atomic=atomic, **common)


def _delete(dst: _Side, rels: list[str], jobs: int) -> list[tuple[str, StoreroomError]]:
    """Delete destination files; returns the failures."""
    failures: list[tuple[str, StoreroomError]] = []
    if dst.store is not None:
        from storeroom.ext.batch import batch_delete

        keys = [join_key(dst.key, rel) for rel in rels]
        result = batch_delete(dst.store, keys, missing_ok=True, max_workers=jobs)
        by_key = dict(zip(keys, rels, strict=True))
        failures.extend((by_key[str(k)], err) for k, err in result.errors.items())
        return failures
    from storeroom.backends.local.errors import map_os_error

    for rel in rels:
        path = dst.at(rel)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)  # noqa: PTH108
        except OSError as exc:
            failures.append((rel, map_os_error(exc, path, operation="delete")))
    return failures


def _emit(
    ctx: Context,
    src: _Side,
    dst: _Side,
    plan: _Plan,
    copied: list[dict[str, Any]],
    deleted: list[str],
    failed: list[dict[str, Any]],
    *,
    dry_run: bool,
) -> None:
    out = ctx.out
    total = sum(r["bytes"] for r in copied)
    if out.json_mode:
        out.json(
            {
                "dry_run": dry_run,
                "files": copied,
                "count": len(copied),
                "bytes": total,
                "deleted": deleted,
                "unchanged": plan.unchanged,
                "failed": failed,
            }
        )
        return
    verb, gone = ("would copy", "would delete") if dry_run else ("copied", "deleted")
    show = out.line if dry_run else out.status  # the plan is the result of a dry run
    for r in copied:
        show(f"{verb} {r['src']} -> {r['dst']} ({r['bytes']} bytes, {r['reason']})")
    for path in deleted:
        show(f"{gone} {path}")
    for r in failed:
        out.note(f"failed: {r['src'] or r['dst']}: {r['error']}")
    out.status(
        f"sync {src.label} -> {dst.label}: {len(copied)} {verb} ({total} bytes), "
        f"{len(deleted)} {gone}, {plan.unchanged} unchanged, {len(failed)} failed"
    )


def cmd_sync(ctx: Context) -> int:
    """Copy what is missing or different from SRC to DST (``--delete``: remove extras)."""
    args = ctx.args
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    ctx.registry()  # config errors first
    src, dst = _side(ctx, args.src, "source"), _side(ctx, args.dst, "destination")
    _check_sides(src, dst)
    plan = _plan(src, dst, checksum=args.checksum, delete=args.delete, workers=args.jobs)
    sizes = {rel: size for rel, size, _ in plan.copy}
    reasons = {rel: why for rel, _, why in plan.copy}

    def record(rel: str, nbytes: int) -> dict[str, Any]:
        return {"src": src.at(rel), "dst": dst.at(rel), "bytes": nbytes, "reason": reasons[rel]}

    if args.dry_run:
        planned = [record(rel, size) for rel, size in sizes.items()]
        _emit(ctx, src, dst, plan, planned, [dst.at(r) for r in plan.delete], [], dry_run=True)
        return 0
    errors: list[StoreroomError] = []
    copied: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    if plan.copy:
        report = _run(ctx, src, dst, plan)
        rel_of = _relative_of(src)
        for f in report:
            rel = rel_of(f.source)
            if f.status == "copied":
                copied.append(record(rel, f.bytes))
            elif f.error is not None:
                errors.append(f.error)
                failed.append(_failure(src.at(rel), dst.at(rel), f.error))
    deleted: list[str] = []
    if plan.delete and not errors:  # never delete after a failed copy
        failures = dict(_delete(dst, plan.delete, args.jobs))
        for rel in plan.delete:
            if rel in failures:
                errors.append(failures[rel])
                failed.append(_failure(None, dst.at(rel), failures[rel]))
            else:
                deleted.append(dst.at(rel))
    _emit(ctx, src, dst, plan, copied, deleted, failed, dry_run=False)
    if errors:
        raise errors[0]
    return 0


def _relative_of(src: _Side) -> Callable[[str], str]:
    """Maps a ``FileTransfer.source`` (store key or local path) back to the relative path."""
    if src.store is not None:
        base = src.key
        return lambda key: key[len(base) + 1 :] if base else key
    assert src.local is not None
    root = src.local
    return lambda path: Path(path).relative_to(root).as_posix()


def _failure(src: str | None, dst: str, error: StoreroomError) -> dict[str, Any]:
    from storeroom.cli.errors import error_message

    return {
        "src": src,
        "dst": dst,
        "error": error_message(error),
        "type": type(error).__name__,
        "exit_code": int(exit_code_for(error)),
    }
