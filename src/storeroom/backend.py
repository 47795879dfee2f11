"""The backend contract: a few primitives every backend implements.

A backend works on *keys*: normalised paths relative to the backend's own
root ("" is that root). The ``storeroom.store.Store`` validates and
scopes user paths, checks capabilities, and derives the wide user API from
these primitives (spec BACKEND-*).

Required primitives: ``stat``, ``open_read``, ``write``, ``delete``, ``list``.
Optional ones have generic implementations here, built only on the required
ones, so a backend overrides them when it can do better (server-side copy,
atomic rename, a cheaper existence check). Layers subclass
``Forwarding``, which forwards every primitive to an inner backend.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar, runtime_checkable

from storeroom.capabilities import Capability, CapabilitySet
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult

if TYPE_CHECKING:
    from storeroom._txn_core import BackendTransaction

__all__ = [
    "Backend",
    "BackendProtocol",
    "Entry",
    "Forwarding",
    "Source",
    "builds_from_options",
    "derive_folders",
    "rel_key",
]

Entry = FileInfo | FolderEntry
#: What ``write`` accepts: whole content, or a readable binary stream.
Source = bytes | BinaryIO
B = TypeVar("B", bound="Backend")
T = TypeVar("T")

COPY_CHUNK = 1024 * 1024


def rel_key(key: str, base: str) -> str:
    """``key`` relative to ``base`` (both normalised; ``key`` is inside ``base``)."""
    return key[len(base) + 1 :] if base else key


def entry_sort_key(entry: Entry) -> str:
    """Listing order: by path, a folder sorting as ``path + "/"`` (depth-first order)."""
    return entry.path + "/" if isinstance(entry, FolderEntry) else entry.path


class Backend(abc.ABC):
    """Base class of every backend and layer.

    Subclasses set ``type_name`` (the config ``type``) and ``capabilities``
    and implement the five required primitives. All keys passed in are
    already normalised by the Store and never escape the backend root.
    """

    #: The config ``type`` of this backend ("local", "s3", ...).
    type_name: str = "backend"
    #: True when folders exist on their own (empty folders survive).
    real_folders: bool = False
    capabilities: frozenset[Capability] = frozenset()
    #: True when ``delete_many`` is the backend's own bulk request (not the generic loop).
    native_delete_many: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Class-level ``capabilities`` become a ``CapabilitySet`` (COMPAT-302)."""
        super().__init_subclass__(**kwargs)
        caps = cls.__dict__.get("capabilities")
        if isinstance(caps, frozenset) and not isinstance(caps, CapabilitySet):
            cls.capabilities = CapabilitySet(caps)

    @property
    def name(self) -> str:
        """The backend's name: its config ``type`` (remote-store's ``Backend.name``, COMPAT-302)."""
        return self.type_name

    # -- required primitives -------------------------------------------------

    @abc.abstractmethod
    def stat(self, key: str) -> Entry:
        """Entry for ``key``: a file, or a folder where real folders exist; else ``NotFound``."""

    @abc.abstractmethod
    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """Forward-only binary stream over bytes ``[start, end)`` of a file.

        ``NotFound`` if missing, ``InvalidPath`` if ``key`` is a folder. Offsets
        past the end give a shorter (possibly empty) stream.
        """

    @abc.abstractmethod
    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Write a whole file from ``src``, creating parent folders.

        Without ``overwrite`` an existing file raises ``AlreadyExists`` and is left
        untouched; the check must be atomic (no check-then-write race). A parent
        that is a file, or ``key`` being a folder, raises ``InvalidPath``. With
        ``atomic=True`` (only asked of ATOMIC_WRITE backends) readers see either
        the old or the complete new content, never a partial file. The result's
        path is ``key``.
        """

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete one file: ``NotFound`` if missing, ``InvalidPath`` if a folder."""

    @abc.abstractmethod
    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """Entries under folder ``prefix`` in ``entry_sort_key`` order.

        Non-recursive: immediate files and folders. Recursive: every file and
        every folder below (flat backends derive folders, see
        ``derive_folders``). A missing prefix or a file yields nothing.
        Yielded paths are relative to ``base`` (a folder containing ``prefix``).
        Must stream: memory may not grow with the number of entries.
        """

    # -- optional primitives (generic versions built on the required ones) ---

    def exists(self, key: str) -> bool:
        """True for an existing file or folder."""
        try:
            self.stat(key)
            return True
        except NotFound:
            return self.is_folder(key)

    def discard(self, key: str) -> None:
        """Delete the file at ``key`` if there is one (``delete(missing_ok=True)``).

        Backends whose delete pays an extra request to report a miss override
        this to skip it.
        """
        try:
            self.delete(key)
        except NotFound:
            pass

    def is_folder(self, key: str) -> bool:
        """True when ``key`` is a folder (for flat backends: a non-empty prefix)."""
        if not key:
            return True
        try:
            return isinstance(self.stat(key), FolderEntry)
        except NotFound:
            if self.real_folders:
                return False
            return next(iter(self.list(key)), None) is not None

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        """Copy one file. Generic version streams ``src`` into a write of ``dst``."""
        self._check_file(src)
        with self.open_read(src) as stream:
            return self.write(dst, stream, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        """Move one file. Generic version is copy + delete: NOT atomic."""
        self.copy(src, dst, overwrite=overwrite)
        self.delete(src)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """Delete many files; ``key -> None`` (deleted) or the error ``delete(key)`` raises.

        Never stops at a failing key and raises only for what is not about a
        key. Duplicate keys are deleted once. The generic version loops over
        ``delete``; a backend with a bulk request overrides it and sets
        ``native_delete_many`` (spec BACKEND-016).
        """
        results: dict[str, StoreroomError | None] = {}
        for key in keys:
            if key in results:
                continue
            try:
                self.delete(key)
            except StoreroomError as exc:
                results[key] = exc
            else:
                results[key] = None
        return results

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        """Remove folder ``key``; generic version deletes the files under it.

        ``NotFound`` if missing; ``DirectoryNotEmpty`` when it has content and
        ``recursive`` is false.
        """
        entries = self.list(key, recursive=True)
        first = next(iter(entries), None)
        if first is None:
            if not self.is_folder(key):
                raise NotFound("folder not found", path=key)
            return
        if not recursive:
            raise DirectoryNotEmpty(
                "folder is not empty",
                path=key,
                hint="pass recursive=True to delete it with its content",
            )
        # Collect first: deleting while a listing is open is unsafe on many
        # backends. Only keys are kept, not full entries.
        files = [e.path for e in self.list(key, recursive=True) if isinstance(e, FileInfo)]
        if self.native_delete_many:
            for err in self.delete_many(files).values():
                if err is not None and not isinstance(err, NotFound):
                    raise err
            return
        for k in files:
            try:
                self.delete(k)
            except NotFound:
                pass

    def ping(self) -> None:
        """Check the backend answers; raises ``BackendUnavailable`` when it does not."""
        next(iter(self.list("")), None)

    def native_path(self, key: str) -> str:
        """The backend's own name for ``key`` (a filesystem path, URL, ...)."""
        return key

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """A URL granting ``method`` ("GET"/"PUT") on file ``key`` for ``expires`` seconds.

        Only SIGNED_URL backends implement it (spec SIGN-*); the arguments come
        validated from ``Store.url``. This default refuses.
        """
        raise unsupported(Capability.SIGNED_URL, self.type_name, "signed_url").with_context(
            path=key
        )

    def begin_transaction(self) -> BackendTransaction:
        """A new transaction on this backend (TRANSACTION backends only, spec TXN-*)."""
        raise unsupported(Capability.TRANSACTION, self.type_name, "transaction")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the backend may be used again and reconnects lazily."""

    # -- conditional writes (CONDITIONAL_WRITE, spec COND-*) --------------------

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Replace file ``key`` only while its etag is ``etag``, in one atomic step.

        A different etag or a missing file raises ``PreconditionFailed`` and
        changes nothing. Only CONDITIONAL_WRITE backends implement it.
        """
        raise unsupported(Capability.CONDITIONAL_WRITE, self.type_name, "write")

    def delete_if_match(self, key: str, etag: str) -> None:
        """Delete file ``key`` only while its etag is ``etag`` (else ``PreconditionFailed``)."""
        raise unsupported(Capability.CONDITIONAL_WRITE, self.type_name, "delete")

    # -- remote-store's backend methods, thin over the primitives ---------------

    def check_health(self) -> None:
        """remote-store's name for ``ping``: raises when the backend cannot be reached."""
        self.ping()

    def list_files(
        self, path: str, *, recursive: bool = False, max_depth: int | None = None
    ) -> Iterator[FileInfo]:
        """Files under folder ``path`` from ``list``; ``max_depth`` bounds a recursive listing."""
        from storeroom._store_support import check_depth, filter_files  # (imports this module)

        check_depth(max_depth)
        depth = max_depth if recursive else None
        base_depth = path.count("/") + 1 if path else 0
        return filter_files(self.list(path, recursive=recursive), depth, base_depth, None)

    def unwrap(self, type_hint: type[T]) -> T:
        """The backend's own SDK object of type ``type_hint`` (an s3fs file system, ...)."""
        for handle in self._native_handles():
            if isinstance(handle, type_hint):
                return handle
        raise CapabilityNotSupported(
            f"the {self.type_name} backend has no native object of type {type_hint.__name__}",
            capability="unwrap",
            backend=self.type_name,
            operation="unwrap",
            hint="see the backend's page for the SDK objects unwrap() returns",
        )

    def _native_handles(self) -> Iterator[object]:
        """The SDK objects ``unwrap`` may return, cheapest first (none by default)."""
        return iter(())

    # -- helpers for subclasses ----------------------------------------------

    def describe(self) -> Mapping[str, object]:
        """Non-secret facts for ``resolve()`` and ``repr`` (e.g. root, bucket)."""
        return {}

    def _check_file(self, key: str) -> FileInfo:
        info = self.stat(key)
        if not isinstance(info, FileInfo):
            raise InvalidPath("expected a file, found a folder", path=key)
        return info

    def __repr__(self) -> str:
        desc = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"{type(self).__name__}({desc})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Backends pickle as configuration and reconnect lazily where unpickled.
        options = getattr(self, "options", None)
        rebuild = getattr(type(self), "from_options", None)
        if options is None or rebuild is None:
            raise TypeError(
                f"{type(self).__name__} cannot be pickled: it keeps no 'options' to rebuild from"
            )
        return (rebuild, (options,))

    def __enter__(self: B) -> B:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- construction: one path for every backend (spec BACKEND-034..036) ---------

    @classmethod
    def from_options(cls: type[B], options: Any) -> B:
        """Build from parsed options without calling ``__init__``; nothing connects yet.

        The keyword ``__init__`` of a backend builds the same options and calls
        ``_setup`` too, so both paths make equal backends (and pickling uses this one).
        """
        backend = cls.__new__(cls)
        backend._setup(options)
        return backend

    def _setup(self, options: Any) -> None:
        """Set the backend up from its parsed options (kept as ``self.options``)."""
        raise TypeError(
            f"{type(self).__name__} cannot be built from options: it defines no _setup(options)"
        )


def builds_from_options(factory: object) -> bool:
    """True when ``factory`` has a working ``from_options`` (its own, or the base's over a
    ``_setup`` of its own); a plain ``Backend`` subclass is built with its constructor."""
    if not hasattr(factory, "from_options"):
        return False
    if isinstance(factory, type) and issubclass(factory, Backend):
        own = factory.from_options.__func__ is not Backend.from_options.__func__  # type: ignore[attr-defined]
        return own or factory._setup is not Backend._setup
    return True


@runtime_checkable
class BackendProtocol(Protocol):
    """Structural twin of ``Backend``, checked by mypy for every backend."""

    type_name: str
    real_folders: bool
    capabilities: frozenset[Capability]
    native_delete_many: bool

    def stat(self, key: str) -> Entry: ...
    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO: ...
    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult: ...
    def delete(self, key: str) -> None: ...
    def discard(self, key: str) -> None: ...
    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]: ...
    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]: ...
    def exists(self, key: str) -> bool: ...
    def is_folder(self, key: str) -> bool: ...
    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult: ...
    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None: ...
    def remove_folder(self, key: str, *, recursive: bool = False) -> None: ...
    def ping(self) -> None: ...
    def native_path(self, key: str) -> str: ...
    def signed_url(self, key: str, expires: int, method: str) -> str: ...
    def close(self) -> None: ...


class Forwarding(Backend):
    """A layer: forwards every primitive to ``inner``; override only what changes.

    ``capabilities`` defaults to the inner backend's; a layer may narrow them,
    and may only widen them when it really implements the addition.
    """

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.type_name = inner.type_name
        self.real_folders = inner.real_folders
        self.capabilities = inner.capabilities
        self.native_delete_many = inner.native_delete_many

    def stat(self, key: str) -> Entry:
        return self.inner.stat(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        return self.inner.open_read(key, start, end)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        return self.inner.write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def discard(self, key: str) -> None:
        """The inner ``discard`` when this layer keeps ``delete`` as is; else through ``delete``."""
        if type(self).delete is Forwarding.delete:
            self.inner.discard(key)
        else:
            Backend.discard(self, key)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """The inner bulk delete when it is native; else the loop over this layer's ``delete``.

        So without a native bulk request every layer sees each delete on its own.
        """
        if self.native_delete_many:
            return self.inner.delete_many(keys)
        return Backend.delete_many(self, keys)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        return self.inner.list(prefix, recursive=recursive, base=base)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        return self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)

    def delete_if_match(self, key: str, etag: str) -> None:
        self.inner.delete_if_match(key, etag)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def is_folder(self, key: str) -> bool:
        return self.inner.is_folder(key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        return self.inner.copy(src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self.inner.move(src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self.inner.remove_folder(key, recursive=recursive)

    def ping(self) -> None:
        self.inner.ping()

    def native_path(self, key: str) -> str:
        return self.inner.native_path(key)

    def signed_url(self, key: str, expires: int, method: str) -> str:
        return self.inner.signed_url(key, expires, method)

    def describe(self) -> Mapping[str, object]:
        return self.inner.describe()

    def begin_transaction(self) -> BackendTransaction:
        return self.inner.begin_transaction()

    def _native_handles(self) -> Iterator[object]:
        return self.inner._native_handles()

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def derive_folders(files: Iterable[FileInfo], prefix: str) -> Iterator[Entry]:
    """Interleave implied folder entries into a sorted recursive file listing.

    For flat backends (object stores): given files sorted by path, all under
    ``prefix`` (paths as yielded, i.e. already relative to the listing base),
    yield each folder once, just before its first file, in
    ``entry_sort_key`` order.
    """
    open_dirs: list[str] = []  # stack of folders already yielded on the current branch
    skip = len(prefix) + 1 if prefix else 0
    for info in files:
        path = info.path
        parts = path[skip:].split("/")[:-1]
        # Pop folders that are not ancestors of this file.
        depth = 0
        while depth < len(open_dirs) and depth < len(parts) and open_dirs[depth] == parts[depth]:
            depth += 1
        del open_dirs[depth:]
        for seg in parts[depth:]:
            open_dirs.append(seg)
            rel = "/".join(open_dirs)
            full = f"{prefix}/{rel}" if prefix else rel
            yield FolderEntry._fast(full, seg)
        yield info


def check_overwrite(exists: bool, key: str, overwrite: bool) -> None:
    """Raise ``AlreadyExists`` for a create-only write onto an existing file."""
    if exists and not overwrite:
        raise AlreadyExists(
            "file already exists",
            path=key,
            hint="pass overwrite=True to replace it",
        )


def iter_source(src: Source, chunk: int = COPY_CHUNK) -> Iterator[bytes]:
    """Yield ``src`` as byte chunks (a bytes object is yielded whole)."""
    if isinstance(src, bytes | bytearray | memoryview):
        yield bytes(src)
        return
    read = src.read
    while True:
        block = read(chunk)
        if not block:
            return
        yield block


def read_all(src: Source) -> bytes:
    """Whole content of ``src`` as bytes."""
    if isinstance(src, bytes):
        return src
    if isinstance(src, bytearray | memoryview):
        return bytes(src)
    buf = io.BytesIO()
    for block in iter_source(src):
        buf.write(block)
    return buf.getvalue()


def unsupported(cap: Capability, backend: str, operation: str) -> CapabilityNotSupported:
    """The standard error for a gated call on a backend without ``cap``."""
    return CapabilityNotSupported(
        f"the {backend!r} backend does not support {cap.value}",
        capability=cap.value,
        backend=backend,
        operation=operation,
        hint=f"check store.supports(Capability.{cap.name}) first, or use a backend that has it",
    )
