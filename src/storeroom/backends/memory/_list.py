"""Listings of the ``memory`` backend: a lazy depth-first walk, one folder at a time (MEM-016)."""

from __future__ import annotations

from collections.abc import Iterator

from storeroom.backend import Entry
from storeroom.backends.memory._core import File, Folder, MemoryCore
from storeroom.models import FileInfo, FolderEntry

__all__ = ["walk"]

#: One folder's children as a listing reads them: (name, node), in entry order.
_Children = list[tuple[str, Folder | File]]
#: A folder's entries, in the order of its ``_Children``.
_Entries = list[Entry]


def _sort_key(item: tuple[str, Folder | File]) -> str:
    name, node = item
    return name + "/" if type(node) is Folder else name


def _children(
    core: MemoryCore, key: str, rel: str
) -> tuple[Folder, _Children, _Entries | None] | None:
    """Folder ``key``, its sorted children and its entries if last listed under ``rel``,
    read under the lock; ``None`` if no folder is there.

    The sorted list is kept on the folder until its children change; it is
    never modified, so a walk may hold it outside the lock.
    """
    with core.lock:
        node = core.find(key)
        if type(node) is not Folder:
            return None
        order = node.order
        if order is None:
            order = node.order = sorted(node.children.items(), key=_sort_key)
        view = node.view
        return node, order, view[1] if view is not None and view[0] == rel else None


def _entries(core: MemoryCore, folder: Folder, order: _Children, rel: str) -> _Entries:
    """Entries of ``order`` (built outside the lock), kept on the folder if it is unchanged."""
    new_file, new_folder = FileInfo._fast, FolderEntry._fast
    entries: _Entries = [
        new_file(rel + n, n, len(f.data), f.modified_at, f.etag, None, f.metadata)
        if type(f) is File
        else new_folder(rel + n, n)
        for n, f in order
    ]
    with core.lock:
        if folder.order is order:
            folder.view = (rel, entries)
    return entries


def walk(core: MemoryCore, key: str, rel: str, recursive: bool) -> Iterator[Entry]:
    """Depth-first walk holding one folder's sorted children and entries per level.

    Each folder is read when the walk reaches it, so changes show in folders
    not reached yet and never disturb the iteration; a subfolder gone (or
    replaced by a file) by then is not yielded.
    """
    found = _children(core, key, rel)
    if found is None:
        return
    folder, items, entries = found
    if entries is None:
        entries = _entries(core, folder, items, rel)
    if not recursive:
        yield from entries
        return
    stack: list[tuple[str, str, _Children, _Entries, int]] = []
    i = 0
    while True:
        count = len(items)
        while i < count:
            start = i
            while i < count and type(items[i][1]) is File:
                i += 1
            if i > start:
                yield from entries[start:i]
                continue
            name = items[i][0]
            i += 1
            sub = f"{key}/{name}" if key else name
            sub_rel = f"{rel}{name}/"
            found = _children(core, sub, sub_rel)
            if found is None:
                continue  # gone, or replaced by a file, since its parent was read
            yield entries[i - 1]
            stack.append((key, rel, items, entries, i))
            folder, items, sub_entries = found
            if sub_entries is None:
                sub_entries = _entries(core, folder, items, sub_rel)
            key, rel, entries, i = sub, sub_rel, sub_entries, 0
            count = len(items)
        if not stack:
            return
        key, rel, items, entries, i = stack.pop()
