"""``plan``: what a sync would copy, update and delete, as a printable, JSON-ready value.

A file is copied when the destination lacks it and updated when it differs:
another size; with ``compare="checksum"`` another SHA-256; with ``"etag"``
another etag (when both sides report one); otherwise (``"size-mtime"``),
unless both report the same etag, a source modified after the destination
copy (a copy is always newer than its source, so an unchanged file is not
copied again; a side keeping whole seconds compares whole seconds). A side
that cannot tell a time gets the file copied. With ``delete=True``
destination files the source lacks are deleted (spec SYNC-001..012).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from storeroom.errors import InvalidArgument
from storeroom.ext.sync._sides import ALGORITHM, DIGEST_KEY, Facts, Side, as_side

__all__ = ["Compare", "SyncAction", "SyncPlan", "plan"]

Compare = Literal["size-mtime", "etag", "checksum"]
Filter = str | Sequence[str] | Callable[[str], bool] | None
_COMPARES = ("size-mtime", "etag", "checksum")
_TICK = 1e-6  # the finest time a store reports (datetime microseconds)
_VERSION = 1


@dataclass(frozen=True, slots=True)
class SyncAction:
    """One planned change: ``copy`` (missing), ``update`` (differs) or ``delete`` (extra)."""

    path: str  # relative to both folders
    action: Literal["copy", "update", "delete"]
    size: int
    reason: str  # missing, size, newer, unknown, etag, checksum, extra
    digest: str | None = None  # the source's SHA-256 when the plan learnt it


@dataclass(frozen=True)
class SyncPlan:
    """The changes that make ``dst`` hold what ``src`` holds; ``apply`` carries them out."""

    src: Side
    dst: Side
    compare: Compare
    actions: tuple[SyncAction, ...]
    unchanged: int
    delete: bool = False

    @property
    def copies(self) -> list[SyncAction]:
        return [a for a in self.actions if a.action == "copy"]

    @property
    def updates(self) -> list[SyncAction]:
        return [a for a in self.actions if a.action == "update"]

    @property
    def deletes(self) -> list[SyncAction]:
        return [a for a in self.actions if a.action == "delete"]

    @property
    def transfers(self) -> list[SyncAction]:
        """Copies and updates, in path order."""
        return [a for a in self.actions if a.action != "delete"]

    @property
    def bytes(self) -> int:
        """Bytes the copies and updates move."""
        return sum(a.size for a in self.actions if a.action != "delete")

    def __len__(self) -> int:
        return len(self.actions)

    def __iter__(self) -> Iterator[SyncAction]:
        return iter(self.actions)

    def summary(self) -> str:
        return (
            f"sync {self.src.label} -> {self.dst.label}: {len(self.copies)} to copy, "
            f"{len(self.updates)} to update ({self.bytes} bytes), {len(self.deletes)} to delete, "
            f"{self.unchanged} unchanged"
        )

    def __str__(self) -> str:
        lines = [
            f"{a.action} {a.path}"
            + ("" if a.action == "delete" else f" ({a.size} bytes, {a.reason})")
            for a in self.actions
        ]
        return "\n".join([*lines, self.summary()])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``from_dict`` reads it back)."""
        return {
            "version": _VERSION,
            "src": self.src.describe(),
            "dst": self.dst.describe(),
            "compare": self.compare,
            "delete": self.delete,
            "unchanged": self.unchanged,
            "bytes": self.bytes,
            "actions": [
                {"path": a.path, "action": a.action, "size": a.size, "reason": a.reason}
                | ({"digest": a.digest} if a.digest else {})
                for a in self.actions
            ],
        }

    def to_json(self, **dumps: Any) -> str:
        return json.dumps(self.to_dict(), **dumps)

    @classmethod
    def from_dict(cls, doc: dict[str, Any], *, src: Any = None, dst: Any = None) -> SyncPlan:
        """The plan ``to_dict`` described; a store side must be given again as ``src``/``dst``."""
        if not isinstance(doc, dict) or doc.get("version") != _VERSION:
            raise InvalidArgument(
                "not a storeroom sync plan (or from another version)",
                hint="make the plan again with storeroom.ext.sync.plan",
            )
        actions = tuple(
            SyncAction(a["path"], a["action"], int(a["size"]), a["reason"], a.get("digest"))
            for a in doc["actions"]
        )
        return cls(
            _restore(doc["src"], src, "src"),
            _restore(doc["dst"], dst, "dst"),
            doc["compare"],
            actions,
            int(doc["unchanged"]),
            bool(doc.get("delete", False)),
        )

    @classmethod
    def from_json(cls, text: str, *, src: Any = None, dst: Any = None) -> SyncPlan:
        return cls.from_dict(json.loads(text), src=src, dst=dst)


def _restore(described: dict[str, Any], given: Any, what: str) -> Side:
    if given is not None:
        return as_side(given, what)
    if "local" in described:
        return as_side(described["local"], what)
    raise InvalidArgument(
        f"the plan's {what} is store {described.get('store')!r}: pass it again",
        hint=f"SyncPlan.from_json(text, {what}=registry.get_store(...))",
    )


def _matcher(spec: Filter, what: str) -> Callable[[str], bool] | None:
    """A predicate on relative paths; a pattern without ``/`` also matches a bare name."""
    if spec is None:
        return None
    if callable(spec):
        return spec
    patterns = [spec] if isinstance(spec, str) else list(spec)
    if not all(isinstance(p, str) for p in patterns):
        raise InvalidArgument(
            f"{what} takes glob patterns (str) or a callable",
            hint=f'{what}="*.csv", {what}=["a/**", "b/*"] or {what}=lambda rel: ...',
        )
    from storeroom._glob import compile_glob
    from storeroom.path import normalize

    regexes = [(compile_glob(normalize(p))[2], "/" not in p) for p in patterns]

    def match(rel: str) -> bool:
        name = rel.rpartition("/")[2]
        return any(r.match(rel) or (bare and r.match(name)) for r, bare in regexes)

    return match


def _filtered(files: dict[str, Facts], keep: Callable[[str], bool] | None) -> dict[str, Facts]:
    return files if keep is None else {r: f for r, f in files.items() if keep(r)}


def _reason(src: Facts, dst: Facts | None, compare: str) -> str | None:
    """Why a file must be copied (checksums aside), or None when it is up to date."""
    if dst is None:
        return "missing"
    if src.size != dst.size:
        return "size"
    if src.etag is not None and dst.etag is not None:
        if src.etag == dst.etag:
            return None
        if compare == "etag":
            return "etag"
    s, d = src.mtime, dst.mtime
    if s is None or d is None:
        return "unknown"
    if s.is_integer() or d.is_integer():  # a side keeping whole seconds (SFTP): compare those
        s, d = math.floor(s), math.floor(d)
    # A store keeps microseconds, a local file nanoseconds: a copy made in the same
    # clock tick as its source would otherwise look a fraction of a microsecond older.
    return "newer" if s - d > _TICK else None


def _digest(side: Side, rel: str, facts: Facts) -> str:
    """The file's SHA-256: from the listing, from its metadata, or by reading it."""
    if facts.digest:
        return facts.digest
    path = side.path_of(rel)
    if side.store is None:
        from storeroom.ext.integrity import digest_stream

        with open(path, "rb") as fh:
            return digest_stream(fh, ALGORITHM).value
    store = side.store
    if side.keeps_metadata:  # a listing may leave metadata out (S3): ask once
        info = store.get_file_info(path)
        known = (info.metadata or {}).get(DIGEST_KEY)
        if info.digest is not None and info.digest.algorithm == ALGORITHM:
            known = info.digest.value
        if known:
            return known
    from storeroom.ext.integrity import content_digest

    return content_digest(store, path, ALGORITHM).value


def _check_overlap(src: Side, dst: Side) -> None:
    if src.store is not None and dst.store is not None:
        if src.store.backend is not dst.store.backend:
            return
        from storeroom.path import join_key

        a, b = join_key(src.store.root_path, src.key), join_key(dst.store.root_path, dst.key)
    elif src.local is not None and dst.local is not None:
        a, b = str(src.local.resolve()), str(dst.local.resolve())
    else:
        return
    if a == b or not a or not b or b.startswith(a + "/") or a.startswith(b + "/"):
        raise InvalidArgument(
            f"cannot sync {src.label} with {dst.label}: the folders overlap",
            hint="choose a destination outside the source folder",
        )


def plan(
    src: Any,
    dst: Any,
    *,
    compare: Compare = "size-mtime",
    delete: bool = False,
    include: Filter = None,
    exclude: Filter = None,
    max_workers: int | None = None,
) -> SyncPlan:
    """What ``apply`` must do so ``dst`` holds what ``src`` holds (nothing is changed).

    Each side is a Store (its root), a ``(Store, folder)`` pair or a local
    folder path; a missing destination folder is empty. ``include``/``exclude``
    (glob patterns or a predicate on relative paths) filter both sides.
    """
    if compare not in _COMPARES:
        raise InvalidArgument(
            f"compare must be one of {', '.join(_COMPARES)}, got {compare!r}",
            hint='use compare="checksum" to compare contents',
        )
    s, d = as_side(src, "source"), as_side(dst, "destination")
    _check_overlap(s, d)
    keep_in, keep_out = _matcher(include, "include"), _matcher(exclude, "exclude")

    def keep(rel: str) -> bool:
        return (keep_in is None or keep_in(rel)) and (keep_out is None or not keep_out(rel))

    wanted = None if keep_in is None and keep_out is None else keep
    have = _filtered(s.files(source=True), wanted)
    there = _filtered(d.files(source=False), wanted)
    found: dict[str, SyncAction] = {}
    same_size: list[str] = []
    for rel, facts in have.items():
        other = there.get(rel)
        if compare == "checksum" and other is not None and other.size == facts.size:
            same_size.append(rel)
            continue
        why = _reason(facts, other, compare)
        if why is not None:
            kind: Literal["copy", "update"] = "copy" if other is None else "update"
            found[rel] = SyncAction(rel, kind, facts.size, why, facts.digest)
    if same_size:
        workers = max_workers or 16

        def differs(rel: str) -> tuple[bool, str]:
            mine = _digest(s, rel, have[rel])
            return mine != _digest(d, rel, there[rel]), mine

        with ThreadPoolExecutor(max_workers=min(workers, len(same_size))) as pool:
            for rel, (diff, digest) in zip(same_size, pool.map(differs, same_size), strict=True):
                if diff:
                    found[rel] = SyncAction(rel, "update", have[rel].size, "checksum", digest)
    actions = [found[rel] for rel in sorted(found)]
    if delete:
        actions.extend(
            SyncAction(rel, "delete", there[rel].size, "extra")
            for rel in sorted(there)
            if rel not in have
        )
    return SyncPlan(s, d, compare, tuple(actions), len(have) - len(found), delete)
