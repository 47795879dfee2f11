"""remote-store's Dagster names as thin variants of storeroom's (spec COMPAT-021).

``DagsterStoreResource``, ``RemoteStoreIOManager`` and
``RemoteStoreComputeLogManager`` take remote-store's fields (``backend_type``,
``backend_options``, ``root_path``, ``serializer``) and build their Store from
them; the work is done by ``StoreResource``, ``StoreIOManager`` and
``StoreComputeLogManager``. ``dagster_io_manager(store)`` wraps a Store you
already have. The serializers encode with the IO manager's own formats.
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import dagster as dg
from dagster import Field as DagsterField
from dagster import Noneable, Permissive, StringSource
from dagster._serdes import ConfigurableClassData
from pydantic import Field, PrivateAttr, model_validator

from storeroom.backends.memory import MemoryBackend
from storeroom.config.model import RegistryConfig
from storeroom.errors import InvalidArgument
from storeroom.ext.dagster._compute_logs import StoreComputeLogManager
from storeroom.ext.dagster._formats import Encoded, decode, encode
from storeroom.ext.dagster._io_manager import StoreIOManager
from storeroom.ext.dagster._resource import StoreResource
from storeroom.models import WriteResult
from storeroom.registry import Registry
from storeroom.store import Store

__all__ = [
    "DagsterStoreResource",
    "JsonSerializer",
    "ParquetSerializer",
    "PickleSerializer",
    "RemoteStoreComputeLogManager",
    "RemoteStoreIOManager",
    "Serializer",
    "dagster_dataset_io_manager",
    "dagster_io_manager",
]

_BACKEND_HELP = "Backend type (remote-store style: the store is built from these fields)."


@runtime_checkable
class Serializer(Protocol):
    """What ``dagster_io_manager(store, serializer=...)`` accepts besides a format name."""

    extension: str

    def serialize(self, obj: Any) -> bytes: ...

    def deserialize(self, data: bytes) -> Any: ...


class _FormatSerializer:
    """A serializer that is one of the IO manager's formats."""

    format = "pickle"
    extension = ".pkl"

    def serialize(self, obj: Any) -> bytes:
        encoded = encode(obj, self.format, type(self).__name__)
        try:
            return encoded.body.read()
        finally:
            encoded.body.close()

    def deserialize(self, data: bytes) -> Any:
        with Store(MemoryBackend()) as scratch:  # decode() reads from a store
            name = f"value{self.extension}"
            scratch.write(name, data)
            return decode(scratch, name, self.format, None, type(self).__name__)


class PickleSerializer(_FormatSerializer):
    """Pickle: any Python value."""


class JsonSerializer(_FormatSerializer):
    """JSON: dicts, lists and plain values."""

    format = "json"
    extension = ".json"


class ParquetSerializer(_FormatSerializer):
    """Parquet: pandas/polars DataFrames and Arrow tables (needs ``storeroom[arrow]``)."""

    format = "parquet"
    extension = ".parquet"


_SERIALIZERS: dict[str, type[_FormatSerializer]] = {
    "pickle": PickleSerializer,
    "json": JsonSerializer,
    "parquet": ParquetSerializer,
}


def _serializer(value: str | Serializer) -> Serializer:
    if isinstance(value, str):
        cls = _SERIALIZERS.get(value)
        if cls is None:
            raise InvalidArgument(
                f"unknown serializer {value!r}",
                hint=f"use one of {sorted(_SERIALIZERS)} or an object with "
                "extension, serialize() and deserialize()",
            )
        return cls()
    if not isinstance(value, Serializer):
        raise InvalidArgument(
            f"serializer must be a name or a Serializer, got {type(value).__name__}",
            hint="give it extension, serialize(obj) -> bytes and deserialize(bytes)",
        )
    return value


class _InlineStore:
    """A Registry of one backend and one store, built from remote-store's fields."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: Registry | None = None

    def get(self, backend_type: str, options: Mapping[str, Any], root_path: str) -> Store:
        with self._lock:
            if self._registry is None:
                config = RegistryConfig.from_dict(
                    {
                        "backends": {"backend": {"type": backend_type, "options": dict(options)}},
                        "stores": {"store": {"backend": "backend", "root_path": root_path}},
                    }
                )
                self._registry = Registry(config)
            return self._registry.get_store("store")

    def close(self) -> None:
        with self._lock:
            registry, self._registry = self._registry, None
        if registry is not None:
            registry.close()


class DagsterStoreResource(StoreResource):
    """``StoreResource`` with remote-store's fields: the Store is built from ``backend_type``."""

    store: str = Field(default="", description="Unused when backend_type is set.")
    backend_type: str = Field(default="", description=_BACKEND_HELP)
    backend_options: dict[str, Any] = Field(default_factory=dict, repr=False)
    root_path: str = ""

    _inline: _InlineStore = PrivateAttr(default_factory=_InlineStore)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close what this resource opened."""
        self._inline.close()
        super().teardown_after_execution(context)

    def get_store(self) -> Store:
        """The Store built from ``backend_type`` (else the named store of the config file)."""
        if self.backend_type:
            return self._inline.get(self.backend_type, self.backend_options, self.root_path)
        return super().get_store()


class RemoteStoreIOManager(StoreIOManager):
    """``StoreIOManager`` with remote-store's fields; ``serializer`` names the format."""

    store: str = Field(default="", description="Unused when backend_type is set.")
    backend_type: str = Field(default="", description=_BACKEND_HELP)
    backend_options: dict[str, Any] = Field(default_factory=dict, repr=False)
    root_path: str = ""
    serializer: str = "pickle"

    _inline: _InlineStore = PrivateAttr(default_factory=_InlineStore)

    @model_validator(mode="before")
    @classmethod
    def _format_from_serializer(cls, data: Any) -> Any:
        if isinstance(data, dict) and "serializer" in data and "format" not in data:
            _serializer(str(data["serializer"]))  # an unknown name fails here
            data = {**data, "format": data["serializer"]}
        return data

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close what this IO manager opened."""
        self._inline.close()
        super().teardown_after_execution(context)

    def get_store(self) -> Store:
        """The Store built from ``backend_type`` (else the named store of the config file)."""
        if self.backend_type:
            return self._inline.get(self.backend_type, self.backend_options, self.root_path)
        return super().get_store()


#: Stores handed to ``dagster_io_manager``, by handle: Dagster rebuilds configurable
#: IO managers from their fields, so the object itself cannot ride along.
_GIVEN: dict[str, tuple[Store, Serializer | None]] = {}


class _GivenStoreIOManager(StoreIOManager):
    """``StoreIOManager`` over a Store object (``dagster_io_manager``); the caller closes it."""

    handle: str = Field(description="Internal: which Store object this manager uses.")

    def get_store(self) -> Store:
        return _GIVEN[self.handle][0]

    def _write(
        self, store: Store, path: str, value: Any, fmt: str, where: str
    ) -> tuple[WriteResult, Any]:
        custom = _GIVEN[self.handle][1]
        if custom is None:
            return super()._write(store, path, value, fmt, where)
        target = path.rsplit(".", 1)[0] + custom.extension
        result = store.write_atomic(target, custom.serialize(value), overwrite=True)
        return result, Encoded(io.BytesIO())

    def _load(self, store: Store, base: str, hint: Any, kind: str | None, where: str) -> Any:
        custom = _GIVEN[self.handle][1]
        if custom is None:
            return super()._load(store, base, hint, kind, where)
        return custom.deserialize(store.read_bytes(base + custom.extension))


def dagster_io_manager(store: Store, *, serializer: str | Serializer = "pickle") -> dg.IOManager:
    """An IO manager over ``store`` (which you keep and close); ``serializer`` picks the format."""
    chosen = _serializer(serializer)
    builtin = isinstance(chosen, _FormatSerializer)
    handle = uuid.uuid4().hex
    _GIVEN[handle] = (store, None if builtin else chosen)
    fmt = chosen.format if isinstance(chosen, _FormatSerializer) else "pickle"
    return _GivenStoreIOManager(store=store.name or "store", format=fmt, handle=handle)


def dagster_dataset_io_manager(store: Store) -> dg.IOManager:
    """An IO manager writing tables as Parquet in ``store`` (one file per partition)."""
    return dagster_io_manager(store, serializer="parquet")


class RemoteStoreComputeLogManager(StoreComputeLogManager):
    """``StoreComputeLogManager`` configured remote-store's way (``backend_type`` + options)."""

    def __init__(
        self,
        backend_type: str,
        backend_options: Mapping[str, Any] | None = None,
        root_path: str = "",
        local_dir: str | None = None,
        prefix: str = "dagster",
        skip_empty_files: bool = False,
        upload_interval: int | None = None,
        inst_data: ConfigurableClassData | None = None,
    ) -> None:
        self._backend_type = backend_type
        self._backend_options = dict(backend_options or {})
        self._root_path = root_path
        self._inline = _InlineStore()
        super().__init__(
            store="store",
            prefix=prefix,
            local_dir=local_dir,
            upload_interval=upload_interval,
            skip_empty_files=skip_empty_files,
            inst_data=inst_data,
        )

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        """remote-store's ``compute_logs.config`` schema."""
        return {
            "backend_type": StringSource,
            "backend_options": DagsterField(Permissive(), is_required=False),  # type: ignore[no-untyped-call]
            "root_path": DagsterField(StringSource, is_required=False, default_value=""),
            "local_dir": DagsterField(StringSource, is_required=False),
            "prefix": DagsterField(StringSource, is_required=False, default_value="dagster"),
            "skip_empty_files": DagsterField(bool, is_required=False, default_value=False),
            "upload_interval": DagsterField(Noneable(int), is_required=False, default_value=None),
        }

    @property
    def store(self) -> Store:
        """The Store logs go to, built from ``backend_type`` on first use."""
        return self._inline.get(self._backend_type, self._backend_options, self._root_path)

    def dispose(self) -> None:
        """Close the store, then what the base manager holds."""
        super().dispose()
        self._inline.close()
