"""``cache(store, ttl=...)``: a Store with a read cache, built on the cache layer (spec COMPAT-011).

remote-store's store wrapper, kept by name: ``cache()`` puts a ``CacheLayer``
on top of the store's backend stack and returns a ``CachedStore`` over it,
so hits, invalidation on writes and the bounds are the layer's
(docs/layers.md#cache). ``MemoryCache(max_entries=...)`` names the layer's
in-memory table; other cache implementations are not pluggable.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from storeroom.errors import InvalidArgument
from storeroom.layers.cache import CacheLayer, CacheStats
from storeroom.path import join_key, normalize
from storeroom.proxy import ProxyStore
from storeroom.store import Store

__all__ = ["CacheBackend", "CacheStats", "CachedStore", "MemoryCache", "cache"]

_UNLIMITED_LIST = 2**62
_DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@runtime_checkable
class CacheBackend(Protocol):
    """The shape of a cache table (remote-store's protocol); ``MemoryCache`` is the one offered."""

    def clear(self) -> None: ...

    def size(self) -> int: ...


class MemoryCache:
    """The cache layer's in-memory table, bounded to ``max_entries`` (least recently used go first).

    Give one to a single ``cache()`` call; after that ``size()`` and ``clear()``
    act on that store's table.
    """

    def __init__(self, *, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries <= 0:
            raise InvalidArgument(
                f"max_entries must be positive, got {max_entries}",
                hint="pass an integer > 0, or None for no entry bound",
            )
        self.max_entries = max_entries
        self._layer: CacheLayer | None = None

    def size(self) -> int:
        """Entries cached now (0 before the cache is used by a store)."""
        return self._layer.stats.entries if self._layer is not None else 0

    def clear(self) -> None:
        """Drop every cached entry."""
        if self._layer is not None:
            self._layer.clear()


class CachedStore(ProxyStore):
    """A Store whose reads go through a ``CacheLayer``; built by ``cache()``."""

    def __init__(self, inner: Store, layer: CacheLayer, *, _target: Store | None = None) -> None:
        if _target is None:
            _target = Store(layer, inner.root_path, name=inner.name, owns_backend=False)
        super().__init__(inner, _target=_target)
        self._layer = layer

    @property
    def layer(self) -> CacheLayer:
        """The cache layer doing the work (its options, ``stats``, ``invalidate``)."""
        return self._layer

    @property
    def stats(self) -> CacheStats:
        """Hits, misses and ``size`` (entries) of the cache so far."""
        return self._layer.stats

    def invalidate(self, path: str) -> None:
        """Forget what is cached about ``path`` and the folders above it."""
        self._layer.invalidate(join_key(self.root_path, normalize(path)))

    def clear_cache(self) -> None:
        """Forget everything cached."""
        self._layer.clear()

    def child(self, subpath: str) -> Store:
        """A cached child store sharing this cache."""
        return CachedStore(
            self._inner.child(subpath), self._layer, _target=self._target.child(subpath)
        )

    def __repr__(self) -> str:
        return f"CachedStore(inner={self._inner!r}, ttl={self._layer.options.ttl_s})"


def _positive(name: str, value: float | None) -> None:
    if value is not None and value <= 0:
        raise InvalidArgument(f"{name} must be positive, got {value}", hint=f"pass {name} > 0")


def cache(
    store: Store,
    *,
    ttl: float = 300.0,
    max_content_size: int | None = None,
    max_listing_size: int | None = None,
    max_entries: int | None = None,
    cache_backend: Any = None,
) -> CachedStore:
    """Wrap ``store`` with a read cache of ``ttl`` seconds; writes through it invalidate.

    ``max_content_size`` bounds cached file sizes (bytes), ``max_listing_size``
    cached listing lengths, ``max_entries`` the number of entries.
    """
    _positive("ttl", ttl)
    _positive("max_content_size", max_content_size)
    _positive("max_listing_size", max_listing_size)
    table: MemoryCache | None = None
    if cache_backend is not None:
        if not isinstance(cache_backend, MemoryCache):
            raise InvalidArgument(
                f"cache_backend must be a MemoryCache, got {type(cache_backend).__name__}",
                hint="storeroom's cache keeps its own table; for a shared or on-disk cache "
                "use the cache layer's cache_dir option (docs/layers.md#cache)",
            )
        if cache_backend._layer is not None:
            raise InvalidArgument(
                "this MemoryCache already serves another store",
                hint="give each cache() call its own MemoryCache, or cache the backend once",
            )
        table = cache_backend
        max_entries = cache_backend.max_entries
    # Unset max_content_size: any file that fits the table's byte bound.
    item = _DEFAULT_MAX_BYTES if max_content_size is None else max_content_size
    layer = CacheLayer(
        store.backend,
        ttl_s=ttl,
        max_item_bytes=item,
        max_bytes=max(item, _DEFAULT_MAX_BYTES),
        max_list_entries=_UNLIMITED_LIST if max_listing_size is None else max_listing_size,
        max_entries=max_entries,
    )
    if table is not None:
        table._layer = layer
    return CachedStore(store, layer)
