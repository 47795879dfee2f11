"""Command-line addresses: ``STORE:path`` for stores, anything else is local.

``STORE:`` and a bare ``STORE`` name the store root. For ``put``/``get`` a
local path is any argument that does not start with a configured store
name followed by ``:``; one that does is rejected with a hint rather than
guessed at (spec CLI-010..013).
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Collection
from pathlib import Path

from storeroom.cli.errors import UsageError
from storeroom.path import normalize

__all__ = ["Remote", "local_path", "match_store", "parse_remote", "target_in_folder"]


@dataclasses.dataclass(frozen=True)
class Remote:
    """A ``STORE:path`` argument. ``path`` is as typed (may be empty or end in ``/``)."""

    store: str
    path: str

    @property
    def key(self) -> str:
        """The normalised store-relative path ("" for the root)."""
        return normalize(self.path)

    @property
    def names_folder(self) -> bool:
        """True when the argument itself says "folder": the root, or a trailing ``/``."""
        return self.key == "" or self.path.endswith(("/", "\\"))

    def at(self, key: str) -> str:
        """Display form of ``key`` in this store."""
        return f"{self.store}:{key}"

    def __str__(self) -> str:
        return f"{self.store}:{self.path}"


def match_store(arg: str, stores: Collection[str]) -> str | None:
    """The configured store ``arg`` starts with (``NAME:...``), longest name first."""
    for name in sorted(stores, key=len, reverse=True):
        if arg.startswith(name + ":"):
            return name
    return None


def _defined(stores: Collection[str]) -> str:
    return ", ".join(sorted(stores)) or "none"


def parse_remote(arg: str, stores: Collection[str], *, what: str = "argument") -> Remote:
    """Parse ``STORE:path`` (or a bare ``STORE``); unknown stores are usage errors."""
    name = match_store(arg, stores)
    if name is not None:
        return Remote(name, arg[len(name) + 1 :])
    if arg in stores:
        return Remote(arg, "")
    if ":" in arg:
        prefix = arg.partition(":")[0]
        raise UsageError(
            f"unknown store {prefix!r} in {what} {arg!r} (defined stores: {_defined(stores)})",
            hint="stores are defined under [stores] in the config file",
        )
    raise UsageError(
        f"{what} {arg!r} is not a STORE:path address (defined stores: {_defined(stores)})",
        hint="write STORE:path, e.g. data:reports/2024.csv",
    )


def local_path(arg: str, stores: Collection[str], *, command: str) -> Path:
    """A local filesystem path; rejects arguments that name a configured store."""
    name = match_store(arg, stores)
    if name is None:
        return Path(arg)
    if os.path.lexists(arg):
        raise UsageError(
            f"{arg!r} is ambiguous: it is a local path and also a path in store {name!r}",
            hint=f"write ./{arg} for the local file, or rename it",
        )
    raise UsageError(
        f"{command} needs a local path here, but {arg!r} names store {name!r}",
        hint="use 'storeroom cp' to copy between stores"
        + (f"; write ./{arg} for a local file of that name" if "/" not in arg else ""),
    )


def target_in_folder(folder_key: str, source_name: str) -> str:
    """``folder_key/source_name`` as a store key."""
    return posixpath.join(folder_key, source_name) if folder_key else source_name
