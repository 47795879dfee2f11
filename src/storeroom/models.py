"""Immutable result models: file and folder entries, write results, digests.

All are frozen dataclasses, equal by value and hashed by ``path``. Paths in
models handed to users are store-relative ``RemotePath`` values.
Backends build many of these while listing, so each hot model has a
``_fast`` constructor that skips the frozen ``__init__`` (same result, about
a fraction of the cost).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from storeroom.path import RemotePath

__all__ = [
    "ContentDigest",
    "FileInfo",
    "FolderEntry",
    "FolderInfo",
    "PathEntry",
    "ResolutionPlan",
    "WriteResult",
]

_HEX = re.compile(r"[0-9a-f]+")
_new = object.__new__
_str_new = str.__new__  # RemotePath._trusted without the method call
#: The ``extra`` of entries built by ``_fast``: shared, so read-only.
_NO_EXTRA: Mapping[str, object] = MappingProxyType({})
#: Where a ``WriteResult``'s optional fields came from (remote-store's values).
WriteSource = Literal["native", "basic", "sidecar"]


@dataclasses.dataclass(frozen=True)
class ContentDigest:
    """A content hash: lower-case ``algorithm`` name and lower-case hex ``value``."""

    algorithm: str
    value: str

    def __post_init__(self) -> None:
        algorithm = self.algorithm.strip().lower()
        value = self.value.strip().lower()
        if not algorithm:
            raise ValueError("ContentDigest.algorithm must not be empty")
        if not value:
            raise ValueError("ContentDigest.value must not be empty: pass the hex digest")
        if not _HEX.fullmatch(value):
            raise ValueError(f"ContentDigest.value must be hexadecimal, got {self.value!r}")
        object.__setattr__(self, "algorithm", algorithm)
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """A file: its path, name, size in bytes and modification time (UTC).

    ``extra`` holds backend-specific facts (empty unless a backend fills it).
    """

    path: RemotePath
    name: str
    size: int
    modified_at: datetime | None
    etag: str | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] | None = None
    digest: ContentDigest | None = None
    extra: Mapping[str, object] = dataclasses.field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.path)

    @classmethod
    def _fast(
        cls,
        path: str,
        name: str,
        size: int,
        modified_at: datetime | None,
        etag: str | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        digest: ContentDigest | None = None,
    ) -> FileInfo:
        obj: FileInfo = _new(cls)
        # A new instance's __dict__ shares the class's keys: filling it in field
        # order is cheaper than building and assigning a separate dict.
        d = obj.__dict__
        d["path"] = _str_new(RemotePath, path)
        d["name"] = name
        d["size"] = size
        d["modified_at"] = modified_at
        d["etag"] = etag
        d["content_type"] = content_type
        d["metadata"] = metadata
        d["digest"] = digest
        d["extra"] = _NO_EXTRA
        return obj

    def _rebase(self, path: str) -> FileInfo:
        """Same entry under another (already-normalised) path."""
        obj: FileInfo = _new(FileInfo)
        obj.__dict__.update(self.__dict__)
        obj.__dict__["path"] = RemotePath._trusted(path)
        return obj


@dataclasses.dataclass(frozen=True)
class FolderEntry:
    """A folder seen in a listing."""

    path: RemotePath
    name: str

    def __hash__(self) -> int:
        return hash(self.path)

    @classmethod
    def _fast(cls, path: str, name: str) -> FolderEntry:
        obj: FolderEntry = _new(cls)
        obj.__dict__.update(path=RemotePath._trusted(path), name=name)
        return obj

    def _rebase(self, path: str) -> FolderEntry:
        return FolderEntry._fast(path, self.name)


@dataclasses.dataclass(frozen=True)
class FolderInfo:
    """Aggregate facts about a folder's files (recursive up to ``max_depth``)."""

    path: RemotePath
    file_count: int
    total_size: int
    modified_at: datetime | None = None
    extra: Mapping[str, object] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        """The folder's name: the last part of ``path`` ("" for the root)."""
        return self.path.name

    def __hash__(self) -> int:
        return hash(self.path)


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """What a write produced. Optional fields are filled when the backend knows them.

    ``source`` says where they came from: ``"native"`` (the backend's write
    response), ``"basic"`` (only ``path`` and ``size`` are known) or ``"sidecar"``
    (``Store.head``); left out, it is derived from the fields given. ``metadata``
    is ``None`` when the write stored none.
    """

    path: RemotePath
    size: int
    etag: str | None = None
    version_id: str | None = None
    last_modified: datetime | None = None
    digest: ContentDigest | None = None
    metadata: Mapping[str, str] | None = None
    source: WriteSource = None  # type: ignore[assignment]  # derived in __post_init__

    def __post_init__(self) -> None:
        if self.metadata is not None and not self.metadata:
            object.__setattr__(self, "metadata", None)
        if self.source is None:
            native = self.etag or self.version_id or self.last_modified
            object.__setattr__(self, "source", "native" if native else "basic")
        elif self.source not in ("native", "basic", "sidecar"):
            raise ValueError(
                f"WriteResult.source must be 'native', 'basic' or 'sidecar', got {self.source!r}"
            )

    def __hash__(self) -> int:
        return hash(self.path)

    @classmethod
    def _fast(
        cls,
        path: str,
        size: int,
        etag: str | None,
        last_modified: datetime | None,
        metadata: Mapping[str, str],
    ) -> WriteResult:
        obj: WriteResult = _new(cls)
        d = obj.__dict__
        d["path"] = _str_new(RemotePath, path)
        d["size"] = size
        d["etag"] = etag
        d["version_id"] = None
        d["last_modified"] = last_modified
        d["digest"] = None
        d["metadata"] = metadata or None  # as __post_init__: nothing stored is None
        d["source"] = "native" if etag is not None or last_modified is not None else "basic"
        return obj

    def _rebase(self, path: str) -> WriteResult:
        """Same result under another (already-normalised) path."""
        obj: WriteResult = _new(type(self))
        d = obj.__dict__
        d.update(self.__dict__)
        d["path"] = _str_new(RemotePath, path)
        return obj


@dataclasses.dataclass(frozen=True, init=False)
class ResolutionPlan:
    """How a store path maps onto the backend: for debugging and tooling.

    Built with storeroom's names or remote-store's (``kind``, ``backend``, ``key``,
    ``details``; COMPAT-300); both sets read back. ``options`` is read-only.
    """

    backend_type: str
    store_path: RemotePath
    native_path: str
    options: Mapping[str, Any]
    backend: str

    def __init__(
        self,
        backend_type: str | None = None,
        store_path: str | None = None,
        native_path: str = "",
        options: Mapping[str, Any] | None = None,
        *,
        backend: str | None = None,
        kind: str | None = None,
        key: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        given: list[tuple[str, object, str, object]] = [
            ("backend_type", backend_type, "kind", kind),
            ("store_path", store_path, "key", key),
            ("options", options, "details", details),
        ]
        for ours, a, theirs, b in given:
            if a is not None and b is not None:
                raise TypeError(f"ResolutionPlan takes {ours}= or {theirs}=, not both")
        kind_ = backend_type if backend_type is not None else kind
        if kind_ is None:
            raise TypeError("ResolutionPlan needs backend_type= (remote-store: kind=)")
        path = store_path if store_path is not None else key
        opts = options if options is not None else details
        setattr_ = object.__setattr__
        setattr_(self, "backend_type", kind_)
        setattr_(self, "store_path", RemotePath(path or ""))
        setattr_(self, "native_path", native_path)
        setattr_(self, "options", MappingProxyType(dict(opts or {})))
        setattr_(self, "backend", kind_ if backend is None else backend)

    @property
    def kind(self) -> str:
        """remote-store's name for ``backend_type``."""
        return self.backend_type

    @property
    def key(self) -> RemotePath:
        """remote-store's name for ``store_path``."""
        return self.store_path

    @property
    def details(self) -> Mapping[str, Any]:
        """remote-store's name for ``options`` (read-only)."""
        return self.options


@typing.runtime_checkable
class PathEntry(typing.Protocol):
    """What every listing entry has, file or folder: ``name`` and ``path`` (remote-store's name)."""

    @property
    def name(self) -> str: ...

    @property
    def path(self) -> RemotePath: ...
