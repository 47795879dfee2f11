"""``storeroom sync SRC DST``: the command line over ``storeroom.ext.sync``.

Each side is a ``STORE:path`` address or a local folder. The library plans
(``--checksum`` compares SHA-256 digests, otherwise size and time) and
applies the plan (``--delete`` removes destination extras, never after a
failed copy); this module parses the addresses, draws the bar and prints
the plan or the report (spec CLI-080..087, SYNC-001..050).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storeroom.cli.address import Remote, match_store, parse_remote
from storeroom.cli.errors import UsageError, exit_code_for
from storeroom.cli.progress import TerminalProgress
from storeroom.errors import StoreroomError
from storeroom.path import join_key

if TYPE_CHECKING:
    from storeroom.cli.context import Context
    from storeroom.ext.sync import Compare, Side, SyncPlan, SyncReport

__all__ = ["cmd_sync"]


@dataclass
class _End:
    """One end as the user wrote it, and as the library takes it."""

    label: str
    side: Side
    remote: Remote | None = None

    def at(self, rel: str) -> str:
        if self.remote is not None:
            return self.remote.at(join_key(self.remote.key, rel))
        return self.side.path_of(rel)


def _side(ctx: Context, arg: str, what: str) -> _End:
    from storeroom.ext.sync import Side

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
        side = Side(store=ctx.store(remote.store), key=remote.key)
        return _End(str(remote), side, remote)
    return _End(arg, Side(local=Path(arg)))


def _check_sides(src: _End, dst: _End) -> None:
    if src.side.store is None and dst.side.store is None:
        raise UsageError(
            "sync needs at least one STORE:path side",
            hint="define a store for one of the folders, or use rsync for two local folders",
        )
    if src.remote is not None and dst.remote is not None and src.remote.store == dst.remote.store:
        a, b = src.remote.key, dst.remote.key
        if a == b or not a or not b or b.startswith(a + "/") or a.startswith(b + "/"):
            raise UsageError(f"cannot sync {src.label} with {dst.label}: the folders overlap")


def _emit(ctx: Context, src: _End, dst: _End, plan: SyncPlan, report: SyncReport) -> None:
    out = ctx.out
    dry_run = report.dry_run
    copied = [
        {"src": src.at(o.path), "dst": dst.at(o.path), "bytes": o.bytes, "reason": o.reason}
        for o in report.copied
    ]
    deleted = [dst.at(o.path) for o in report.deleted]
    failed = [
        _failure(src.at(o.path) if o.action != "delete" else None, dst.at(o.path), o.error)
        for o in report.failed
        if o.error is not None
    ]
    total = report.bytes
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
    from storeroom.ext.sync import apply, plan

    args = ctx.args
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    ctx.registry()  # config errors first
    src, dst = _side(ctx, args.src, "source"), _side(ctx, args.dst, "destination")
    _check_sides(src, dst)
    compare: Compare = "checksum" if args.checksum else "size-mtime"
    the_plan = plan(src.side, dst.side, compare=compare, delete=args.delete, max_workers=args.jobs)
    report = apply(
        the_plan,
        dry_run=args.dry_run,
        max_workers=args.jobs,
        progress=TerminalProgress(f"sync {src.label}", ctx.progress),
    )
    _emit(ctx, src, dst, the_plan, report)
    errors = [o.error for o in report.failed if o.error is not None]
    if errors:
        raise errors[0]
    return 0


def _failure(src: str | None, dst: str, error: StoreroomError) -> dict[str, Any]:
    from storeroom.cli.errors import error_message

    return {
        "src": src,
        "dst": dst,
        "error": error_message(error),
        "type": type(error).__name__,
        "exit_code": int(exit_code_for(error)),
    }
