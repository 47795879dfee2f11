"""``StoreComputeLogManager``: Dagster step stdout/stderr uploaded to a storeroom Store.

Configured in ``dagster.yaml`` (``compute_logs: {module: storeroom.ext.dagster,
class: StoreComputeLogManager, config: {store: logs}}``). Dagster captures each
step's output to a local staging folder; on completion (and every
``upload_interval`` seconds while it runs) the files are written atomically to
``prefix/<log key>.out|.err`` in the store. Built on Dagster's
``TruncatingCloudStorageComputeLogManager``, as dagster-aws's S3 manager is.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Self

from dagster import Field, StringSource
from dagster._core.storage.cloud_storage_compute_log_manager import (
    PollingComputeLogSubscriptionManager,
    TruncatingCloudStorageComputeLogManager,
)
from dagster._core.storage.compute_log_manager import CapturedLogSubscription, ComputeIOType
from dagster._core.storage.local_compute_log_manager import (
    IO_TYPE_EXTENSION,
    LocalComputeLogManager,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from storeroom.errors import NotFound
from storeroom.ext.dagster._paths import join
from storeroom.ext.dagster._resource import StoreHolder
from storeroom.store import Store

__all__ = ["StoreComputeLogManager"]


class StoreComputeLogManager(TruncatingCloudStorageComputeLogManager, ConfigurableClass):
    """Uploads captured step logs to a Store from the registry config (spec DAGSTER-040)."""

    def __init__(
        self,
        store: str,
        config: str | None = None,
        prefix: str = "compute-logs",
        local_dir: str | None = None,
        upload_interval: int | None = None,
        skip_empty_files: bool = False,
        env: Mapping[str, str] | None = None,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._store_name = store
        self._config = config
        self._env = dict(env or {})
        self._prefix = prefix.strip("/")
        self._upload_interval = upload_interval
        self._skip_empty = skip_empty_files
        self._inst_data = inst_data
        self._holder = StoreHolder()
        self._local = LocalComputeLogManager(
            local_dir or tempfile.mkdtemp(prefix="storeroom-logs-")
        )
        self._subscriptions = PollingComputeLogSubscriptionManager(self)  # type: ignore[no-untyped-call]
        super().__init__()  # type: ignore[no-untyped-call]

    # -- dagster.yaml plumbing --------------------------------------------------------

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        """Where this manager was configured from (``dagster.yaml``)."""
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """The ``compute_logs.config`` schema in ``dagster.yaml``."""
        return {
            "store": StringSource,
            "config": Field(StringSource, is_required=False),
            "prefix": Field(StringSource, is_required=False, default_value="compute-logs"),
            "local_dir": Field(StringSource, is_required=False),
            "upload_interval": Field(int, is_required=False),
            "skip_empty_files": Field(bool, is_required=False, default_value=False),
            "env": Field({str: StringSource}, is_required=False),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> Self:
        """Build from the validated ``dagster.yaml`` values."""
        return cls(inst_data=inst_data, **config_value)

    # -- the store --------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The Store logs go to (the Registry is built on first use)."""
        return self._holder.get(self._config, self._env, self._store_name, "StoreComputeLogManager")

    def _path(self, log_key: Sequence[str], io_type: ComputeIOType, partial: bool = False) -> str:
        ext = IO_TYPE_EXTENSION[io_type]
        name = f"{log_key[-1]}.{ext}" + (".partial" if partial else "")
        return join(self._prefix, *log_key[:-1], name)

    # -- CloudStorageComputeLogManager ------------------------------------------------

    @property
    def local_manager(self) -> LocalComputeLogManager:
        """The staging manager that captures to local files."""
        return self._local

    @property
    def upload_interval(self) -> int | None:
        """Seconds between partial uploads while a step runs (``None``: only at the end)."""
        return self._upload_interval

    def _upload_file_obj(
        self, data: IO[bytes], log_key: Sequence[str], io_type: ComputeIOType, partial: bool = False
    ) -> None:
        path = self._path(log_key, io_type, partial)
        body: IO[bytes] | bytes = data
        if self._skip_empty and not partial:
            body = data.read()
        if body or not isinstance(body, bytes):
            self.store.write_atomic(path, body, overwrite=True)
        if not partial:  # the complete log replaces the one uploaded while the step ran
            self.store.delete(self._path(log_key, io_type, partial=True), missing_ok=True)

    def download_from_cloud_storage(
        self, log_key: Sequence[str], io_type: ComputeIOType, partial: bool = False
    ) -> None:
        """Copy the stored log into the local staging folder for the UI to read."""
        local = Path(
            self._local.get_captured_local_path(log_key, IO_TYPE_EXTENSION[io_type], partial)
        )
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(self.store.read_bytes(self._path(log_key, io_type, partial)))

    def cloud_storage_has_logs(
        self, log_key: Sequence[str], io_type: ComputeIOType, partial: bool = False
    ) -> bool:
        """Whether the store holds this log."""
        return self.store.exists(self._path(log_key, io_type, partial))

    def display_path_for_type(self, log_key: Sequence[str], io_type: ComputeIOType) -> str:
        """A ``storeroom://store/path`` locator shown in the Dagster UI."""
        return f"storeroom://{self._store_name}/{self._path(log_key, io_type)}"

    def download_url_for_type(self, log_key: Sequence[str], io_type: ComputeIOType) -> str | None:
        """No direct download links: stores are read through storeroom."""
        return None

    def delete_logs(
        self, log_key: Sequence[str] | None = None, prefix: Sequence[str] | None = None
    ) -> None:
        """Delete one step's logs (``log_key``) or every log under ``prefix``."""
        if log_key is not None:
            self._local.delete_logs(log_key=log_key)
            for io_type in (ComputeIOType.STDOUT, ComputeIOType.STDERR):
                for partial in (False, True):
                    self.store.delete(self._path(log_key, io_type, partial), missing_ok=True)
        elif prefix is not None:
            self._local.delete_logs(prefix=prefix)
            folder = join(self._prefix, *prefix)
            try:
                self.store.delete_folder(folder, recursive=True)
            except NotFound:
                pass

    def get_log_keys_for_log_key_prefix(
        self, log_key_prefix: Sequence[str], io_type: ComputeIOType
    ) -> Sequence[list[str]]:
        """Log keys stored under ``log_key_prefix`` (complete logs of ``io_type`` only)."""
        folder = join(self._prefix, *log_key_prefix)
        suffix = f".{IO_TYPE_EXTENSION[io_type]}"
        if not self.store.is_folder(folder):
            return []
        keys: list[list[str]] = []
        for info in self.store.list_files(folder, recursive=True):
            rel = str(info.path)[len(folder) + 1 :] if folder else str(info.path)
            if rel.endswith(suffix):
                keys.append([*log_key_prefix, *rel[: -len(suffix)].split("/")])
        return keys

    # -- live tailing in the UI and shutdown ------------------------------------------

    def on_subscribe(self, subscription: CapturedLogSubscription) -> None:
        """Poll the store for a step's logs while someone watches it."""
        self._subscriptions.add_subscription(subscription)

    def on_unsubscribe(self, subscription: CapturedLogSubscription) -> None:
        """Stop polling for this watcher."""
        self._subscriptions.remove_subscription(subscription)

    def dispose(self) -> None:
        """Stop polling, clean the staging manager, close the Registry."""
        self._subscriptions.dispose()
        self._local.dispose()
        self._holder.close()
