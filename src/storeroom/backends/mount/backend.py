"""The ``mount`` backend: one namespace over several backends and stores (spec MOUNT-*).

Each mount point (a folder path, ``""`` for the root) stands for a target: a
backend stack and a folder inside it. A key goes to the mount with the
longest prefix that contains it; listings above several mounts merge them,
mount points appearing as folders. Capabilities are per mount: the backend
declares a gate when any mount has it and refuses a call under a mount that
lacks it. A move or copy between different backends is copy + delete, never
atomic, so ``ATOMIC_MOVE`` is not declared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO

from storeroom.backend import Backend, Entry, Source, rel_key
from storeroom.backends.mount._targets import (
    MountSpec,
    Routed,
    Target,
    gated,
    merge_listings,
    resolve,
    to_target,
)
from storeroom.backends.mount._targets import join as _join
from storeroom.backends.mount.config import MountOptions
from storeroom.capabilities import Capability
from storeroom.errors import (
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    StoreroomError,
)
from storeroom.models import FileInfo, FolderEntry, WriteResult
from storeroom.path import normalize

if TYPE_CHECKING:
    from storeroom.registry import Registry

__all__ = ["MountBackend"]

C = Capability
_NAME = "mount"


class MountBackend(Backend):
    """Routes each key to the mount with the longest matching prefix (MOUNT-001)."""

    type_name = _NAME
    options_class = MountOptions

    def __init__(self, mounts: Mapping[str, MountSpec]) -> None:
        if not mounts:
            raise ConfigError("mounts: give at least one mount", key="mounts")
        points: dict[str, Target] = {}
        for raw, spec in mounts.items():
            prefix = normalize(raw)
            points[prefix] = to_target(spec, f"mounts.{raw!r}")
        self._points = points
        self._names = {p: (f'mount "{p}/"' if p else 'mount ""') for p in points}
        #: Folders that exist because a mount point is at or below them.
        virtual: set[str] = set() if "" in points else {""}
        for p in points:
            while p:
                virtual.add(p)
                p = p.rpartition("/")[0]
        self._virtual = frozenset(virtual)
        #: For each mount point, the mount points strictly below it (they shadow it).
        self._below = {
            p: tuple(q for q in points if q != p and (not p or q.startswith(p + "/")))
            for p in points
        }
        targets = list(points.values())
        caps = set(gated(targets))
        if any(C.ATOMIC_WRITE in t.capabilities for t in targets):
            caps.add(C.ATOMIC_WRITE)
        if C.WRITE in caps and C.READ in caps:
            caps.add(C.COPY)
            if C.DELETE in caps:
                caps.add(C.MOVE)
        self.capabilities = frozenset(caps)
        root = points.get("")
        self.real_folders = root.backend.real_folders if root is not None else True

    @classmethod
    def from_registry(cls, options: MountOptions, registry: Registry, where: str) -> MountBackend:
        """Resolve every reference through ``registry`` (MOUNT-012)."""
        return cls({p: resolve(ref, registry, where) for p, ref in options.mount_refs()})

    @classmethod
    def from_options(cls, options: MountOptions) -> MountBackend:
        raise ConfigError(
            "a mount backend names other backends, so it is built by a Registry",
            hint='use Registry({"backends": {...}}) or MountBackend({"": MemoryBackend()})',
        )

    @property
    def mounts(self) -> dict[str, Target]:
        """Mount point → target (a copy)."""
        return dict(self._points)

    # -- routing ------------------------------------------------------------------

    def _route(self, key: str) -> tuple[str, Target] | None:
        """The mount point holding ``key`` and its target, longest prefix first."""
        points = self._points
        k = key
        while True:
            target = points.get(k)
            if target is not None:
                return k, target
            if not k:
                return None
            k = k.rpartition("/")[0]

    def _at(self, key: str, prefix: str, target: Target) -> Routed:
        """``key`` routed to ``target``, the mount at ``prefix``."""
        inner = target.key(key[len(prefix) + 1 :] if prefix else key)
        return Routed(key, prefix, target, inner, self._names[prefix], _NAME)

    def _need(self, key: str, op: str, cap: Capability, *, folder_ok: bool = False) -> Routed:
        """``key`` routed to its mount, refused before any I/O when it lacks ``cap``."""
        if not folder_ok and key in self._virtual:
            raise InvalidPath(
                "this path is a folder: a mount point or a folder above one",
                path=key,
                backend=_NAME,
                operation=op,
                hint="give a file path inside a mount",
            )
        found = self._route(key)
        if found is None:
            if cap in (C.READ, C.METADATA, C.DELETE):
                raise NotFound("no mount covers this path", path=key, backend=_NAME, operation=op)
            raise InvalidPath(
                "no mount covers this path",
                path=key,
                backend=_NAME,
                operation=op,
                hint='add a mount for its folder, or a root mount ""',
            )
        return self._at(key, *found).need(cap, op)

    # -- required primitives -------------------------------------------------------

    def stat(self, key: str) -> Entry:
        if key in self._virtual:
            return FolderEntry._fast(key, key.rpartition("/")[2])
        return self._need(key, "stat", C.METADATA).call(lambda b, k: b.stat(k))._rebase(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        route = self._need(key, "open_read", C.READ)
        return route.stream(route.call(lambda b, k: b.open_read(k, start, end)))

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        return self._need(key, "write", C.WRITE).write(src, overwrite, metadata, atomic)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """The conditional write of the mount holding ``key`` (MOUNT-024)."""
        route = self._need(key, "write", C.CONDITIONAL_WRITE)
        return route.write_if_match(src, etag, metadata, atomic)

    def delete_if_match(self, key: str, etag: str) -> None:
        """The conditional delete of the mount holding ``key`` (MOUNT-024)."""
        self._need(key, "delete", C.CONDITIONAL_WRITE).call(lambda b, k: b.delete_if_match(k, etag))

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """The signed URL of the mount holding ``key`` (MOUNT-023); PUT also needs WRITE there."""
        return self._need(key, "signed_url", C.SIGNED_URL).signed_url(expires, method)

    def delete(self, key: str) -> None:
        self._need(key, "delete", C.DELETE).call(lambda b, k: b.delete(k))

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        streams: list[Iterator[Entry]] = []
        found = self._route(prefix)
        below = [
            p for p in self._points if p != prefix and (not prefix or p.startswith(prefix + "/"))
        ]
        if found is not None:
            point, target = found
            if C.LIST in target.capabilities:
                rel = prefix[len(point) + 1 :] if point else prefix
                streams.append(
                    self._listing(point, target, target.key(rel), recursive, base, prefix)
                )
            elif not below:
                raise target.refuse(C.LIST, "list", prefix, self._names[point], _NAME)
        folders: set[str] = set()
        for point in below:
            rest = point[len(prefix) + 1 :] if prefix else point
            parts = rest.split("/")
            depth = len(parts) if recursive else 1
            for i in range(1, depth + 1):
                folders.add(_join(prefix, "/".join(parts[:i])))
            target = self._points[point]
            if recursive and C.LIST in target.capabilities:
                streams.append(self._listing(point, target, target.base, True, base, point))
        if folders:
            streams.append(
                iter(
                    [
                        FolderEntry._fast(rel_key(f, base), f.rpartition("/")[2])
                        for f in sorted(folders)
                    ]
                )
            )
        if len(streams) == 1:
            return streams[0]
        return merge_listings(streams)

    def _listing(
        self, point: str, target: Target, inner: str, recursive: bool, base: str, outer: str
    ) -> Iterator[Entry]:
        """``target``'s entries under ``inner`` (the mount's ``outer``), relative to ``base``,
        minus those shadowed by deeper mounts (MOUNT-002, MOUNT-031)."""
        below = outer + "/" if outer else ""
        shadows = tuple(s + "/" for s in self._below[point] if s.startswith(below))
        if not point or base == point or base.startswith(point + "/"):
            # ``base`` lies inside the mount: the target yields the right paths itself.
            inner_base, above = target.key(base[len(point) + 1 :] if point else base), ""
        else:
            inner_base, above = target.base, rel_key(point, base)
        fix = Routed(outer, point, target, inner, self._names[point], _NAME).fix
        try:
            entries = target.backend.list(inner, recursive=recursive, base=inner_base)
            if not shadows and not above:
                yield from entries  # the common case: nothing to filter or rename
                return
            for entry in entries:
                path = f"{above}/{entry.path}" if above else entry.path
                if shadows:
                    full = _join(base, path) + "/"
                    if any(full.startswith(s) for s in shadows):
                        continue
                yield entry._rebase(path) if above else entry
        except StoreroomError as exc:
            raise fix(exc) from exc.__cause__

    # -- optional primitives ------------------------------------------------------------

    def exists(self, key: str) -> bool:
        if key in self._virtual:
            return True
        found = self._route(key)
        if found is None:
            return False
        return self._at(key, *found).call(lambda b, k: b.exists(k))

    def is_folder(self, key: str) -> bool:
        if key in self._virtual:
            return True
        found = self._route(key)
        if found is None:
            return False
        return self._at(key, *found).call(lambda b, k: b.is_folder(k))

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        result = self._transfer("copy", src, dst, overwrite)
        assert result is not None
        return result

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._transfer("move", src, dst, overwrite)

    def _transfer(self, op: str, src: str, dst: str, overwrite: bool) -> WriteResult | None:
        """Within one backend stack: its own move/copy; across stacks: copy (+ delete)."""
        source = self._need(src, op, C.READ)
        dest = self._need(dst, op, C.WRITE)
        if op == "move":
            source.need(C.DELETE, op)
        st, dkey = source.target, dest.inner
        if (
            st.backend is dest.target.backend
            and (C.MOVE if op == "move" else C.COPY) in st.capabilities
        ):
            if op == "move":
                source.call(lambda b, k: b.move(k, dkey, overwrite=overwrite))
                return None
            return source.call(lambda b, k: b.copy(k, dkey, overwrite=overwrite))._rebase(dst)
        result = self._stream_over(source, dest, overwrite)
        if op == "move":
            try:
                st.backend.delete(source.inner)
            except StoreroomError as exc:
                exc.message += (
                    f"; the move across mounts copied the file to {dst!r} but could not "
                    "delete the source, so both exist now"
                )
                raise source.fix(exc) from exc.__cause__
        return result

    def _stream_over(self, source: Routed, dest: Routed, overwrite: bool) -> WriteResult:
        """Copy one file between two backend stacks by streaming it (MOUNT-032)."""
        meta: Mapping[str, str] | None = None
        if C.METADATA in source.target.capabilities:
            info = source.call(lambda b, k: b.stat(k))
            if not isinstance(info, FileInfo):
                raise InvalidPath("expected a file, found a folder", path=source.key, backend=_NAME)
            if C.USER_METADATA in dest.target.capabilities and info.metadata:
                meta = info.metadata
        stream = source.call(lambda b, k: b.open_read(k))
        with stream:
            try:
                result = dest.target.backend.write(
                    dest.inner, stream, overwrite=overwrite, metadata=meta
                )
            except StoreroomError as exc:
                if exc.operation == "open_read":  # reading the source failed
                    raise source.fix(exc) from exc.__cause__
                raise dest.fix(exc) from exc.__cause__
        return result._rebase(dest.key)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        below = [p for p in self._points if p != key and (not key or p.startswith(key + "/"))]
        if not below and key not in self._points:
            route = self._need(key, "remove_folder", C.DELETE, folder_ok=True)
            route.call(lambda b, k: b.remove_folder(k, recursive=recursive))
            return
        # A mount point, or a folder above one: it always exists and is never removed;
        # recursively, every visible file below it is deleted (MOUNT-033).
        files = [e.path for e in self.list(key, recursive=True) if isinstance(e, FileInfo)]
        if not recursive:
            if files or below:
                raise DirectoryNotEmpty(
                    "folder is not empty",
                    path=key,
                    backend=_NAME,
                    hint="pass recursive=True to delete it with its content",
                )
            return
        for path in files:
            self._discard(path)

    def _discard(self, key: str) -> None:
        self._need(key, "remove_folder", C.DELETE).call(lambda b, k: b.discard(k))

    def ping(self) -> None:
        for prefix, target in self._points.items():
            self._at(prefix, prefix, target).call(lambda b, k: b.ping())

    def native_path(self, key: str) -> str:
        found = self._route(key)
        if found is None:
            return key
        prefix, target = found
        return target.backend.native_path(target.key(key[len(prefix) + 1 :] if prefix else key))

    def close(self) -> None:
        """Close the backends this mount built itself (inline tables); shared ones stay open."""
        for target in self._points.values():
            if target.owned:
                target.backend.close()

    def describe(self) -> Mapping[str, object]:
        return {"mounts": {p: t.label for p, t in self._points.items()}}

    def __reduce__(self) -> tuple[Any, ...]:
        return (MountBackend, (self._points,))
