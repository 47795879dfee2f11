"""The small core every role of the ``memory`` backend shares: the tree, its index, the lock.

The readers, writers, listers, deleters and the transaction (``_read``,
``_write``, ``_list``, ``_delete``, ``_txn``) work on one ``MemoryCore``, never on
``MemoryBackend``'s members. Its tree helpers are called with ``lock`` held.
"""

from __future__ import annotations

import itertools
import os
import threading
import types
from collections.abc import Mapping
from datetime import UTC, datetime

from storeroom._cond import precondition_failed
from storeroom.backend import Entry
from storeroom.backends.memory.config import MemoryOptions
from storeroom.errors import AlreadyExists, InvalidPath, NotFound, StoreroomError
from storeroom.path import normalize

__all__ = ["EMPTY", "NAME", "File", "Folder", "MemoryCore", "err"]

NAME = "memory"
#: The metadata of a file written without any.
EMPTY: Mapping[str, str] = types.MappingProxyType({})
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


class File:
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


class Folder:
    """A folder: its children by name; their entry order and last listing until they change."""

    __slots__ = ("children", "order", "view")

    def __init__(self) -> None:
        self.children: dict[str, Folder | File] = {}
        #: ``children`` sorted in entry order, as ``(name, node)`` (rebuilt when listed
        #: after a change); never modified, so a walk may hold it outside the lock.
        self.order: list[tuple[str, Folder | File]] | None = None
        #: The entries of ``order`` as last listed, with the relative path they were
        #: listed under: a listing of an unchanged folder hands out the same entries.
        self.view: tuple[str, list[Entry]] | None = None

    def changed(self) -> None:
        """Forget the order and the listing (call with the lock held, on any change)."""
        self.order = self.view = None


def err(
    cls: type[StoreroomError], message: str, key: str, hint: str | None = None
) -> StoreroomError:
    """A storeroom error of the ``memory`` backend for ``key`` (MEM-014)."""
    return cls(message, path=key, backend=NAME, hint=hint)


class MemoryCore:
    """One backend's tree, its index and lock, and the options; helpers run with ``lock`` held."""

    __slots__ = ("index", "lock", "options", "root")

    def __init__(self, options: MemoryOptions) -> None:
        self.options = options
        self.root = Folder()
        #: Every node by its key ("" is the root): lookups never walk the tree (MEM-017).
        self.index: dict[str, Folder | File] = {"": self.root}
        self.lock = threading.Lock()  # never taken twice: no helper takes it under it

    @staticmethod
    def check_key(key: str) -> None:
        """``InvalidPath`` unless ``key`` is a normalised key (MEM-004)."""
        if normalize(key, backend=NAME) != key:
            raise err(InvalidPath, "not a normalised key", key)

    def find(self, key: str) -> Folder | File | None:
        """The node at ``key`` or ``None``; a malformed key is ``InvalidPath``."""
        try:
            node = self.index.get(key)
        except TypeError:  # unhashable: not a key at all
            node = None
        if node is None:
            self.check_key(key)  # only normalised keys are ever indexed
        return node

    def file(self, key: str) -> File:
        """The file at ``key``: ``NotFound`` when missing, ``InvalidPath`` for a folder."""
        node = self.find(key)
        if node is None:
            raise err(NotFound, "file not found", key)
        if type(node) is Folder:
            raise err(InvalidPath, "expected a file, found a folder", key)
        return node  # type: ignore[return-value]

    def check_target(self, key: str, overwrite: bool) -> None:
        """Validate a write to ``key`` without changing anything."""
        if not key:
            self.check_key(key)
            raise err(InvalidPath, "a file path is required, got the root", key)
        existing = self.find(key)
        if existing is None:
            index = self.index
            parent = key.rpartition("/")[0]
            node = index.get(parent)
            while node is None:  # the nearest existing ancestor ("" always exists)
                parent = parent.rpartition("/")[0]
                node = index.get(parent)
            if type(node) is not Folder:
                raise err(InvalidPath, "a parent of this path is a file", key)
            return
        if type(existing) is Folder:
            raise err(InvalidPath, "a folder exists at this path", key)
        if not overwrite:
            raise err(
                AlreadyExists, "file already exists", key, hint="pass overwrite=True to replace it"
            )

    def match(self, key: str, etag: str, op: str) -> None:
        """``PreconditionFailed`` unless the file at ``key`` has ``etag`` (COND-040)."""
        node = self.find(key)
        if type(node) is Folder:
            raise err(InvalidPath, "expected a file, found a folder", key)
        found = node.etag if type(node) is File else None
        if found != etag:
            raise precondition_failed(key, NAME, etag, found, op)

    def folder_at(self, key: str) -> Folder:
        """The folder at ``key``, created with its missing parents; checks were done before."""
        node = self.index.get(key)
        if node is None:
            parent, _, name = key.rpartition("/")
            up = self.folder_at(parent)
            node = up.children[name] = Folder()
            up.changed()
            self.index[key] = node
        assert type(node) is Folder
        return node

    def put(self, key: str, record: File) -> None:
        """Store ``record`` at ``key``, creating parent folders; checks were done before."""
        parent, _, name = key.rpartition("/")
        folder = self.index.get(parent)
        if type(folder) is not Folder:
            folder = self.folder_at(parent)
        folder.children[name] = record
        folder.order = folder.view = None  # the cached order holds the nodes: a replaced file too
        self.index[key] = record

    def detach(self, key: str) -> None:
        """Remove the entry at ``key`` (and all below it) from the tree and the index."""
        parent, _, name = key.rpartition("/")
        folder = self.index[parent]
        assert type(folder) is Folder
        del folder.children[name]
        folder.changed()
        node = self.index.pop(key)
        if type(node) is Folder:
            stack = [(key, node)]
            while stack:
                at, sub = stack.pop()
                for child_name, child in sub.children.items():
                    child_key = f"{at}/{child_name}"
                    del self.index[child_key]
                    if type(child) is Folder:
                        stack.append((child_key, child))
