"""storeroom stores for pandas, polars, PyArrow, DuckDB and Dask through fsspec.

``StoreroomFileSystem`` is registered as the ``storeroom`` protocol (entry
point ``fsspec.specs``), so ``pd.read_csv("storeroom://STORE/path.csv")``
works without importing storeroom (spec FSSPEC-*). Needs ``fsspec``.
"""

from storeroom.ext.fsspec._targets import clear_registry_cache
from storeroom.ext.fsspec.filesystem import StoreroomFileSystem

__all__ = ["StoreroomFileSystem", "clear_registry_cache"]
