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

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from storeroom.backend import Backend, Entry, Source, rel_key
from storeroom.backends.mount._targets import Target, TargetStream, gated, merge_listings, resolve
from storeroom.backends.mount._targets import rewrite as _rewrite
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
T = TypeVar("T")
_NAME = "mount"
#: What a mount accepts in code: a backend, ``(backend, folder)``, a Store or a Target.
MountSpec = Any


def _join(prefix: str, rel: str) -> str:
    if not prefix:
        return rel
    return f"{prefix}/{rel}" if rel else prefix


def _to_target(spec: MountSpec, where: str) -> Target:
    from storeroom.store import Store

    if isinstance(spec, Target):
        return spec
    if isinstance(spec, Store):
        return Target(spec.backend, spec.root_path, f"store {spec.name or '?'}:")
    if isinstance(spec, Backend):
        return Target(spec, "", f"{spec.type_name}:")
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], Backend):
        base = normalize(spec[1])
        return Target(spec[0], base, f"{spec[0].type_name}:{base}")
    raise ConfigError(
        f"{where}: expected a Backend, a (Backend, folder) pair or a Store, "
        f"got {type(spec).__name__}",
        key=where,
    )


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
            points[prefix] = _to_target(spec, f"mounts.{raw!r}")
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

    def _need(
        self, key: str, op: str, cap: Capability, *, folder_ok: bool = False
    ) -> tuple[str, Target, str]:
        """Mount point, target and target key for ``key``; refusals before any I/O."""
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
        prefix, target = found
        if cap not in target.capabilities:
            raise target.refuse(cap, op, key, self._names[prefix], _NAME)
        rel = key[len(prefix) + 1 :] if prefix else key
        return prefix, target, target.key(rel)

    def _fix(self, prefix: str, target: Target, key: str) -> Callable[[StoreroomError], Any]:
        where = self._names[prefix]

        def outer(rel: str | None) -> str:
            return key if rel is None else _join(prefix, rel)

        return lambda exc: _rewrite(exc, target, outer, where, _NAME)

    def _call(self, key: str, prefix: str, target: Target, call: Callable[[], T]) -> T:
        try:
            return call()
        except StoreroomError as exc:
            raise self._fix(prefix, target, key)(exc) from exc.__cause__

    # -- required primitives -------------------------------------------------------

    def stat(self, key: str) -> Entry:
        if key in self._virtual:
            return FolderEntry._fast(key, key.rpartition("/")[2])
        prefix, target, inner = self._need(key, "stat", C.METADATA)
        entry = self._call(key, prefix, target, lambda: target.backend.stat(inner))
        return entry._rebase(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        prefix, target, inner = self._need(key, "open_read", C.READ)
        stream = self._call(
            key, prefix, target, lambda: target.backend.open_read(inner, start, end)
        )
        return TargetStream(stream, self._fix(prefix, target, key))  # type: ignore[return-value]

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        prefix, target, inner = self._need(key, "write", C.WRITE)
        if metadata and C.USER_METADATA not in target.capabilities:
            raise target.refuse(C.USER_METADATA, "write", key, self._names[prefix], _NAME)
        if atomic and C.ATOMIC_WRITE not in target.capabilities:
            raise target.refuse(C.ATOMIC_WRITE, "write_atomic", key, self._names[prefix], _NAME)
        backend = target.backend

        def call() -> WriteResult:
            if atomic and C.ATOMIC_WRITE not in backend.capabilities:
                return _derived_atomic(backend, inner, src, overwrite, metadata)
            return backend.write(inner, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

        return self._call(key, prefix, target, call)._rebase(key)

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
        prefix, target, inner = self._need(key, "write", C.CONDITIONAL_WRITE)
        backend = target.backend
        result = self._call(
            key,
            prefix,
            target,
            lambda: backend.write_if_match(inner, src, etag, metadata=metadata, atomic=atomic),
        )
        return result._rebase(key)

    def delete_if_match(self, key: str, etag: str) -> None:
        """The conditional delete of the mount holding ``key`` (MOUNT-024)."""
        prefix, target, inner = self._need(key, "delete", C.CONDITIONAL_WRITE)
        self._call(key, prefix, target, lambda: target.backend.delete_if_match(inner, etag))

    def signed_url(self, key: str, expires: int, method: str) -> str:
        """The signed URL of the mount holding ``key`` (MOUNT-023); PUT also needs WRITE there."""
        prefix, target, inner = self._need(key, "signed_url", C.SIGNED_URL)
        if method == "PUT" and C.WRITE not in target.capabilities:
            raise target.refuse(C.WRITE, "signed_url", key, self._names[prefix], _NAME)
        return self._call(
            key, prefix, target, lambda: target.backend.signed_url(inner, expires, method)
        )

    def delete(self, key: str) -> None:
        prefix, target, inner = self._need(key, "delete", C.DELETE)
        self._call(key, prefix, target, lambda: target.backend.delete(inner))

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
        fix = self._fix(point, target, outer)
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
        prefix, target = found
        inner = target.key(key[len(prefix) + 1 :] if prefix else key)
        return self._call(key, prefix, target, lambda: target.backend.exists(inner))

    def is_folder(self, key: str) -> bool:
        if key in self._virtual:
            return True
        found = self._route(key)
        if found is None:
            return False
        prefix, target = found
        inner = target.key(key[len(prefix) + 1 :] if prefix else key)
        return self._call(key, prefix, target, lambda: target.backend.is_folder(inner))

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        result = self._transfer("copy", src, dst, overwrite)
        assert result is not None
        return result

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._transfer("move", src, dst, overwrite)

    def _transfer(self, op: str, src: str, dst: str, overwrite: bool) -> WriteResult | None:
        """Within one backend stack: its own move/copy; across stacks: copy (+ delete)."""
        sp, st, skey = self._need(src, op, C.READ)
        dp, dt, dkey = self._need(dst, op, C.WRITE)
        if op == "move" and C.DELETE not in st.capabilities:
            raise st.refuse(C.DELETE, op, src, self._names[sp], _NAME)
        if st.backend is dt.backend and (C.MOVE if op == "move" else C.COPY) in st.capabilities:
            backend = st.backend
            if op == "move":
                self._call(src, sp, st, lambda: backend.move(skey, dkey, overwrite=overwrite))
                return None
            done = self._call(src, sp, st, lambda: backend.copy(skey, dkey, overwrite=overwrite))
            return done._rebase(dst)
        result = self._stream_over(src, dst, (sp, st, skey), (dp, dt, dkey), overwrite)
        if op == "move":
            try:
                st.backend.delete(skey)
            except StoreroomError as exc:
                exc.message += (
                    f"; the move across mounts copied the file to {dst!r} but could not "
                    "delete the source, so both exist now"
                )
                raise self._fix(sp, st, src)(exc) from exc.__cause__
        return result

    def _stream_over(
        self,
        src: str,
        dst: str,
        source: tuple[str, Target, str],
        dest: tuple[str, Target, str],
        overwrite: bool,
    ) -> WriteResult:
        """Copy one file between two backend stacks by streaming it (MOUNT-032)."""
        sp, st, skey = source
        dp, dt, dkey = dest
        meta: Mapping[str, str] | None = None
        if C.METADATA in st.capabilities:
            info = self._call(src, sp, st, lambda: st.backend.stat(skey))
            if not isinstance(info, FileInfo):
                raise InvalidPath("expected a file, found a folder", path=src, backend=_NAME)
            if C.USER_METADATA in dt.capabilities and info.metadata:
                meta = info.metadata
        stream = self._call(src, sp, st, lambda: st.backend.open_read(skey))
        with stream:
            try:
                result = dt.backend.write(dkey, stream, overwrite=overwrite, metadata=meta)
            except StoreroomError as exc:
                if exc.operation == "open_read":  # reading the source failed
                    raise self._fix(sp, st, src)(exc) from exc.__cause__
                raise self._fix(dp, dt, dst)(exc) from exc.__cause__
        return result._rebase(dst)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        below = [p for p in self._points if p != key and (not key or p.startswith(key + "/"))]
        if not below and key not in self._points:
            prefix, target, inner = self._need(key, "remove_folder", C.DELETE, folder_ok=True)
            self._call(
                key,
                prefix,
                target,
                lambda: target.backend.remove_folder(inner, recursive=recursive),
            )
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
        prefix, target, inner = self._need(key, "remove_folder", C.DELETE)
        self._call(key, prefix, target, lambda: target.backend.discard(inner))

    def ping(self) -> None:
        for prefix, target in self._points.items():
            self._call(prefix, prefix, target, target.backend.ping)

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


def _derived_atomic(
    backend: Backend, key: str, src: Source, overwrite: bool, metadata: Mapping[str, str] | None
) -> WriteResult:
    """An atomic write on a backend that derives it (temp file + atomic rename), as a Store does."""
    from storeroom.store import Store

    store = Store(backend, owns_backend=False)
    return store.write_atomic(key, src, overwrite=overwrite, metadata=metadata)
