"""``CacheLayer``: a TTL cache of ``stat``, ``exists``, ``is_folder``, listings and whole reads.

Bounded by bytes, evicting least-recently-used entries first (spec
LAYER-020..029). Whole reads are cached when a read of the whole file
(``open_read`` without a range) reaches its end and the file is at most
``max_item_bytes``; ranged reads of a cached file are served from it.
Listings are cached when fully iterated and at most ``max_list_entries``
long. A missing file's ``NotFound`` is cached too (``negative``).

Every write, delete, copy, move or folder removal through this layer drops,
as soon as it returns or fails, the cached facts about the key, about every
ancestor folder (stat, existence and listings, recursive or not) and, for a
folder removal, about everything below it. A fill that started before such
an invalidation is not stored, so a racing reader cannot put stale data back.
Changes made by anyone else (another process, another cache instance) are
seen only after ``ttl_s``: put the cache on the backend (shared by its
stores) rather than on each store.

With ``cache_dir`` set, whole files larger than ``max_item_bytes`` are kept
as files in that directory instead (the disk tier, ``_diskcache``): bounded by
``disk_max_bytes``, validated against the file's size, etag and modification
time, served by streaming from the cached file, and shareable between
processes. To choose the tier and record the validator, a whole read then
asks for the file's ``stat`` first (cached like any other).

Thread-safe: one lock guards the table; backend calls happen outside it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO

from storeroom._txn_core import BackendTransaction
from storeroom.backend import Backend, Entry, Source
from storeroom.errors import ConfigError, NotFound, StoreroomError
from storeroom.layers._base import Layer, LayerOptions, ProxyStream, build_options, current_call
from storeroom.layers._diskcache import DiskEntry, DiskFill, DiskTier, backend_identity
from storeroom.models import FileInfo, WriteResult

__all__ = ["CacheLayer", "CacheOptions", "CacheStats"]

_ENTRY_COST = 256  # bytes charged for one cached entry (stat result, listing row)
_MISS = object()


@dataclasses.dataclass(frozen=True)
class CacheOptions(LayerOptions):
    """Options of the ``cache`` layer (``ttl`` is accepted for ``ttl_s``)."""

    layer_type = "cache"
    aliases = {"ttl": "ttl_s"}

    ttl_s: float | None = 60.0
    max_bytes: int = 64 * 1024 * 1024
    max_item_bytes: int = 1024 * 1024
    max_list_entries: int = 10_000
    negative: bool = True
    cache_dir: str | None = None
    disk_max_bytes: int = 1024 * 1024 * 1024
    max_entries: int | None = None

    def rules(self) -> list[tuple[str, bool, str]]:
        return [
            ("ttl_s", self.ttl_s is None or self.ttl_s > 0, "a number > 0 (or unset: no expiry)"),
            ("max_bytes", self.max_bytes >= 0, "an integer >= 0"),
            ("max_item_bytes", self.max_item_bytes >= 0, "an integer >= 0"),
            ("max_list_entries", self.max_list_entries >= 0, "an integer >= 0"),
            ("cache_dir", self.cache_dir is None or self.cache_dir != "", "a directory path"),
            ("disk_max_bytes", self.disk_max_bytes >= 0, "an integer >= 0"),
            ("max_entries", self.max_entries is None or self.max_entries > 0, "an integer > 0"),
        ]


@dataclasses.dataclass(frozen=True)
class CacheStats:
    """Counters since the layer was built (or ``reset_stats``)."""

    hits: int
    misses: int
    evictions: int
    invalidations: int
    entries: int
    bytes: int
    disk_hits: int = 0
    disk_misses: int = 0
    disk_evictions: int = 0
    disk_bytes: int = 0

    @property
    def size(self) -> int:
        """Entries in memory now (remote-store's name for ``entries``)."""
        return self.entries


@dataclasses.dataclass(frozen=True)
class _Missing:
    """A cached ``NotFound``: raised afresh on each hit (errors are mutable)."""

    message: str


def _ancestors(key: str) -> Iterator[str]:
    """``key`` and every folder above it, up to the root ``""``."""
    yield key
    while key:
        key = key.rpartition("/")[0]
        yield key


class CacheLayer(Layer):
    """Caches metadata, listings and small whole reads; writes through it invalidate."""

    Options = CacheOptions
    options: CacheOptions

    def __init__(
        self,
        inner: Backend,
        *,
        ttl_s: float | None = 60.0,
        max_bytes: int = 64 * 1024 * 1024,
        max_item_bytes: int = 1024 * 1024,
        max_list_entries: int = 10_000,
        negative: bool = True,
        cache_dir: str | None = None,
        disk_max_bytes: int = 1024 * 1024 * 1024,
        max_entries: int | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            CacheOptions,
            "cache layer",
            ttl_s=ttl_s,
            max_bytes=max_bytes,
            max_item_bytes=max_item_bytes,
            max_list_entries=max_list_entries,
            negative=negative,
            cache_dir=cache_dir,
            disk_max_bytes=disk_max_bytes,
            max_entries=max_entries,
        )
        self._ttl = ttl_s
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._custom_clock = clock
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        # cache key -> [value, expires_at or None, cost, path]
        self._table: OrderedDict[tuple[Any, ...], list[Any]] = OrderedDict()
        self._by_path: dict[str, set[tuple[Any, ...]]] = {}
        self._bytes = 0
        self._gen = 0
        self._hits = self._misses = self._evictions = self._invalidations = 0
        self._disk_hits = self._disk_misses = 0
        self._disk: DiskTier | None = None
        # Disk expiries outlive this process, so they use the wall clock.
        self._disk_clock = clock or time.time
        if cache_dir is not None:
            try:
                self._disk = DiskTier(cache_dir, disk_max_bytes, backend_identity(inner))
            except OSError as exc:
                raise ConfigError(
                    f"cache layer.cache_dir: cannot use {cache_dir!r}: {exc.strerror or exc}",
                    key="cache layer.cache_dir",
                ) from exc

    def extras(self) -> dict[str, Any]:
        return {"clock": self._custom_clock}

    # -- the table --------------------------------------------------------------------

    def _get(self, ck: tuple[Any, ...], count_miss: bool = True) -> Any:
        rec = current_call()
        with self._lock:
            row = self._table.get(ck)
            if row is not None:
                if row[1] is None or row[1] > self._clock():
                    self._table.move_to_end(ck)
                    self._hits += 1
                    if rec is not None:
                        rec.cache_hit = True
                    return row[0]
                self._drop(ck)
            if count_miss:
                self._misses += 1
        if rec is not None:
            rec.cache_hit = False
        return _MISS

    def _put(self, ck: tuple[Any, ...], path: str, value: Any, cost: int, gen: int) -> None:
        if cost > self._max_bytes:
            return
        expires = None if self._ttl is None else self._clock() + self._ttl
        with self._lock:
            if gen != self._gen:
                return  # an invalidation happened while this value was fetched
            if ck in self._table:
                self._drop(ck)
            self._table[ck] = [value, expires, cost, path]
            self._by_path.setdefault(path, set()).add(ck)
            self._bytes += cost
            limit = self._max_entries
            while self._bytes > self._max_bytes or (limit is not None and len(self._table) > limit):
                oldest = next(iter(self._table))
                self._drop(oldest)
                self._evictions += 1

    def _drop(self, ck: tuple[Any, ...]) -> None:
        row = self._table.pop(ck)
        self._bytes -= row[2]
        keys = self._by_path.get(row[3])
        if keys is not None:
            keys.discard(ck)
            if not keys:
                del self._by_path[row[3]]

    def invalidate(self, key: str, *, subtree: bool = False) -> None:
        """Drop what is cached about ``key`` and its ancestors (and below it with ``subtree``)."""
        with self._lock:
            self._gen += 1
            self._invalidations += 1
            paths = list(_ancestors(key))
            if subtree:
                below = key + "/" if key else ""
                paths.extend(p for p in self._by_path if p.startswith(below))
            for path in paths:
                for ck in list(self._by_path.get(path, ())):
                    self._drop(ck)
        disk = self._disk
        if disk is not None:  # after the generation bump: no fill started before can land
            disk.drop(key)
            if subtree:
                below = key + "/" if key else ""
                disk.drop_where(lambda k: k.startswith(below))

    def clear(self, *, disk: bool = True) -> None:
        """Drop everything (with ``disk=False``, keep this backend's files in ``cache_dir``)."""
        with self._lock:
            self._gen += 1
            self._table.clear()
            self._by_path.clear()
            self._bytes = 0
        if disk and self._disk is not None:
            self._disk.drop_where(lambda k: True)

    @property
    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                self._hits,
                self._misses,
                self._evictions,
                self._invalidations,
                len(self._table),
                self._bytes,
                self._disk_hits,
                self._disk_misses,
                self._disk.evictions if self._disk is not None else 0,
                self._disk.bytes if self._disk is not None else 0,
            )

    def reset_stats(self) -> None:
        with self._lock:
            self._hits = self._misses = self._evictions = self._invalidations = 0
            self._disk_hits = self._disk_misses = 0
            if self._disk is not None:
                self._disk.evictions = 0

    # -- cached reads -----------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        ck = ("s", key)
        found = self._get(ck)
        if found is not _MISS:
            if type(found) is _Missing:
                raise NotFound(found.message, path=key)
            entry: Entry = found
            return entry
        gen = self._gen
        try:
            entry = self.inner.stat(key)
        except NotFound as exc:
            if self.options.negative:
                self._put(ck, key, _Missing(exc.message or "not found"), _ENTRY_COST, gen)
            raise
        self._put(ck, key, entry, _ENTRY_COST, gen)
        return entry

    def exists(self, key: str) -> bool:
        return self._cached_bool("e", key, self.inner.exists)

    def is_folder(self, key: str) -> bool:
        return self._cached_bool("f", key, self.inner.is_folder)

    def _cached_bool(self, kind: str, key: str, fetch: Callable[[str], bool]) -> bool:
        ck = (kind, key)
        found = self._get(ck)
        if found is not _MISS:
            return bool(found)
        gen = self._gen
        value = fetch(key)
        self._put(ck, key, value, _ENTRY_COST, gen)
        return value

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        ck = ("r", key)
        data = self._get(ck, count_miss=self._disk is None)
        if data is not _MISS:
            if start is not None or end is not None:
                data = data[start or 0 : end]
            return io.BytesIO(data)
        if self._disk is not None:
            return self._open_read_disk(self._disk, ck, key, start, end)
        gen = self._gen
        stream = self.inner.open_read(key, start, end)
        if start or end is not None or self.options.max_item_bytes == 0:
            return stream
        return _FillStream(stream, self, ck, key, gen)  # type: ignore[return-value]

    # -- the disk tier ----------------------------------------------------------------

    def _open_read_disk(
        self, disk: DiskTier, ck: tuple[Any, ...], key: str, start: int | None, end: int | None
    ) -> BinaryIO:
        gen = self._gen
        whole = not start and end is None
        info: Entry | None = None
        if whole or disk.has(key):
            try:
                info = self.stat(key)
            except StoreroomError:
                info = None  # let the backend's own read report it
        if not isinstance(info, FileInfo) or (whole and info.size <= self.options.max_item_bytes):
            self._count_miss(disk=False)
            stream = self.inner.open_read(key, start, end)
            if not whole or self.options.max_item_bytes == 0:
                return stream
            return _FillStream(stream, self, ck, key, gen)  # type: ignore[return-value]
        found, info = self._disk_lookup(disk, key, info, start, end)
        if found is not None:
            with self._lock:
                self._disk_hits += 1
            rec = current_call()
            if rec is not None:
                rec.cache_hit = True
            return found
        self._count_miss(disk=True)
        stream = self.inner.open_read(key, start, end)
        if not whole or info.size > disk.max_bytes:
            return stream
        spool = disk.spool()
        if spool is None:
            return stream
        expected = info

        def finish(temp_path: str) -> None:
            ttl = self._ttl
            expires = None if ttl is None else self._disk_clock() + ttl
            with self._lock:
                # Published under the lock: an invalidation cannot slip in between.
                ok = gen == self._gen and disk.publish(key, temp_path, expected, expires)
            if not ok:
                with contextlib.suppress(OSError):
                    os.unlink(temp_path)  # noqa: PTH108
            elif disk.over_budget():
                disk.evict()

        return DiskFill(stream, spool, info.size, finish)  # type: ignore[return-value]

    def _count_miss(self, *, disk: bool) -> None:
        with self._lock:
            self._misses += 1
            if disk:
                self._disk_misses += 1

    def _disk_lookup(
        self, disk: DiskTier, key: str, info: FileInfo, start: int | None, end: int | None
    ) -> tuple[BinaryIO | None, FileInfo]:
        """A reader of the current cached content of ``key`` (or None) and the freshest stat."""
        entry: DiskEntry | None = disk.lookup(key)
        if entry is None or not entry.matches(info):
            return None, info
        if entry.expires is not None and entry.expires <= self._disk_clock():
            # Expired: still good if a fresh stat proves the file unchanged.
            try:
                fresh = self.inner.stat(key)
            except StoreroomError:
                return None, info
            if not isinstance(fresh, FileInfo):
                return None, info
            if not entry.strong or not entry.matches(fresh):
                return None, fresh
            ttl = self._ttl
            disk.renew(entry, None if ttl is None else self._disk_clock() + ttl)
        return disk.open(entry, start, end), info

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        ck = ("l", prefix, recursive, base)
        rows = self._get(ck)
        if rows is not _MISS:
            return iter(rows)
        gen = self._gen
        entries = self.inner.list(prefix, recursive=recursive, base=base)
        if self.options.max_list_entries == 0:
            return entries
        return self._fill_list(entries, ck, prefix, gen)

    def _fill_list(
        self, entries: Iterator[Entry], ck: tuple[Any, ...], prefix: str, gen: int
    ) -> Iterator[Entry]:
        limit = self.options.max_list_entries
        kept: list[Entry] | None = []
        for entry in entries:
            if kept is not None:
                kept.append(entry)
                if len(kept) > limit:
                    kept = None
            yield entry
        if kept is not None:
            self._put(ck, prefix, tuple(kept), _ENTRY_COST * (len(kept) + 1), gen)

    # -- writes invalidate ------------------------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        try:
            return self.inner.write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)
        finally:
            self.invalidate(key)

    def delete(self, key: str) -> None:
        try:
            self.inner.delete(key)
        finally:
            self.invalidate(key)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        """Invalidated whatever the outcome: a ``PreconditionFailed`` means the cache is stale."""
        try:
            return self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
        finally:
            self.invalidate(key)

    def delete_if_match(self, key: str, etag: str) -> None:
        try:
            self.inner.delete_if_match(key, etag)
        finally:
            self.invalidate(key)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        if not self.native_delete_many:
            return super().delete_many(keys)  # through self.delete: invalidates per key
        try:
            return self.inner.delete_many(keys)
        finally:
            for key in keys:
                self.invalidate(key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        try:
            return self.inner.copy(src, dst, overwrite=overwrite)
        finally:
            self.invalidate(dst)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        try:
            self.inner.move(src, dst, overwrite=overwrite)
        finally:
            self.invalidate(src)
            self.invalidate(dst)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        try:
            self.inner.remove_folder(key, recursive=recursive)
        finally:
            self.invalidate(key, subtree=True)

    def begin_transaction(self) -> BackendTransaction:
        """The inner transaction; every key it touched is forgotten after its commit."""
        tx = self.inner.begin_transaction()

        def forget(keys: list[str]) -> None:
            for key in keys:
                self.invalidate(key)

        tx.after_commit.append(forget)
        return tx

    def close(self) -> None:
        self.clear(disk=False)
        super().close()


class _FillStream(ProxyStream):
    """Passes a whole-file read through, keeping a copy to cache when it ends in time."""

    def __init__(
        self, inner: BinaryIO, layer: CacheLayer, ck: tuple[Any, ...], key: str, gen: int
    ) -> None:
        super().__init__(inner)
        self._layer = layer
        self._ck = ck
        self._key = key
        self._gen = gen
        self._chunks: list[bytes] | None = []
        self._size = 0

    def _data(self, data: bytes, eof: bool) -> None:
        chunks = self._chunks
        if chunks is None:
            return
        if data:
            self._size += len(data)
            if self._size > self._layer.options.max_item_bytes:
                self._chunks = None
                return
            chunks.append(data)
        if eof:
            self._chunks = None
            content = b"".join(chunks)
            self._layer._put(self._ck, self._key, content, len(content) + _ENTRY_COST, self._gen)

    def _sought(self, pos: int) -> None:
        self._chunks = None  # a random-access read is not a whole read
