"""``StoreroomFileSystem``: storeroom stores as an fsspec filesystem (``storeroom://``).

Two shapes (spec FSSPEC-001..006): built from a registry config, a path's
first segment is a store name (``storeroom://reports/2026/q1.csv`` is file
``2026/q1.csv`` of store ``reports``); built with ``store=``, every path is a
path of that one store. Every failure is a ``storeroom.errors`` exception.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import posixpath
import uuid
from pathlib import Path
from typing import Any

from fsspec.spec import AbstractFileSystem  # type: ignore[import-untyped]

from storeroom.capabilities import Capability
from storeroom.config.model import RegistryConfig
from storeroom.errors import AlreadyExists, InvalidArgument, InvalidPath, NotFound
from storeroom.ext.fsspec import _targets
from storeroom.ext.fsspec._file import StoreroomFile
from storeroom.models import FileInfo
from storeroom.path import normalize
from storeroom.registry import Registry
from storeroom.store import Store

__all__ = ["StoreroomFileSystem"]

Entry = dict[str, Any]
#: fsspec's own constructor options, accepted (and handled by fsspec) as for any filesystem.
_GENERIC_OPTIONS = frozenset(
    {"use_listings_cache", "listings_expiry_time", "max_paths", "asynchronous", "loop"}
)
#: Read block size: one ranged request per 4 MiB, like common object-store clients.
DEFAULT_BLOCK_SIZE = 4 * 2**20


def _file_entry(name: str, info: FileInfo) -> Entry:
    mtime = info.modified_at.timestamp() if info.modified_at is not None else None
    return {"name": name, "size": info.size, "type": "file", "mtime": mtime, "etag": info.etag}


def _dir_entry(name: str) -> Entry:
    return {"name": name, "size": 0, "type": "directory", "mtime": None, "etag": None}


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}/{rel}" if prefix and rel else str(prefix or rel)  # never a RemotePath


class StoreroomFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """fsspec filesystem over storeroom stores; see the module docstring for path shapes.

    ``config`` is a config file path or a ``RegistryConfig`` (default:
    ``$STOREROOM_CONFIG``, else ``./storeroom.toml``); ``store`` wraps one Store.
    Instances are not cached by fsspec (``cachable = False``): the config is
    re-read on each construction, and equal configs share one Registry.
    """

    protocol = "storeroom"
    root_marker = ""
    cachable = False

    def __init__(
        self,
        config: str | os.PathLike[str] | RegistryConfig | None = None,
        *,
        store: Store | None = None,
        block_size: int | None = None,
        **storage_options: Any,
    ) -> None:
        unknown = sorted(set(storage_options) - _GENERIC_OPTIONS)
        if unknown:
            raise InvalidArgument(
                f"unknown storage option(s) for storeroom: {', '.join(unknown)}",
                operation="fsspec",
                hint="storeroom takes config=, store= and block_size=; backend options "
                "belong in the registry config",
            )
        if block_size is not None and (type(block_size) is not int or block_size <= 0):
            raise InvalidArgument(
                f"block_size must be a positive int, got {block_size!r}", operation="fsspec"
            )
        super().__init__(**storage_options)
        self._store: Store | None = None
        self._registry: Registry | None = None
        self._block_size = block_size or DEFAULT_BLOCK_SIZE
        if store is not None:
            if config is not None:
                raise InvalidArgument(
                    "pass config= or store=, not both",
                    operation="fsspec",
                    hint="store= wraps one Store; config= names a registry config",
                )
            if not isinstance(store, Store):
                raise InvalidArgument(
                    f"store= must be a storeroom Store, got {type(store).__name__}",
                    operation="fsspec",
                )
            self._store = store
            self._rebuild: dict[str, Any] = {"store": store}
        else:
            loaded, source = _targets.load_config(config)
            self._registry = _targets.shared_registry(loaded)
            self._rebuild = {"config": source if source is not None else loaded}
        self._rebuild["block_size"] = block_size

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as configuration: an absolute config path, a RegistryConfig, or a Store.
        return (_rebuild, (type(self), self._rebuild))

    # -- paths ---------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(os.fspath(path))
        for prefix in ("storeroom://", "storeroom::"):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        return text.strip("/")

    def _split(self, path: Any) -> tuple[Store | None, str, str]:
        """``(store, store-relative path, name prefix)``; store is None for the config root."""
        text = self._strip_protocol(path)
        if self._store is not None:
            return self._store, normalize(text, backend=self._store.backend.type_name), ""
        name, _, rel = text.partition("/")
        if not name:
            return None, "", ""
        assert self._registry is not None
        store = _targets.store_named(self._registry, name)
        return store, normalize(rel, backend=store.backend.type_name), name

    def _target(self, path: Any) -> tuple[Store, str, str]:
        store, rel, prefix = self._split(path)
        if store is None:
            raise InvalidPath(
                "the root of a config-based storeroom filesystem holds stores, not files",
                path="",
                operation="fsspec",
                hint="start paths with a store name: storeroom://STORE/path",
            )
        return store, rel, prefix

    @property
    def registry_config(self) -> RegistryConfig | None:
        """The config this instance reads (``None`` when it wraps one Store)."""
        return self._registry.config if self._registry is not None else None

    def store_for(self, path: Any = "") -> Store:
        """The Store that ``path`` lives on (``storeroom://STORE/...`` or the wrapped one)."""
        return self._target(path)[0]

    # -- metadata ------------------------------------------------------------------------

    def info(self, path: Any, **kwargs: Any) -> Entry:
        store, rel, prefix = self._split(path)
        if store is None or not rel:
            return _dir_entry(prefix)
        name = _join(prefix, rel)
        try:
            return _file_entry(name, store.get_file_info(rel))
        except (NotFound, InvalidPath):
            if store.is_folder(rel):
                return _dir_entry(name)
            raise

    def ls(self, path: Any, detail: bool = True, **kwargs: Any) -> list[Any]:
        store, rel, prefix = self._split(path)
        if store is None:
            assert self._registry is not None
            out = [_dir_entry(n) for n in self._registry.store_names]
        else:
            out = [
                _file_entry(_join(prefix, e.path), e)
                if isinstance(e, FileInfo)
                else _dir_entry(_join(prefix, e.path))
                for e in store.iter_children(rel)
            ]
            if not out and rel:
                entry = self.info(path)  # a file lists as itself; missing raises
                out = [entry] if entry["type"] == "file" else []
        return out if detail else [e["name"] for e in out]

    def find(
        self,
        path: Any,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """All files below ``path`` in one recursive listing (folders derived when asked)."""
        if maxdepth is not None and maxdepth < 1:
            raise ValueError("maxdepth must be at least 1")
        store, rel, prefix = self._split(path)
        if store is None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail)
        out: dict[str, Entry] = {}
        limit = 2**31 if maxdepth is None else maxdepth
        base = rel.split("/") if rel else []
        # Folder-less backends derive folders from deeper files: list all levels then.
        depth = None if maxdepth is None or withdirs else maxdepth - 1
        try:
            for info in store.list_files(rel, recursive=True, max_depth=depth):
                parts = info.path.split("/")[len(base) :]
                if len(parts) <= limit:
                    name = _join(prefix, info.path)
                    out[name] = _file_entry(name, info)
                for i in range(1, min(len(parts), limit + 1)) if withdirs else ():
                    name = _join(prefix, "/".join(base + parts[:i]))
                    if name not in out:
                        out[name] = _dir_entry(name)
            if withdirs and store.backend.real_folders:
                for folder in store.list_folders(rel, max_depth=limit - 1):
                    name = _join(prefix, folder.path)
                    out.setdefault(name, _dir_entry(name))
        except NotFound:
            pass
        if not out and rel:
            try:
                entry = self.info(path)
            except (NotFound, InvalidPath):
                entry = None
            if entry is not None and (entry["type"] == "file" or withdirs):
                out[entry["name"]] = entry
        elif withdirs and (rel or prefix):
            name = _join(prefix, rel)
            out[name] = _dir_entry(name)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def _file_info(self, store: Store, rel: str) -> FileInfo:
        """``get_file_info``; a folder is ``InvalidPath`` on every backend, flat ones too."""
        try:
            return store.get_file_info(rel)
        except NotFound:
            if rel and store.is_folder(rel):
                raise InvalidPath(
                    "expected a file, found a folder",
                    path=rel,
                    store=store.name,
                    operation="open",
                    hint="open a file inside it, or list it with ls()",
                ) from None
            raise

    def modified(self, path: Any) -> dt.datetime:
        store, rel, _ = self._target(path)
        when = store.get_file_info(rel).modified_at
        if when is None:
            raise NotImplementedError("this backend records no modification time")
        return when

    def ukey(self, path: Any) -> str:
        """The file's etag (its change key); a hash of size and time where there is none."""
        info = self.info(path)
        if info.get("etag"):
            return str(info["etag"])
        return hashlib.sha256(repr((info["size"], info["mtime"])).encode()).hexdigest()

    def checksum(self, path: Any) -> int:
        """An int derived from ``ukey`` (the etag): equal content versions compare equal."""
        return int(hashlib.sha256(self.ukey(path).encode()).hexdigest()[:16], 16)

    # -- folders -------------------------------------------------------------------------

    def mkdir(self, path: Any, create_parents: bool = True, **kwargs: Any) -> None:
        """Make an empty folder where the backend has real folders; elsewhere make nothing.

        Real folders (local, memory, SFTP): a marker file is written into the
        new folder and deleted again, as the Store has no make-folder call;
        folder-less backends: a folder exists once a file is under it
        (spec FSSPEC-030).
        """
        store, rel, _ = self._split(path)
        if store is None or not rel or not store.backend.real_folders:
            return
        if store.is_folder(rel):
            return
        parent = posixpath.dirname(rel)
        if not create_parents and parent and not store.is_folder(parent):
            raise NotFound("parent folder not found", path=parent, operation="mkdir")
        marker = posixpath.join(rel, f".storeroom-mkdir-{uuid.uuid4().hex}")
        store.write(marker, b"")
        store.delete(marker, missing_ok=True)

    def makedirs(self, path: Any, exist_ok: bool = False) -> None:
        if not exist_ok and self.exists(path):
            raise AlreadyExists("folder already exists", path=str(path), operation="makedirs")
        self.mkdir(path)

    def rmdir(self, path: Any) -> None:
        """Remove an empty folder; a folder-less backend's empty prefix is already gone."""
        store, rel, _ = self._target(path)
        store.delete_folder(rel, missing_ok=not store.backend.real_folders)

    # -- read ----------------------------------------------------------------------------

    def _open(
        self,
        path: Any,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> StoreroomFile:
        store, rel, prefix = self._target(path)
        name = _join(prefix, rel)
        size, details = None, None
        if mode == "rb":
            details = _file_entry(name, self._file_info(store, rel))
            size = details["size"]
        elif mode == "xb" and store.exists(rel):
            raise AlreadyExists("file already exists", path=rel, operation="open")
        return StoreroomFile(
            self,
            name,
            store,
            rel,
            mode,
            size=size,
            details=details,
            block_size=block_size or self._block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def cat_file(
        self, path: Any, start: int | None = None, end: int | None = None, **kw: Any
    ) -> bytes:
        store, rel, _ = self._target(path)
        if start is None and end is None:
            return store.read_bytes(rel)
        if (start is not None and start < 0) or (end is not None and end < 0):
            size = store.get_file_info(rel).size
            start = max(size + start, 0) if start is not None and start < 0 else start
            end = max(size + end, 0) if end is not None and end < 0 else end
        start = start or 0
        if end is not None and end < start:
            end = start
        return store.read_range(rel, start, end)

    def get_file(
        self, rpath: Any, lpath: Any = None, callback: Any = None, outfile: Any = None, **kw: Any
    ) -> None:
        """Stream one file to a local path (parents made) or an open binary file."""
        if outfile is None and hasattr(lpath, "write"):
            outfile = lpath
        elif outfile is None and self.isdir(rpath):
            Path(lpath).mkdir(parents=True, exist_ok=True)
            return
        store, rel, _ = self._target(rpath)
        with store.read(rel) as src:
            if outfile is not None:
                self._copy_out(src, outfile, callback)
                return
            Path(lpath).parent.mkdir(parents=True, exist_ok=True)
            with open(lpath, "wb") as dst:
                self._copy_out(src, dst, callback)

    def _copy_out(self, src: Any, dst: Any, callback: Any) -> None:
        while chunk := src.read(self._block_size):
            dst.write(chunk)
            if callback is not None:
                callback.relative_update(len(chunk))

    # -- write ---------------------------------------------------------------------------

    def _write(self, store: Store, rel: str, content: object, overwrite: bool) -> None:
        if store.supports(Capability.ATOMIC_WRITE):
            store.write_atomic(rel, content, overwrite=overwrite)
        else:
            store.write(rel, content, overwrite=overwrite)

    def pipe_file(self, path: Any, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        store, rel, _ = self._target(path)
        self._write(store, rel, value, overwrite=mode != "create")

    def touch(self, path: Any, truncate: bool = True, **kwargs: Any) -> None:
        if truncate or not self.exists(path):
            self.pipe_file(path, b"")
        else:
            raise NotImplementedError("touch without truncate cannot update a file's time here")

    def put_file(
        self, lpath: Any, rpath: Any, callback: Any = None, mode: str = "overwrite", **kw: Any
    ) -> None:
        if Path(lpath).is_dir():
            self.mkdir(rpath)
            return
        store, rel, _ = self._target(rpath)
        with open(lpath, "rb") as src:
            self._write(store, rel, src, overwrite=mode != "create")
        if callback is not None:
            callback.relative_update(Path(lpath).stat().st_size)

    def cp_file(self, path1: Any, path2: Any, **kwargs: Any) -> None:
        """Copy one file: server-side within one store that has COPY, else streamed."""
        s1, r1, _ = self._target(path1)
        s2, r2, _ = self._target(path2)
        if s1 is s2 and s1.supports(Capability.COPY):
            try:
                s1.copy(r1, r2, overwrite=True)
                return
            except (NotFound, InvalidPath):
                if s1.is_folder(r1):
                    return  # a folder: nothing to copy (folders follow their files)
                raise
        if s1.is_folder(r1):
            return
        with s1.read(r1) as src:
            self._write(s2, r2, src, overwrite=True)

    def mv(
        self,
        path1: Any,
        path2: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        **kwargs: Any,
    ) -> None:
        """One file to a new name within a store with MOVE: ``Store.move``; else copy + delete."""
        if isinstance(path1, str) and isinstance(path2, str) and not path2.endswith("/"):
            s1, r1, _ = self._split(path1)
            s2, r2, _ = self._split(path2)
            if (
                s1 is not None
                and s1 is s2
                and r1
                and r2
                and s1.supports(Capability.MOVE)
                and s1.is_file(r1)
                and not s1.is_folder(r2)
            ):
                s1.move(r1, r2, overwrite=True)
                return
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    # -- delete --------------------------------------------------------------------------

    def rm_file(self, path: Any) -> None:
        store, rel, _ = self._target(path)
        store.delete(rel)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files; with ``recursive``, whole folders in one ``delete_folder`` each."""
        if maxdepth is not None:
            super().rm(path, recursive=recursive, maxdepth=maxdepth)
            return
        for p in self.expand_path(path, recursive=False):
            store, rel, _ = self._target(p)
            if rel and self.info(p)["type"] == "file":  # a missing path raises NotFound
                store.delete(rel)
            elif not recursive:
                self.rmdir(p)
            elif rel:
                store.delete_folder(rel, recursive=True, missing_ok=True)
            else:
                for child in list(store.iter_children("")):
                    if isinstance(child, FileInfo):
                        store.delete(child.path, missing_ok=True)
                    else:
                        store.delete_folder(child.path, recursive=True, missing_ok=True)


def _rebuild(cls: type[StoreroomFileSystem], kwargs: dict[str, Any]) -> StoreroomFileSystem:
    return cls(**kwargs)
