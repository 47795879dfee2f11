"""PyArrow filesystem over a Store: ``pq.read_table(path, filesystem=arrow_filesystem(store))``.

``arrow_filesystem(store)`` (also ``pyarrow_fs``) returns a
``pyarrow.fs.PyFileSystem`` whose handler sends every call through the
Store, so its layers (cache, retry, observe, ...) apply. Needs the ``arrow``
extra (``pip install storeroom[arrow]``). Spec ARROW-*.
"""

from __future__ import annotations

try:
    import pyarrow.fs as pafs  # type: ignore[import-untyped]
except ImportError as exc:  # the extra is missing: say how to get it
    raise ImportError(
        f"storeroom.ext.arrow needs pyarrow ({exc}); install it with: "
        'pip install "storeroom[arrow]"',
        name=exc.name,
    ) from exc

from storeroom.ext.arrow._handler import SIZE_TTL, StoreHandler
from storeroom.store import Store

__all__ = ["StoreFileSystemHandler", "StoreHandler", "arrow_filesystem", "pyarrow_fs"]


def arrow_filesystem(store: Store, *, size_ttl: float = SIZE_TTL) -> pafs.PyFileSystem:
    """A ``pyarrow.fs.PyFileSystem`` over ``store``; paths are store-relative.

    ``size_ttl`` (seconds, default 30): how long a size seen in a listing or
    ``get_file_info`` opens that file without another stat; ``0`` turns it off.
    """
    return pafs.PyFileSystem(StoreHandler(store, size_ttl=size_ttl))


#: The same as ``arrow_filesystem``, under the name remote-store users know.
pyarrow_fs = arrow_filesystem

#: The same handler class, under remote-store's name (spec COMPAT-020).
StoreFileSystemHandler = StoreHandler
