"""Store support: the capability gate table and the no-I/O helpers ``Store`` uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import cast

from storeroom.backend import Backend, Entry
from storeroom.capabilities import Capability, CapabilitySet
from storeroom.errors import InvalidArgument
from storeroom.models import FileInfo, FolderEntry

__all__ = ["GATES", "check_depth", "check_metadata", "filter_files", "filter_folders"]

C = Capability

#: Which capability each gated Store method needs (spec STORE-002).
GATES: Mapping[str, Capability] = {
    "read": C.READ,
    "read_bytes": C.READ,
    "read_text": C.READ,
    "read_seekable": C.READ,
    "read_range": C.READ,
    "write": C.WRITE,
    "write_text": C.WRITE,
    "write_atomic": C.ATOMIC_WRITE,
    "open_atomic": C.ATOMIC_WRITE,
    "delete": C.DELETE,
    "delete_folder": C.DELETE,
    "list_files": C.LIST,
    "list_folders": C.LIST,
    "iter_children": C.LIST,
    "glob": C.GLOB,
    "move": C.MOVE,
    "copy": C.COPY,
    "get_file_info": C.METADATA,
    "head": C.METADATA,
    "get_folder_info": C.METADATA,
}

TMP_PREFIX = ".~storeroom-"
SPOOL_MAX = 8 * 1024 * 1024


def store_capabilities(backend: Backend) -> CapabilitySet:
    """What the Store offers: the backend's set plus what it can derive honestly."""
    caps = set(backend.capabilities)
    if C.LIST in caps:
        caps.add(C.GLOB)  # derived: list under the fixed prefix + match
    if C.WRITE in caps and C.ATOMIC_MOVE in caps and C.MOVE in caps:
        caps.add(C.ATOMIC_WRITE)  # derived: temp key + atomic rename
    return CapabilitySet(caps)


def check_depth(max_depth: int | None) -> None:
    """``max_depth`` is ``None`` or an ``int >= 0``."""
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise InvalidArgument(f"max_depth must be >= 0 (or None for no limit), got {max_depth!r}")


#: Largest user metadata (keys + values, UTF-8): what every backend can keep (COMPAT-303).
METADATA_MAX_BYTES = 2048


def check_metadata(metadata: Mapping[str, str], path: str) -> None:
    """User metadata maps str to str; keys are non-empty ASCII, not ``_``-led; 2048 bytes."""
    if not isinstance(metadata, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise InvalidArgument(
            "metadata must map str to str", path=path, hint="convert values with str()"
        )
    for key in metadata:
        if not key or key.startswith("_") or not key.isascii():
            raise InvalidArgument(
                f"metadata key {key!r} is not allowed: keys must be non-empty ASCII and must"
                " not start with underscore (reserved)",
                path=path,
                hint="rename the key, e.g. 'owner' or 'x-source'",
            )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > METADATA_MAX_BYTES:
        raise InvalidArgument(
            f"metadata is {size} bytes; it must not exceed {METADATA_MAX_BYTES} bytes"
            " (keys and values, UTF-8)",
            path=path,
            hint="store large facts in a file beside it",
        )


#: Matches an entry's name (a compiled name pattern's ``match``).
NameMatch = Callable[[str], object]


def filter_files(
    entries: Iterator[Entry], max_depth: int | None, base_depth: int, match: NameMatch | None
) -> Iterator[FileInfo]:
    if max_depth is None and match is None:
        # A C-level filter: no Python frame per entry (FileInfo has no subclasses).
        return cast(Iterator[FileInfo], filter(_is_file, entries))
    return _filter_files(entries, max_depth, base_depth, match)


_is_file = FileInfo.__instancecheck__


def _filter_files(
    entries: Iterator[Entry], max_depth: int | None, base_depth: int, match: NameMatch | None
) -> Iterator[FileInfo]:
    for e in entries:
        if type(e) is not FileInfo:
            continue
        if max_depth is not None and e.path.count("/") - base_depth > max_depth:
            continue
        if match is not None and not match(e.name):
            continue
        yield e


def filter_folders(
    entries: Iterator[Entry], max_depth: int, base_depth: int, match: NameMatch | None
) -> Iterator[FolderEntry]:
    for e in entries:
        if type(e) is not FolderEntry:
            continue
        if e.path.count("/") - base_depth > max_depth:
            continue
        if match is not None and not match(e.name):
            continue
        yield e
