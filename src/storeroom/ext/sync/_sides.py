"""The two ends of a sync: a store folder or a local folder, listed as facts per file.

A side is a ``Store`` (its root), a ``(Store, folder)`` pair or a local
folder path. Listing yields, per relative path, the size, the modification
time, the etag and any digest known without reading the file: the backend's
native one or one recorded by an earlier sync in the file's metadata
(spec SYNC-003, SYNC-040).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument, InvalidPath, NotFound
from storeroom.path import is_store_key, join_key, normalize
from storeroom.store import Store

__all__ = ["DIGEST_KEY", "Facts", "Side", "as_side", "is_leftover"]

#: The metadata key under which a sync records a file's SHA-256 (letters,
#: digits and ``_`` only, so every metadata-keeping backend accepts it).
DIGEST_KEY = "storeroom_sha256"
ALGORITHM = "sha256"


@dataclass(frozen=True, slots=True)
class Facts:
    """What the comparison knows about one file without reading it."""

    size: int
    mtime: float | None  # seconds since the epoch, None when the side cannot tell
    etag: str | None = None
    digest: str | None = None  # SHA-256 hex, when known without reading


@dataclass(frozen=True)
class Side:
    """One end: ``store`` and ``key`` (a folder in it), or ``local`` (a folder path)."""

    store: Store | None = None
    key: str = ""
    local: Path | None = None
    #: Temporary files a killed copy left in the local folder (found by ``files``).
    leftovers: list[str] = field(default_factory=list, compare=False, repr=False)
    resolved: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def label(self) -> str:
        if self.store is None:
            return str(self.local)
        name = self.store.name or "store"
        return f"{name}:{self.key}"

    def path_of(self, rel: str) -> str:
        """The store key (relative to the store) or local path of ``rel``."""
        if self.store is not None:
            return join_key(self.key, rel)
        assert self.local is not None
        base = self._base()
        path = os.path.join(base, *rel.split("/"))  # noqa: PTH118 - hot path
        # A listed name never leads outside the local folder (EXT-075).
        if not is_store_key(rel) or not os.path.realpath(path).startswith(base + os.sep):
            from storeroom.ext._transfer_jobs import local_target

            local_target(self.local, rel, key=rel, operation="sync")  # raises InvalidPath
        return str(self.local.joinpath(*rel.split("/")))

    def _base(self) -> str:
        if not self.resolved:
            assert self.local is not None
            self.resolved.append(os.path.realpath(self.local))
        return self.resolved[0]

    @property
    def keeps_metadata(self) -> bool:
        return self.store is not None and self.store.supports(Capability.USER_METADATA)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (a store by name and folder, a folder by path)."""
        if self.store is None:
            return {"local": str(self.local)}
        return {"store": self.store.name, "folder": self.key}

    def files(self, *, source: bool) -> dict[str, Facts]:
        """Every file below the folder by relative path; a missing destination is empty."""
        if self.store is not None:
            return self._store_files(self.store, source=source)
        assert self.local is not None
        root = self.local
        if not root.exists():
            if source:
                raise NotFound(
                    "local folder does not exist", path=str(root), hint="check the source path"
                )
            return {}
        if not root.is_dir():
            raise InvalidPath(
                "is a file, not a folder",
                path=str(root),
                hint="sync works on folders; copy a single file",
            )
        out: dict[str, Facts] = {}
        self.leftovers.clear()
        _scan(str(root), "", out, self.leftovers)
        return out

    def _store_files(self, store: Store, *, source: bool) -> dict[str, Facts]:
        key = self.key
        if key and store.is_file(key):
            raise InvalidPath(
                "is a file, not a folder",
                path=key,
                hint="sync works on folders; copy a single file",
            )
        if not store.is_folder(key):
            if source:
                raise NotFound("no such folder", path=key, store=store.name)
            return {}
        cut = len(key) + 1 if key else 0
        out: dict[str, Facts] = {}
        for info in store.list_files(key, recursive=True):
            when = info.modified_at
            digest = (
                info.digest.value if info.digest and info.digest.algorithm == ALGORITHM else None
            )
            if digest is None and info.metadata:
                digest = info.metadata.get(DIGEST_KEY)
            out[str(info.path)[cut:]] = Facts(
                info.size, when.timestamp() if when is not None else None, info.etag, digest
            )
        return out


#: A download's temporary name beside its target (``ext.transfer``), and the
#: local backend's (``.~storeroom-<12 hex>.tmp``, also its transaction staging folder).
_TEMP = re.compile(r"\..+\.[0-9a-f]{12}\.part|\.~storeroom-[0-9a-f]{12}\.tmp")


def is_leftover(name: str) -> bool:
    """True for the temporary name of a copy in progress (or killed)."""
    return name[:1] == "." and _TEMP.fullmatch(name) is not None


def _scan(folder: str, prefix: str, out: dict[str, Facts], leftovers: list[str]) -> None:
    """Regular files below ``folder`` (symlinked folders not followed), as ``upload`` sees them.

    Temporary files of copies in progress are never files to sync; they go to ``leftovers``.
    """
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        rel = prefix + entry.name
        if entry.is_dir(follow_symlinks=False):
            if not is_leftover(entry.name):  # a transaction's staging folder is not data
                _scan(entry.path, rel + "/", out, leftovers)
        elif is_leftover(entry.name):
            leftovers.append(entry.path)
        elif entry.is_file():
            st = entry.stat()
            out[rel] = Facts(st.st_size, st.st_mtime)


def _sync_store(value: Any) -> Any:
    """The Store behind an ``AsyncStore`` (SYNC-090); anything else unchanged."""
    from storeroom.aio.store import AsyncStore  # (lazy: aio imports more than sync needs)

    return value.store if isinstance(value, AsyncStore) else value


def as_side(value: Any, what: str) -> Side:
    """A ``Side`` from a Store or AsyncStore, a ``(store, folder)`` pair or a local folder path."""
    if isinstance(value, Side):
        return value
    value = _sync_store(value)
    if isinstance(value, tuple) and len(value) == 2:
        value = (_sync_store(value[0]), value[1])
    if isinstance(value, Store):
        return Side(store=value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], Store):
        return Side(store=value[0], key=normalize(str(value[1])))
    if isinstance(value, (str, os.PathLike)):
        return Side(local=Path(value))
    raise InvalidArgument(
        f"sync {what}: expected a Store, a (Store, folder) pair or a local folder path, "
        f"got {type(value).__name__}",
        hint="pass store.child('folder') or a pathlib.Path",
    )
