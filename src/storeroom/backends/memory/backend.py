"""The ``memory`` backend: a tree of folders and files inside the process.

It is the reference model other backends are compared with, so it is
written to be obviously correct rather than clever: one ``RLock`` guards
the tree; every operation validates first and changes the tree only once
nothing can fail any more, so each operation is all-or-nothing. Writes
read the whole source before taking the lock, which makes every write
atomic. Files are immutable records that are replaced, never changed, so a
reader or listing holding one outside the lock always sees whole content.
Listings read one folder at a time, when the walk enters it.
"""

from __future__ import annotations

import hashlib
import io
import threading
import types
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import BinaryIO, ClassVar

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
from storeroom.path import RemotePath, normalize

__all__ = ["MemoryBackend"]

_NAME = "memory"
_EMPTY: Mapping[str, str] = types.MappingProxyType({})


class _File:
    """One file's content and facts; never modified after creation."""

    __slots__ = ("data", "etag", "metadata", "modified_at")

    def __init__(
        self, data: bytes, metadata: Mapping[str, str], modified_at: datetime | None = None
    ) -> None:
        self.data = data
        self.metadata = metadata
        self.modified_at = modified_at or datetime.now(UTC)
        self.etag = hashlib.md5(data, usedforsecurity=False).hexdigest()


class _Folder:
    """A folder: its children by name."""

    __slots__ = ("children",)

    def __init__(self) -> None:
        self.children: dict[str, _Folder | _File] = {}


#: One folder's children as a listing reads them: (name, node), in entry order.
_Children = list[tuple[str, "_Folder | _File"]]


def _err(
    cls: type[StoreroomError], message: str, key: str, hint: str | None = None
) -> StoreroomError:
    return cls(message, path=key, backend=_NAME, hint=hint)


def _sort_key(item: tuple[str, _Folder | _File]) -> str:
    name, node = item
    return name + "/" if isinstance(node, _Folder) else name


class MemoryBackend(Backend):
    """Files and folders kept in memory; thread-safe; supports user metadata.

    ``MemoryBackend()``. Each instance is its own independent space. Etags
    are the MD5 of the content. Data is lost when the process ends.
    """

    type_name = _NAME
    real_folders = True
    capabilities: frozenset[Capability] = ALL_GATES | frozenset(
        {
            Capability.SEEKABLE_READ,
            Capability.LAZY_READ,
            Capability.ATOMIC_MOVE,
            Capability.USER_METADATA,
        }
    )
    options_class: ClassVar[type[MemoryOptions]] = MemoryOptions

    def __init__(self) -> None:
        #: No options; a pickled memory backend arrives empty in the other process.
        self.options = MemoryOptions()
        self._root = _Folder()
        self._lock = threading.RLock()

    @classmethod
    def from_options(cls, opts: MemoryOptions) -> MemoryBackend:
        """Build the backend from parsed (empty) options."""
        return cls()

    # -- tree helpers (call with the lock held) -------------------------------

    @staticmethod
    def _parts(key: str) -> list[str]:
        """Segments of a normalised key; ``InvalidPath`` for anything else."""
        if normalize(key, backend=_NAME) != key:
            raise _err(InvalidPath, "not a normalised key", key)
        return key.split("/") if key else []

    def _find(self, key: str) -> _Folder | _File | None:
        node: _Folder | _File = self._root
        for part in self._parts(key):
            if not isinstance(node, _Folder):
                return None
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node

    def _file(self, key: str) -> _File:
        node = self._find(key)
        if node is None:
            raise _err(NotFound, "file not found", key)
        if isinstance(node, _Folder):
            raise _err(InvalidPath, "expected a file, found a folder", key)
        return node

    def _check_target(self, key: str, overwrite: bool) -> list[str]:
        """Validate a write to ``key`` without changing anything; returns its segments."""
        parts = self._parts(key)
        if not parts:
            raise _err(InvalidPath, "a file path is required, got the root", key)
        node: _Folder | _File = self._root
        for part in parts[:-1]:
            if not isinstance(node, _Folder):
                break
            child = node.children.get(part)
            if child is None:
                return parts  # the rest is missing: nothing can be in the way
            node = child
        if not isinstance(node, _Folder):
            raise _err(InvalidPath, "a parent of this path is a file", key)
        existing = node.children.get(parts[-1])
        if isinstance(existing, _Folder):
            raise _err(InvalidPath, "a folder exists at this path", key)
        if existing is not None and not overwrite:
            raise _err(
                AlreadyExists, "file already exists", key, hint="pass overwrite=True to replace it"
            )
        return parts

    def _put(self, parts: list[str], record: _File) -> None:
        """Store ``record`` at ``parts``, creating parent folders; checks were done before."""
        node = self._root
        for part in parts[:-1]:
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Folder()
            assert isinstance(child, _Folder)
            node = child
        node.children[parts[-1]] = record

    def _detach(self, key: str) -> None:
        """Remove the entry at ``key`` from its parent folder (which exists)."""
        parent, _, name = key.rpartition("/")
        folder = self._find(parent)
        assert isinstance(folder, _Folder)
        del folder.children[name]

    # -- primitives -----------------------------------------------------------

    def stat(self, key: str) -> Entry:
        """Entry for a file or folder; ``NotFound`` when missing."""
        with self._lock:
            node = self._find(key)
        if node is None:
            raise _err(NotFound, "file or folder not found", key)
        return self._entry(key, key.rpartition("/")[2], node)

    @staticmethod
    def _entry(path: str, name: str, node: _Folder | _File) -> Entry:
        if isinstance(node, _Folder):
            return FolderEntry._fast(path, name)
        return FileInfo._fast(
            path, name, len(node.data), node.modified_at, etag=node.etag, metadata=node.metadata
        )

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._find(key) is not None

    def is_folder(self, key: str) -> bool:
        with self._lock:
            return isinstance(self._find(key), _Folder)

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
        """Read all of ``src``, then check and commit under the lock: always atomic."""
        with self._lock:
            self._check_target(key, overwrite)  # fail early, before reading the source
        data = read_all(src)
        meta = types.MappingProxyType(dict(metadata)) if metadata else _EMPTY
        record = _File(data, meta)
        with self._lock:
            self._put(self._check_target(key, overwrite), record)
        return self._result(key, record)

    @staticmethod
    def _result(key: str, record: _File) -> WriteResult:
        return WriteResult(
            RemotePath._trusted(key),
            len(record.data),
            etag=record.etag,
            last_modified=record.modified_at,
            metadata=dict(record.metadata),
        )

    def delete(self, key: str) -> None:
        with self._lock:
            self._file(key)
            self._detach(key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix`` in entry order, read lazily one folder at a time (MEM-016)."""
        self._parts(prefix)  # a malformed key fails now, not at the first entry (MEM-004)
        rel = rel_key(prefix, base) if prefix else ""
        return self._walk(prefix, rel + "/" if rel else "", recursive)

    def _children(self, key: str) -> _Children | None:
        """Sorted children of folder ``key`` read under the lock; ``None`` if no folder is there."""
        with self._lock:
            node = self._find(key)
            if not isinstance(node, _Folder):
                return None
            return sorted(node.children.items(), key=_sort_key)

    def _walk(self, prefix: str, rel: str, recursive: bool) -> Iterator[Entry]:
        """Depth-first walk holding one folder's sorted children per level.

        Each folder is read when the walk reaches it, so changes show in folders
        not reached yet and never disturb the iteration; a subfolder gone (or
        replaced by a file) by then is not yielded.
        """
        first = self._children(prefix)
        if first is None:
            return
        stack = [(prefix, rel, iter(first))]
        while stack:
            key, rel, items = stack[-1]
            for name, node in items:
                if not (recursive and isinstance(node, _Folder)):
                    yield self._entry(rel + name, name, node)
                    continue
                sub = f"{key}/{name}" if key else name
                children = self._children(sub)
                if children is not None:
                    yield self._entry(rel + name, name, node)
                    stack.append((sub, f"{rel}{name}/", iter(children)))
                    break
            else:
                stack.pop()

    # -- optional primitives ----------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy content and metadata in one step; the copy gets a new modification time."""
        with self._lock:
            source = self._file(src)
            if src == dst:
                return self._result(dst, source)
            record = _File(source.data, source.metadata)
            self._put(self._check_target(dst, overwrite), record)
        return self._result(dst, record)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename in one step, keeping content, metadata and modification time."""
        with self._lock:
            record = self._file(src)
            if src == dst:
                return
            parts = self._check_target(dst, overwrite)
            self._detach(src)
            self._put(parts, record)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        with self._lock:
            if not key:
                raise _err(InvalidPath, "refusing to remove the backend root", key)
            node = self._find(key)
            if node is None:
                raise _err(NotFound, "folder not found", key)
            if not isinstance(node, _Folder):
                raise _err(InvalidPath, "expected a folder, found a file", key)
            if node.children and not recursive:
                raise _err(
                    DirectoryNotEmpty,
                    "folder is not empty",
                    key,
                    hint="pass recursive=True to delete it with its content",
                )
            self._detach(key)

    def ping(self) -> None:
        """Always reachable."""

    def native_path(self, key: str) -> str:
        return f"memory://{key}"

    def describe(self) -> Mapping[str, object]:
        return {}
