"""The ``memory`` backend: a tree of folders and files inside the process.

It is the reference model other backends are compared with, so it is
written to be obviously correct first: one lock guards the tree; every
operation validates first and changes the tree only once nothing can fail
any more, so each operation is all-or-nothing. Writes read the whole source
before taking the lock, which makes every write atomic. Files are immutable
records that are replaced, never changed, so a reader or listing holding one
outside the lock always sees whole content. Listings read one folder at a
time, when the walk enters it.

Fast where it costs nothing in clarity: an index from key to node makes
every lookup one dict access; each folder keeps its sorted children until
they change; etags are issued from a counter instead of hashing the
content (MEM-013).
"""

from __future__ import annotations

import io
import itertools
import os
import threading
import types
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from storeroom._cond import precondition_failed
from storeroom.backend import Backend, Entry, Source, read_all, rel_key
from storeroom.backends.memory.config import MemoryOptions
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import (
    AlreadyExists,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import normalize

if TYPE_CHECKING:
    from storeroom.backends.memory._txn import MemoryTransaction

__all__ = ["MemoryBackend"]

_NAME = "memory"
_EMPTY: Mapping[str, str] = types.MappingProxyType({})
_now = datetime.now


#: Etags are a random token of this process and a counter: unique in the process,
#: issued without reading the content (MEM-013).
_token = os.urandom(4).hex() + "-"
_counter = itertools.count(1)


def _after_fork() -> None:
    global _token, _counter
    _token = os.urandom(4).hex() + "-"  # a forked child must not repeat its parent's etags
    _counter = itertools.count(1)


os.register_at_fork(after_in_child=_after_fork)


class _File:
    """One file's content and facts; never modified after creation."""

    __slots__ = ("data", "etag", "metadata", "modified_at")

    def __init__(
        self,
        data: bytes,
        metadata: Mapping[str, str],
        modified_at: datetime | None = None,
        etag: str | None = None,
    ) -> None:
        self.data = data
        self.metadata = metadata
        self.modified_at = modified_at or _now(UTC)
        self.etag = etag or f"{_token}{next(_counter):x}"


#: One folder's children as a listing reads them: (name, node), in entry order.
_Children = list[tuple[str, "_Folder | _File"]]
#: A folder's entries, in the order of its ``_Children``.
_Entries = list[Entry]


class _Folder:
    """A folder: its children by name; their entry order and last listing until they change."""

    __slots__ = ("children", "order", "view")

    def __init__(self) -> None:
        self.children: dict[str, _Folder | _File] = {}
        #: ``children`` sorted in entry order (rebuilt when listed after a change).
        self.order: _Children | None = None
        #: The entries of ``order`` as last listed, with the relative path they were
        #: listed under: a listing of an unchanged folder hands out the same entries.
        self.view: tuple[str, _Entries] | None = None

    def changed(self) -> None:
        """Forget the order and the listing (call with the lock held, on any change)."""
        self.order = self.view = None


def _err(
    cls: type[StoreroomError], message: str, key: str, hint: str | None = None
) -> StoreroomError:
    return cls(message, path=key, backend=_NAME, hint=hint)


def _sort_key(item: tuple[str, _Folder | _File]) -> str:
    name, node = item
    return name + "/" if type(node) is _Folder else name


def _entry(path: str, name: str, node: _Folder | _File) -> Entry:
    if type(node) is _File:
        return FileInfo._fast(
            path, name, len(node.data), node.modified_at, node.etag, None, node.metadata
        )
    return FolderEntry._fast(path, name)


def _result(key: str, record: _File) -> WriteResult:
    meta = record.metadata
    return WriteResult._fast(
        key, len(record.data), record.etag, record.modified_at, dict(meta) if meta else {}
    )


class MemoryBackend(Backend):
    """Files and folders kept in memory; thread-safe; supports user metadata.

    ``MemoryBackend()``. Each instance is its own independent space. Etags
    are opaque and change with every write (MEM-013). Data is lost when the
    process ends.
    """

    type_name = _NAME
    real_folders = True
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
            Capability.USER_METADATA,
            Capability.CONDITIONAL_WRITE,
            Capability.TRANSACTION,
        }
    )
    options_class: ClassVar[type[MemoryOptions]] = MemoryOptions

    def __init__(self) -> None:
        self._setup(MemoryOptions())

    def _setup(self, opts: MemoryOptions) -> None:
        #: No options; a pickled memory backend arrives empty in the other process.
        self.options = opts
        self._root = _Folder()
        #: Every node by its key ("" is the root): lookups never walk the tree.
        self._index: dict[str, _Folder | _File] = {"": self._root}
        self._lock = threading.Lock()  # never taken twice: no method calls another under it

    # -- tree helpers (call with the lock held) -------------------------------

    @staticmethod
    def _check_key(key: str) -> None:
        """``InvalidPath`` unless ``key`` is a normalised key (MEM-004)."""
        if normalize(key, backend=_NAME) != key:
            raise _err(InvalidPath, "not a normalised key", key)

    def _find(self, key: str) -> _Folder | _File | None:
        try:
            node = self._index.get(key)
        except TypeError:  # unhashable: not a key at all
            node = None
        if node is None:
            self._check_key(key)  # only normalised keys are ever indexed
        return node

    def _file(self, key: str) -> _File:
        node = self._find(key)
        if node is None:
            raise _err(NotFound, "file not found", key)
        if type(node) is _Folder:
            raise _err(InvalidPath, "expected a file, found a folder", key)
        return node  # type: ignore[return-value]

    def _check_target(self, key: str, overwrite: bool) -> None:
        """Validate a write to ``key`` without changing anything."""
        if not key:
            self._check_key(key)
            raise _err(InvalidPath, "a file path is required, got the root", key)
        existing = self._find(key)
        if existing is None:
            index = self._index
            parent = key.rpartition("/")[0]
            node = index.get(parent)
            while node is None:  # the nearest existing ancestor ("" always exists)
                parent = parent.rpartition("/")[0]
                node = index.get(parent)
            if type(node) is not _Folder:
                raise _err(InvalidPath, "a parent of this path is a file", key)
            return
        if type(existing) is _Folder:
            raise _err(InvalidPath, "a folder exists at this path", key)
        if not overwrite:
            raise _err(
                AlreadyExists, "file already exists", key, hint="pass overwrite=True to replace it"
            )

    def _folder_at(self, key: str) -> _Folder:
        """The folder at ``key``, created with its missing parents; checks were done before."""
        node = self._index.get(key)
        if node is None:
            parent, _, name = key.rpartition("/")
            up = self._folder_at(parent)
            node = up.children[name] = _Folder()
            up.changed()
            self._index[key] = node
        assert type(node) is _Folder
        return node

    def _put(self, key: str, record: _File) -> None:
        """Store ``record`` at ``key``, creating parent folders; checks were done before."""
        parent, _, name = key.rpartition("/")
        folder = self._index.get(parent)
        if type(folder) is not _Folder:
            folder = self._folder_at(parent)
        folder.children[name] = record
        folder.order = folder.view = None  # the cached order holds the nodes: a replaced file too
        self._index[key] = record

    def _detach(self, key: str) -> None:
        """Remove the entry at ``key`` (and all below it) from the tree and the index."""
        parent, _, name = key.rpartition("/")
        folder = self._index[parent]
        assert type(folder) is _Folder
        del folder.children[name]
        folder.changed()
        node = self._index.pop(key)
        if type(node) is _Folder:
            stack = [(key, node)]
            while stack:
                at, sub = stack.pop()
                for child_name, child in sub.children.items():
                    child_key = f"{at}/{child_name}"
                    del self._index[child_key]
                    if type(child) is _Folder:
                        stack.append((child_key, child))

    # -- primitives -----------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """Entry for a file or folder; ``NotFound`` when missing."""
        with self._lock:
            node = self._find(key)
        if node is None:
            raise _err(NotFound, "file or folder not found", key)
        return _entry(key, key.rpartition("/")[2], node)

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._find(key) is not None

    def is_folder(self, key: str) -> bool:
        with self._lock:
            return type(self._find(key)) is _Folder

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A stream over a snapshot of the content (later writes do not affect it)."""
        if (start is not None and start < 0) or (end is not None and end < 0):
            raise _err(InvalidPath, "byte offsets must not be negative", key)
        with self._lock:
            data = self._file(key).data
        if start or end is not None:
            data = data[start:end]
        return io.BytesIO(data)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Read all of ``src``, then check and commit under the lock: always atomic.

        ``bytes`` are kept as they are (immutable: nothing to copy or read first).
        """
        if type(src) is bytes:
            data = src
        else:
            with self._lock:
                self._check_target(key, overwrite)  # fail early, before reading the source
            data = read_all(src)
        record = _File(data, types.MappingProxyType(dict(metadata)) if metadata else _EMPTY)
        with self._lock:
            self._check_target(key, overwrite)
            self._put(key, record)
        return _result(key, record)

    def delete(self, key: str) -> None:
        with self._lock:
            self._file(key)
            self._detach(key)

    def _match(self, key: str, etag: str, op: str) -> None:
        """``PreconditionFailed`` unless the file at ``key`` has ``etag`` (lock held)."""
        node = self._find(key)
        if type(node) is _Folder:
            raise _err(InvalidPath, "expected a file, found a folder", key)
        found = node.etag if type(node) is _File else None
        if found != etag:
            raise precondition_failed(key, _NAME, etag, found, op)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Compare the etag and replace the file under the one lock (COND-040)."""
        data = src if type(src) is bytes else read_all(src)
        record = _File(data, types.MappingProxyType(dict(metadata)) if metadata else _EMPTY)
        with self._lock:
            self._match(key, etag, "write")
            self._put(key, record)
        return _result(key, record)

    def delete_if_match(self, key: str, etag: str) -> None:
        with self._lock:
            self._match(key, etag, "delete")
            self._detach(key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix`` in entry order, read lazily one folder at a time (MEM-016)."""
        self._find(prefix)  # a malformed key fails now, not at the first entry (MEM-004)
        rel = rel_key(prefix, base) if prefix else ""
        return self._walk(prefix, rel + "/" if rel else "", recursive)

    def _children(self, key: str, rel: str) -> tuple[_Folder, _Children, _Entries | None] | None:
        """Folder ``key``, its sorted children and its entries if last listed under ``rel``,
        read under the lock; ``None`` if no folder is there.

        The sorted list is kept on the folder until its children change; it is
        never modified, so a walk may hold it outside the lock.
        """
        with self._lock:
            node = self._find(key)
            if type(node) is not _Folder:
                return None
            order = node.order
            if order is None:
                order = node.order = sorted(node.children.items(), key=_sort_key)
            view = node.view
            return node, order, view[1] if view is not None and view[0] == rel else None

    def _entries(self, folder: _Folder, order: _Children, rel: str) -> _Entries:
        """Entries of ``order`` (built outside the lock), kept on the folder if it is unchanged."""
        new_file, new_folder = FileInfo._fast, FolderEntry._fast
        entries: _Entries = [
            new_file(rel + n, n, len(f.data), f.modified_at, f.etag, None, f.metadata)
            if type(f) is _File
            else new_folder(rel + n, n)
            for n, f in order
        ]
        with self._lock:
            if folder.order is order:
                folder.view = (rel, entries)
        return entries

    def _walk(self, key: str, rel: str, recursive: bool) -> Iterator[Entry]:
        """Depth-first walk holding one folder's sorted children and entries per level.

        Each folder is read when the walk reaches it, so changes show in folders
        not reached yet and never disturb the iteration; a subfolder gone (or
        replaced by a file) by then is not yielded.
        """
        found = self._children(key, rel)
        if found is None:
            return
        folder, items, entries = found
        if entries is None:
            entries = self._entries(folder, items, rel)
        if not recursive:
            yield from entries
            return
        stack: list[tuple[str, str, _Children, _Entries, int]] = []
        i = 0
        while True:
            count = len(items)
            while i < count:
                start = i
                while i < count and type(items[i][1]) is _File:
                    i += 1
                if i > start:
                    yield from entries[start:i]
                    continue
                name = items[i][0]
                i += 1
                sub = f"{key}/{name}" if key else name
                sub_rel = f"{rel}{name}/"
                found = self._children(sub, sub_rel)
                if found is None:
                    continue  # gone, or replaced by a file, since its parent was read
                yield entries[i - 1]
                stack.append((key, rel, items, entries, i))
                folder, items, sub_entries = found
                if sub_entries is None:
                    sub_entries = self._entries(folder, items, sub_rel)
                key, rel, entries, i = sub, sub_rel, sub_entries, 0
                count = len(items)
            if not stack:
                return
            key, rel, items, entries, i = stack.pop()

    # -- optional primitives ----------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy content, metadata and etag in one step; the copy gets a new modification time."""
        with self._lock:
            source = self._file(src)
            if src == dst:
                return _result(dst, source)
            record = _File(source.data, source.metadata, etag=source.etag)
            self._check_target(dst, overwrite)
            self._put(dst, record)
        return _result(dst, record)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename in one step, keeping content, metadata, etag and modification time."""
        with self._lock:
            record = self._file(src)
            if src == dst:
                return
            self._check_target(dst, overwrite)
            self._detach(src)
            self._put(dst, record)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        with self._lock:
            if not key:
                raise _err(InvalidPath, "refusing to remove the backend root", key)
            node = self._find(key)
            if node is None:
                raise _err(NotFound, "folder not found", key)
            if type(node) is not _Folder:
                raise _err(InvalidPath, "expected a folder, found a file", key)
            if node.children and not recursive:
                raise _err(
                    DirectoryNotEmpty,
                    "folder is not empty",
                    key,
                    hint="pass recursive=True to delete it with its content",
                )
            self._detach(key)

    def begin_transaction(self) -> MemoryTransaction:
        """Staged records published under the lock: all or nothing, never in between."""
        from storeroom.backends.memory._txn import MemoryTransaction

        return MemoryTransaction(self)

    def ping(self) -> None:
        """Always reachable."""

    def native_path(self, key: str) -> str:
        return f"memory://{key}"

    def describe(self) -> Mapping[str, object]:
        return {}
