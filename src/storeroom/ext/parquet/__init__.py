"""Parquet datasets on any Store, published atomically (spec PARQUET-*).

``ParquetDatasetStore(store).write_dataset(table, "silver/orders")`` writes
the parts under a version-unique folder, then publishes a manifest listing
them with one atomic write; readers read only what the current manifest
lists, so they see the previous complete version or the new one, never a
mix. Needs pyarrow: ``pip install "storeroom[arrow]"``. The names and result
shapes match remote-store's ``remote_store.ext.parquet``.
"""

from __future__ import annotations

try:
    import pyarrow.dataset  # type: ignore[import-untyped]
    import pyarrow.parquet  # type: ignore[import-untyped]  # noqa: F401
except ImportError as _exc:  # spec PARQUET-002
    from storeroom.errors import ConfigError

    raise ConfigError(
        "storeroom.ext.parquet needs pyarrow, which is not installed",
        hint='pip install "storeroom[arrow]"',
    ) from _exc

from storeroom.errors import DatasetIncomplete, ManifestCorrupted
from storeroom.ext.parquet._dataset import ParquetDatasetStore
from storeroom.ext.parquet._manifest import DatasetManifest, PartFile

__all__ = [
    "DatasetIncomplete",
    "DatasetManifest",
    "ManifestCorrupted",
    "ParquetDatasetStore",
    "PartFile",
]
