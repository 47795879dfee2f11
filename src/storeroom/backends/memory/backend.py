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

Roles, each working on one ``MemoryCore`` (``_core``: the tree, its index, the
lock, the options): ``_read`` (entries, streams), ``_write`` (If-Match writes,
copies), ``_list`` (the walk), ``_delete`` (deletes, moves, folder removal),
``_txn`` (transactions). This class routes; ``write``, ``exists``,
``is_folder`` and ``stat`` are written out here on the core so the hottest
calls get no extra layer (MEM-030).
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from storeroom.backend import Backend, Entry, Source, read_all, rel_key
from storeroom.backends.memory import _delete, _read, _write
from storeroom.backends.memory._core import EMPTY, NAME, File, Folder, MemoryCore, err
from storeroom.backends.memory._list import walk
from storeroom.backends.memory._read import entry
from storeroom.backends.memory._write import result
from storeroom.backends.memory.config import MemoryOptions
from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import NotFound
from storeroom.models import WriteResult

if TYPE_CHECKING:
    from storeroom.backends.memory._txn import MemoryTransaction

__all__ = ["MemoryBackend"]


class MemoryBackend(Backend):
    """Files and folders kept in memory; thread-safe; supports user metadata.

    ``MemoryBackend()``. Each instance is its own independent space. Etags
    are opaque and change with every write (MEM-013). Data is lost when the
    process ends.
    """

    type_name = NAME
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
        self._core = MemoryCore(opts)

    # -- primitives (the hot ones written out on the core) ---------------------

    def stat(self, key: str) -> Entry:
        """Entry for a file or folder; ``NotFound`` when missing."""
        core = self._core
        with core.lock:
            node = core.find(key)
        if node is None:
            raise err(NotFound, "file or folder not found", key)
        return entry(key, key.rpartition("/")[2], node)

    def exists(self, key: str) -> bool:
        core = self._core
        with core.lock:
            return core.find(key) is not None

    def is_folder(self, key: str) -> bool:
        core = self._core
        with core.lock:
            return type(core.find(key)) is Folder

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """A stream over a snapshot of the content (later writes do not affect it)."""
        return _read.open_read(self._core, key, start, end)

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
        core = self._core
        if type(src) is bytes:
            data = src
        else:
            with core.lock:
                core.check_target(key, overwrite)  # fail early, before reading the source
            data = read_all(src)
        record = File(data, types.MappingProxyType(dict(metadata)) if metadata else EMPTY)
        with core.lock:
            core.check_target(key, overwrite)
            core.put(key, record)
        return result(key, record)

    def delete(self, key: str) -> None:
        _delete.delete(self._core, key)

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
        return _write.write_if_match(self._core, key, src, etag, metadata)

    def delete_if_match(self, key: str, etag: str) -> None:
        _delete.delete_if_match(self._core, key, etag)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under ``prefix`` in entry order, read lazily one folder at a time (MEM-016)."""
        core = self._core
        core.find(prefix)  # a malformed key fails now, not at the first entry (MEM-004)
        rel = rel_key(prefix, base) if prefix else ""
        return walk(core, prefix, rel + "/" if rel else "", recursive)

    # -- optional primitives ----------------------------------------------------

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy content, metadata and etag in one step; the copy gets a new modification time."""
        return _write.copy(self._core, src, dst, overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Rename in one step, keeping content, metadata, etag and modification time."""
        _delete.move(self._core, src, dst, overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        _delete.remove_folder(self._core, key, recursive)

    def begin_transaction(self) -> MemoryTransaction:
        """Staged records published under the lock: all or nothing, never in between."""
        from storeroom.backends.memory._txn import MemoryTransaction

        return MemoryTransaction(self, self._core)

    def ping(self) -> None:
        """Always reachable."""

    def native_path(self, key: str) -> str:
        return f"memory://{key}"

    def describe(self) -> Mapping[str, object]:
        return {}
