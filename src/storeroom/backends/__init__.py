"""Backends shipped with storeroom. Each is imported only when first used.

``from storeroom.backends import S3Backend`` works without the ``s3`` extra and
imports no SDK: the names of backends that need an extra are stand-ins
(``LazyBackendClass``) that load the real class on first use — calling it,
reading a class attribute, subclassing it. Without the extra that first use is
a ``ConfigError`` with the ``pip install`` line (spec REG-030..032).
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from typing import TYPE_CHECKING, Any

from storeroom.errors import ConfigError

if TYPE_CHECKING:
    from storeroom.backends.azure import AzureBackend
    from storeroom.backends.azure.utils import AzureUtils
    from storeroom.backends.http import HTTPBackend
    from storeroom.backends.http import HTTPBackend as ReadOnlyHttpBackend
    from storeroom.backends.local import LocalBackend
    from storeroom.backends.memory import MemoryBackend
    from storeroom.backends.mount import MountBackend, TiersBackend
    from storeroom.backends.s3 import S3Backend
    from storeroom.backends.s3.pyarrow_backend import S3PyArrowBackend
    from storeroom.backends.sftp import SFTPBackend
    from storeroom.backends.sftp.utils import SFTPUtils
    from storeroom.backends.sql import SQLBlobBackend
    from storeroom.backends.sqlquery import SQLQueryBackend
    from storeroom.backends.sqlquery.serializer import ArrowSerializer, ResultSerializer

__all__ = [
    "BUILTIN_BACKENDS",
    "ArrowSerializer",
    "AzureBackend",
    "AzureUtils",
    "BuiltinBackend",
    "HTTPBackend",
    "LazyBackendClass",
    "LocalBackend",
    "MemoryBackend",
    "MountBackend",
    "ReadOnlyHttpBackend",
    "ResultSerializer",
    "S3Backend",
    "S3PyArrowBackend",
    "SFTPBackend",
    "SFTPUtils",
    "SQLBlobBackend",
    "SQLQueryBackend",
    "TiersBackend",
    "missing_extra",
]


@dataclasses.dataclass(frozen=True)
class BuiltinBackend:
    """One built-in backend type: where its classes live and what it needs installed."""

    type: str
    class_name: str
    package: str  # storeroom.backends.<x>; options in .config, the class in .backend
    options_name: str
    extra: str | None = None  # the pip extra, when the SDK is not in the standard library
    sdk: tuple[str, ...] = ()  # modules the extra provides (checked without importing)
    module: str = "backend"  # the module of ``package`` that defines the class

    @property
    def backend_module(self) -> str:
        return f"{self.package}.{self.module}"

    @property
    def options_path(self) -> str:
        return f"{self.package}.config:{self.options_name}"

    @property
    def backend_path(self) -> str:
        return f"{self.backend_module}:{self.class_name}"

    @property
    def pip_line(self) -> str:
        return f'pip install "storeroom[{self.extra or self.type}]"'


BUILTIN_BACKENDS: dict[str, BuiltinBackend] = {
    b.type: b
    for b in (
        BuiltinBackend("local", "LocalBackend", "storeroom.backends.local", "LocalOptions"),
        BuiltinBackend("memory", "MemoryBackend", "storeroom.backends.memory", "MemoryOptions"),
        BuiltinBackend("http", "HTTPBackend", "storeroom.backends.http", "HTTPOptions"),
        BuiltinBackend("mount", "MountBackend", "storeroom.backends.mount", "MountOptions"),
        BuiltinBackend(
            "tiers", "TiersBackend", "storeroom.backends.mount", "TiersOptions", module="tiers"
        ),
        BuiltinBackend(
            "azure",
            "AzureBackend",
            "storeroom.backends.azure",
            "AzureOptions",
            extra="azure",
            sdk=("azure.storage.blob", "azure.storage.filedatalake"),
        ),
        BuiltinBackend(
            "sql-blob",
            "SQLBlobBackend",
            "storeroom.backends.sql",
            "SQLBlobOptions",
            extra="sql",
            sdk=("sqlalchemy",),
        ),
        BuiltinBackend(
            "sql-query",
            "SQLQueryBackend",
            "storeroom.backends.sqlquery",
            "SQLQueryOptions",
            extra="sql,arrow",
            sdk=("sqlalchemy", "pyarrow"),
        ),
        BuiltinBackend(
            "sftp",
            "SFTPBackend",
            "storeroom.backends.sftp",
            "SFTPOptions",
            extra="sftp",
            sdk=("paramiko",),
        ),
        BuiltinBackend(
            "s3",
            "S3Backend",
            "storeroom.backends.s3",
            "S3Options",
            extra="s3",
            sdk=("s3fs", "aiobotocore", "botocore"),
        ),
        # An alias: the ``s3`` backend with ``engine = "pyarrow"`` (spec S3-050).
        BuiltinBackend(
            "s3-pyarrow",
            "S3Backend",
            "storeroom.backends.s3",
            "S3PyArrowOptions",
            extra="s3,arrow",
            sdk=("s3fs", "aiobotocore", "botocore", "pyarrow"),
        ),
    )
}
_BY_CLASS: dict[str, BuiltinBackend] = {}
for _info in BUILTIN_BACKENDS.values():
    _BY_CLASS.setdefault(_info.class_name, _info)  # a class's own type, not an alias
del _info
# remote-store's name for the ``s3`` backend with engine "pyarrow" (spec S3-070).
_BY_CLASS["S3PyArrowBackend"] = dataclasses.replace(
    BUILTIN_BACKENDS["s3-pyarrow"], class_name="S3PyArrowBackend", module="pyarrow_backend"
)
#: remote-store's other names: another name of a class, or a helper whose module
#: imports no SDK (the SDK loads when a helper is called; spec COMPAT-060).
_ALIASES = {"ReadOnlyHttpBackend": "HTTPBackend"}
_HELPERS = {
    "SFTPUtils": "storeroom.backends.sftp.utils",
    "AzureUtils": "storeroom.backends.azure.utils",
    "ArrowSerializer": "storeroom.backends.sqlquery.serializer",
    "ResultSerializer": "storeroom.backends.sqlquery.serializer",
}


def missing_extra(info: BuiltinBackend, exc: ImportError, key: str | None = None) -> ConfigError:
    """The ``ConfigError`` for a backend whose SDK did not import: names it, gives the pip line."""
    where = f"{key}: " if key else ""
    return ConfigError(
        f"{where}the {info.type!r} backend needs packages that are not installed "
        f"({exc.name or exc}); install them with: {info.pip_line}",
        key=key,
        backend=info.type,
        hint=info.pip_line,
    )


def load_backend_class(info: BuiltinBackend, key: str | None = None) -> Any:
    """The real backend class of ``info``, importing its SDK; ``ConfigError`` without it."""
    try:
        module = importlib.import_module(info.backend_module)
    except ImportError as exc:
        raise missing_extra(info, exc, key) from None
    return getattr(module, info.class_name)


class LazyBackendClass:
    """Stands for a backend class until first use, so naming it imports no SDK.

    Calling it builds the real class's instance; attribute access, ``isinstance``,
    ``issubclass`` and subclassing all act on the real class.
    """

    def __init__(self, info: BuiltinBackend) -> None:
        self._info = info
        self.__name__ = self.__qualname__ = info.class_name
        self.__module__ = "storeroom.backends"
        self.__doc__ = f"The {info.type!r} backend (needs {info.pip_line}); loaded on first use."

    def load(self) -> Any:
        """The real class (imports the SDK); ``ConfigError`` with the pip line without it."""
        return load_backend_class(self._info)

    def _loaded(self) -> Any:
        module = sys.modules.get(self._info.backend_module)
        return getattr(module, self._info.class_name, None) if module is not None else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.load()(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.load(), name)

    def __instancecheck__(self, obj: object) -> bool:
        cls = self._loaded()  # no instance can exist before the class was loaded
        return cls is not None and isinstance(obj, cls)

    def __subclasscheck__(self, sub: type) -> bool:
        cls = self._loaded()
        return cls is not None and issubclass(sub, cls)

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (self.load(),)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_stand_in, (self._info.class_name,))

    def __repr__(self) -> str:
        return f"<backend class storeroom.backends.{self._info.class_name} (loaded on first use)>"


def _stand_in(name: str) -> Any:
    return __getattr__(name)


_STAND_INS: dict[str, LazyBackendClass] = {}


def __getattr__(name: str) -> Any:
    if name in _HELPERS:
        return getattr(importlib.import_module(_HELPERS[name]), name)
    name = _ALIASES.get(name, name)
    info = _BY_CLASS.get(name)
    if info is None:
        raise AttributeError(f"module 'storeroom.backends' has no attribute {name!r}")
    if info.extra is None:  # standard library only: the real class
        return getattr(importlib.import_module(info.package), name)
    stand_in = _STAND_INS.get(name)
    if stand_in is None:
        stand_in = _STAND_INS.setdefault(name, LazyBackendClass(info))
    return stand_in
