"""Dagster integration: a resource, an IO manager and a compute log manager over storeroom stores.

``StoreResource`` and ``StoreIOManager`` read the same registry config file the
application uses (``config=``, else ``$STOREROOM_CONFIG``, else
``./storeroom.toml``); ``StoreComputeLogManager`` uploads step logs from
``dagster.yaml``. Needs ``pip install "storeroom[dagster]"``. Spec DAGSTER-*.
"""

from __future__ import annotations

try:
    import dagster  # noqa: F401
except ImportError as _exc:  # spec DAGSTER-001
    from storeroom.errors import ConfigError

    raise ConfigError(
        "storeroom.ext.dagster needs dagster, which is not installed",
        hint='pip install "storeroom[dagster]"',
    ) from _exc

from storeroom.ext.dagster._compat import (
    DagsterStoreResource,
    JsonSerializer,
    ParquetSerializer,
    PickleSerializer,
    RemoteStoreComputeLogManager,
    RemoteStoreIOManager,
    Serializer,
    dagster_dataset_io_manager,
    dagster_io_manager,
)
from storeroom.ext.dagster._compute_logs import StoreComputeLogManager
from storeroom.ext.dagster._io_manager import FORMAT_KEY, StoreIOManager
from storeroom.ext.dagster._resource import StoreResource

__all__ = [
    "FORMAT_KEY",
    "DagsterStoreResource",
    "JsonSerializer",
    "ParquetSerializer",
    "PickleSerializer",
    "RemoteStoreComputeLogManager",
    "RemoteStoreIOManager",
    "Serializer",
    "StoreComputeLogManager",
    "StoreIOManager",
    "StoreResource",
    "dagster_dataset_io_manager",
    "dagster_io_manager",
]
