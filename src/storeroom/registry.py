"""``Registry``: builds backends lazily from a ``RegistryConfig`` and hands out Stores.

Backend types come from three places, looked up in this order: types added
with ``register_backend``, the built-in types (imported only when used,
so ``import storeroom`` loads no SDK), and the ``storeroom.backends`` entry
point group (spec REG-*).
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storeroom._mask import scrub_exception
from storeroom.backend import Backend
from storeroom.config.frozen import thaw
from storeroom.config.model import BackendConfig, LayerConfig, RegistryConfig
from storeroom.config.options import BackendOptions
from storeroom.errors import ConfigError, StoreroomError
from storeroom.layers import BUILTIN_LAYERS
from storeroom.layers.context import ContextLayer
from storeroom.store import Store

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from storeroom.aio import AsyncStore

__all__ = [
    "Registry",
    "UnknownName",
    "known_backend_types",
    "known_layer_types",
    "register_backend",
    "register_layer",
    "validate_config",
]

Factory = Callable[..., Backend]
LayerFactory = Callable[..., Backend]


class UnknownName(ConfigError, KeyError):
    """``get_store``/``get_backend`` with a name the configuration does not define."""


@dataclass(frozen=True)
class _BackendType:
    """How to validate options for, and build, one backend type."""

    name: str
    options_path: str | None = None  # "module:Class", imported without the SDK
    backend_path: str | None = None  # "module:Class", may need an extra
    extra: str | None = None
    factory: Factory | None = None  # for register_backend / entry points
    options_class: type[BackendOptions] | None = None

    def options_cls(self) -> type[BackendOptions] | None:
        if self.options_class is not None:
            return self.options_class
        if self.options_path is None:
            return None
        try:
            loaded: type[BackendOptions] = _load(self.options_path)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"backend type {self.name!r}: its options class {self.options_path!r} "
                f"cannot be loaded ({exc})",
                hint="reinstall storeroom; this is a packaging problem",
            ) from exc
        return loaded

    def build(self, options: Mapping[str, Any], where: str) -> Backend:
        opts_cls = self.options_cls()
        parsed = opts_cls.parse(options, where=where) if opts_cls is not None else None
        if self.factory is not None and self.backend_path is None:
            if parsed is not None and hasattr(self.factory, "from_options"):
                return _checked(self.factory.from_options(parsed), self.name)
            try:
                return _checked(self.factory(**thaw(options)), self.name)
            except TypeError as exc:
                raise ConfigError(f"{where}: {exc}", key=where) from exc
        assert self.backend_path is not None
        try:
            cls = _load(self.backend_path)
        except ImportError as exc:
            raise ConfigError(
                f"{where}: the {self.name!r} backend needs packages that are not installed "
                f"({exc.name or exc})",
                key=where,
                hint=f'pip install "storeroom[{self.extra or self.name}]"',
            ) from None
        return _checked(cls.from_options(parsed), self.name)


def _checked(backend: Any, type_name: str) -> Backend:
    if not isinstance(backend, Backend):
        raise ConfigError(
            f"backend type {type_name!r}: its factory returned {type(backend).__name__}, "
            "not a storeroom Backend"
        )
    return backend


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


_BUILTIN: dict[str, _BackendType] = {
    "local": _BackendType(
        "local",
        "storeroom.backends.local.config:LocalOptions",
        "storeroom.backends.local.backend:LocalBackend",
    ),
    "memory": _BackendType(
        "memory",
        "storeroom.backends.memory.config:MemoryOptions",
        "storeroom.backends.memory.backend:MemoryBackend",
    ),
    "http": _BackendType(
        "http", "storeroom.backends.http.config:HTTPOptions", "storeroom.backends.http:HTTPBackend"
    ),
    "azure": _BackendType(
        "azure",
        "storeroom.backends.azure.config:AzureOptions",
        "storeroom.backends.azure.backend:AzureBackend",
        "azure",
    ),
    "sql-blob": _BackendType(
        "sql-blob",
        "storeroom.backends.sql.config:SQLBlobOptions",
        "storeroom.backends.sql.backend:SQLBlobBackend",
        extra="sql",
    ),
    "sftp": _BackendType(
        "sftp",
        "storeroom.backends.sftp.config:SFTPOptions",
        "storeroom.backends.sftp.backend:SFTPBackend",
        extra="sftp",
    ),
    "s3": _BackendType(
        "s3",
        "storeroom.backends.s3.config:S3Options",
        "storeroom.backends.s3.backend:S3Backend",
        extra="s3",
    ),
}
_REGISTERED: dict[str, _BackendType] = {}
_LAYERS: dict[str, LayerFactory] = {}
_TYPES_LOCK = threading.Lock()


def register_backend(
    type_name: str,
    factory: Factory,
    *,
    options_class: type[BackendOptions] | None = None,
    replace: bool = False,
) -> None:
    """Add a backend type usable as ``type = "<type_name>"`` in config.

    The Registry calls ``factory(**options)`` (credential values stay wrapped in
    ``Secret``), or ``factory.from_options(parsed)`` when ``options_class`` (or the
    factory's own ``options_class``) validates the options first.
    """
    if not isinstance(type_name, str) or not type_name:
        raise ConfigError("register_backend: type_name must be a non-empty string")
    if not callable(factory):
        raise ConfigError(f"register_backend({type_name!r}): factory must be callable")
    with _TYPES_LOCK:
        if not replace and (type_name in _REGISTERED or type_name in _BUILTIN):
            raise ConfigError(
                f"backend type {type_name!r} is already registered",
                hint="pass replace=True to override it",
            )
        _REGISTERED[type_name] = _BackendType(
            type_name, factory=factory, options_class=options_class
        )


def register_layer(type_name: str, factory: LayerFactory, *, replace: bool = False) -> None:
    """Add a layer type usable in ``layers = [{ type = "<type_name>", ... }]``.

    The Registry calls ``factory(inner_backend, **options)``; a factory with a
    ``LayerOptions`` class as ``Options`` (the built-in layers) gets its options
    validated first and is built with ``factory.from_options(inner, parsed)``.
    """
    if not isinstance(type_name, str) or not type_name:
        raise ConfigError("register_layer: type_name must be a non-empty string")
    if not callable(factory):
        raise ConfigError(f"register_layer({type_name!r}): factory must be callable")
    with _TYPES_LOCK:
        if not replace and (type_name in _LAYERS or type_name in BUILTIN_LAYERS):
            raise ConfigError(
                f"layer type {type_name!r} is already registered",
                hint="pass replace=True to override it",
            )
        _LAYERS[type_name] = factory


def _layer_factory(type_name: str) -> LayerFactory | None:
    found = _LAYERS.get(type_name)
    if found is None and type_name in BUILTIN_LAYERS:
        found = _load(BUILTIN_LAYERS[type_name])
    return found


def known_layer_types() -> list[str]:
    """Names of every layer type usable in config."""
    return sorted(set(_LAYERS) | set(BUILTIN_LAYERS))


def _entry_point_type(type_name: str) -> _BackendType | None:
    from importlib.metadata import entry_points

    for ep in entry_points(group="storeroom.backends"):
        if ep.name == type_name:
            try:
                factory = ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"backend type {type_name!r}: entry point {ep.value!r} failed to load: {exc}"
                ) from exc
            # A Backend class that declares its options gets them validated.
            opts = (
                getattr(factory, "options_class", None)
                if hasattr(factory, "from_options")
                else None
            )
            found = _BackendType(type_name, factory=factory, options_class=opts)
            with _TYPES_LOCK:
                _REGISTERED.setdefault(type_name, found)
            return found
    return None


def known_backend_types() -> list[str]:
    """Names of every backend type available now (built-in, registered, entry points)."""
    from importlib.metadata import entry_points

    names = set(_BUILTIN) | set(_REGISTERED)
    names.update(ep.name for ep in entry_points(group="storeroom.backends"))
    return sorted(names)


def _backend_type(type_name: str, where: str) -> _BackendType:
    found = _REGISTERED.get(type_name) or _BUILTIN.get(type_name) or _entry_point_type(type_name)
    if found is None:
        raise ConfigError(
            f"{where}: unknown backend type {type_name!r} "
            f"(known: {', '.join(known_backend_types())})",
            key=where,
            hint="check the spelling, or install the package that provides it",
        )
    return found


def _parsed_layer(layer: LayerConfig, where: str) -> tuple[LayerFactory, Any]:
    """The factory of ``layer`` and its validated options (typed, or a plain dict)."""
    factory = _layer_factory(layer.type)
    if factory is None:
        known = ", ".join(known_layer_types())
        raise ConfigError(
            f"{where}.type: unknown layer type {layer.type!r} (known: {known})",
            key=f"{where}.type",
        )
    options_cls = getattr(factory, "Options", None)
    if options_cls is not None and hasattr(options_cls, "parse"):
        return factory, options_cls.parse(layer.options, where=where)
    return factory, None


def _check_layers(layers: tuple[LayerConfig, ...], where: str) -> None:
    for i, layer in enumerate(layers):
        _parsed_layer(layer, f"{where}[{i}]")


def _backend_layers(cfg: BackendConfig, where: str) -> tuple[LayerConfig, ...]:
    """A backend's layers with its ``retry = {...}`` shorthand placed as a retry layer."""
    if cfg.retry is None:
        return cfg.layers
    if any(layer.type == "retry" for layer in cfg.layers):
        raise ConfigError(
            f"{where}.retry: the backend has both a 'retry' table and a retry layer",
            key=f"{where}.retry",
            hint="keep one: the retry layer's options are a superset of the 'retry' table",
        )
    policy = cfg.retry
    options: dict[str, Any] = {
        "attempts": policy.max_attempts,
        "base_delay_s": policy.backoff_base,
        "max_delay_s": policy.backoff_max,
        "jitter": min(1.0, policy.jitter),
    }
    if policy.timeout is not None:
        options["deadline_s"] = policy.timeout
    layers = list(cfg.layers)
    from storeroom.layers.order import retry_shorthand_index

    layers.insert(retry_shorthand_index([x.type for x in layers]), LayerConfig("retry", options))
    return tuple(layers)


def _apply_layers(
    backend: Backend, layers: tuple[LayerConfig, ...], where: str, store: str | None = None
) -> Backend:
    # Listed outermost first, so wrap from the innermost (last) outwards.
    for i, layer in reversed(list(enumerate(layers))):
        factory, parsed = _parsed_layer(layer, f"{where}[{i}]")
        if parsed is not None:
            if store is not None and getattr(parsed, "store", "") is None:
                parsed = dataclasses.replace(parsed, store=store)  # a store's own layer knows it
            backend = factory.from_options(backend, parsed)  # type: ignore[attr-defined]
            continue
        try:
            backend = factory(backend, **thaw(layer.options))
        except TypeError as exc:
            raise ConfigError(f"{where}[{i}]: {exc}", key=f"{where}[{i}]") from exc
    return backend


def validate_config(config: RegistryConfig) -> None:
    """Every check that needs no I/O: references, types, options, layers."""
    for name, backend in config.backends.items():
        where = config.where(f"backends.{name}")
        btype = _backend_type(backend.type, f"{where}.type")
        opts_cls = btype.options_cls()
        if opts_cls is not None:
            opts_cls.parse(backend.options, where=f"{where}.options")
        _check_layers(_backend_layers(backend, where), f"{where}.layers")
    for name, store in config.stores.items():
        where = config.where(f"stores.{name}")
        if store.backend not in config.backends:
            defined = ", ".join(sorted(config.backends)) or "none"
            raise ConfigError(
                f"{where}.backend: unknown backend {store.backend!r} (defined backends: {defined})",
                key=f"{where}.backend",
            )
        _check_layers(store.layers, f"{where}.layers")


def _unknown(kind: str, name: str, known: list[str]) -> UnknownName:
    return UnknownName(
        f"no {kind} named {name!r} (defined: {', '.join(known) or 'none'})",
        key=name,
        hint=f"add it under [{kind}s] in the config",
    )


class Registry:
    """Named stores built from one configuration. Thread-safe; close it when done.

    Backends are built on first use and shared by every store that names them.
    """

    def __init__(self, config: RegistryConfig | Mapping[str, Any] | None = None) -> None:
        if config is None:
            config = RegistryConfig()
        elif not isinstance(config, RegistryConfig):
            config = RegistryConfig.from_dict(config)
        config.validate()
        self._config = config
        self._backends: dict[str, Backend] = {}
        self._stores: dict[str, Store] = {}
        self._locks = {name: threading.Lock() for name in config.backends}
        self._lock = threading.Lock()

    @property
    def config(self) -> RegistryConfig:
        return self._config

    @property
    def store_names(self) -> list[str]:
        return sorted(self._config.stores)

    @property
    def backend_names(self) -> list[str]:
        return sorted(self._config.backends)

    def get_backend(self, name: str) -> Backend:
        """The shared backend (with its layers) called ``name``, built on first use."""
        backend = self._backends.get(name)
        if backend is not None:
            return backend
        cfg = self._config.backends.get(name)
        if cfg is None:
            raise _unknown("backend", name, self.backend_names)
        with self._locks[name]:
            backend = self._backends.get(name)
            if backend is None:
                where = self._config.where(f"backends.{name}")
                btype = _backend_type(cfg.type, f"{where}.type")
                try:
                    built = btype.build(cfg.options, f"{where}.options")
                except StoreroomError as exc:
                    scrub_exception(exc)  # secrets masked in the cause chain (CONFIG-037)
                    raise
                except Exception as exc:
                    scrub_exception(exc)
                    raise ConfigError(
                        f"{where}: building the {cfg.type!r} backend failed: {type(exc).__name__}",
                        key=where,
                    ) from exc
                # The context layer is always innermost (spec LAYER-070).
                backend = _apply_layers(
                    ContextLayer(built), _backend_layers(cfg, where), f"{where}.layers"
                )
                self._backends[name] = backend
        return backend

    def get_store(self, name: str) -> Store:
        """The store called ``name``; ``KeyError`` (``UnknownName``) lists the known names."""
        store = self._stores.get(name)
        if store is not None:
            return store
        profile = self._config.stores.get(name)
        if profile is None:
            raise _unknown("store", name, self.store_names)
        backend = self.get_backend(profile.backend)
        where = self._config.where(f"stores.{name}.layers")
        backend = _apply_layers(backend, profile.layers, where, store=name)
        store = Store(backend, profile.root_path, name=name, owns_backend=False)
        with self._lock:
            return self._stores.setdefault(name, store)

    def get_async_store(self, name: str, *, executor: Executor | None = None) -> AsyncStore:
        """``get_store(name)`` for asyncio code: an ``AsyncStore`` over the same Store."""
        from storeroom.aio import AsyncStore

        return AsyncStore(self.get_store(name), executor=executor)

    def close(self) -> None:
        """Close every backend built so far; later calls rebuild them lazily."""
        with self._lock:
            backends, self._backends = self._backends, {}
            self._stores = {}
        errors: list[BaseException] = []
        for backend in backends.values():
            try:
                backend.close()
            except Exception as exc:  # close the rest before reporting
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (Registry, (self._config,))

    def __repr__(self) -> str:
        return f"Registry(stores={self.store_names}, backends={self.backend_names})"
