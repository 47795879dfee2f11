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
from storeroom.backend import Backend, builds_from_options
from storeroom.backends import (
    BUILTIN_BACKENDS,
    BuiltinBackend,
    load_backend_class,
    missing_extra,
)
from storeroom.config.frozen import thaw
from storeroom.config.model import BackendConfig, LayerConfig, RegistryConfig
from storeroom.config.options import BackendOptions
from storeroom.errors import ConfigError, StoreroomError
from storeroom.layers import BUILTIN_LAYERS
from storeroom.layers.context import ContextLayer
from storeroom.layers.retry import RetryOptions
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

    def build(
        self, options: Mapping[str, Any], where: str, registry: Registry | None = None
    ) -> Backend:
        opts_cls = self.options_cls()
        parsed = _parse_options(opts_cls, options, where) if opts_cls is not None else None
        if self.factory is not None and self.backend_path is None:
            if (
                parsed is not None
                and registry is not None
                and hasattr(self.factory, "from_registry")
            ):
                return _checked(self.factory.from_registry(parsed, registry, where), self.name)
            if parsed is not None and builds_from_options(self.factory):
                factory: Any = self.factory
                return _checked(factory.from_options(parsed), self.name)
            try:
                return _checked(self.factory(**thaw(options)), self.name)
            except TypeError as exc:
                raise ConfigError(f"{where}: {exc}", key=where) from exc
        assert self.backend_path is not None
        info = BUILTIN_BACKENDS.get(self.name)
        if info is not None and info.backend_path == self.backend_path:
            cls = load_backend_class(info, key=where)
        else:
            try:
                cls = _load(self.backend_path)
            except ImportError as exc:
                info = BuiltinBackend(self.name, "", "", "", extra=self.extra)
                raise missing_extra(info, exc, where) from None
        if registry is not None and hasattr(cls, "from_registry"):
            # A backend over other backends (mount, tiers) resolves its references here.
            return _checked(cls.from_registry(parsed, registry, where), self.name)
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
    name: _BackendType(name, info.options_path, info.backend_path, info.extra)
    for name, info in BUILTIN_BACKENDS.items()
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
            opts = getattr(factory, "options_class", None) if builds_from_options(factory) else None
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


def _rekey(exc: ConfigError, where: str) -> ConfigError:
    """Make ``exc.key`` the full key path under ``where`` (an option class knows only its own)."""
    if exc.key is None:
        exc.key = where
    elif not exc.key.startswith(where):
        exc.key = f"{where}.{exc.key}"
        if not exc.message.startswith(where):
            exc.message = f"{where}.{exc.message}"
    return exc


def _parse_options(
    opts_cls: type[BackendOptions], options: Mapping[str, Any], where: str
) -> BackendOptions:
    """``opts_cls.parse`` with every error keyed by its full path (``backends.x.options.k``)."""
    try:
        return opts_cls.parse(options, where=where)
    except ConfigError as exc:
        raise _rekey(exc, where) from exc.__cause__


def _takes_retry_option(backend_type: str) -> bool:
    """Whether the backend type's options class declares ``retry`` (s3, sftp, azure, http)."""
    found = _REGISTERED.get(backend_type) or _BUILTIN.get(backend_type)
    opts_cls = found.options_cls() if found is not None else None
    return opts_cls is not None and any(f.name == "retry" for f in dataclasses.fields(opts_cls))


def has_retry_shorthand(cfg: BackendConfig) -> bool:
    """Whether ``cfg`` asks for a retry layer by its ``retry`` table or ``options.retry``."""
    return cfg.retry is not None or (
        cfg.options.get("retry") is not None and _takes_retry_option(cfg.type)
    )


def _retry_options(cfg: BackendConfig, where: str) -> RetryOptions | None:
    """The backend's retry shorthand: its ``retry`` table or its ``options.retry``.

    Both are the retry layer's options (``RetryOptions``), so every spelling
    builds the same layer with the same defaults.
    """
    raw = cfg.options.get("retry") if _takes_retry_option(cfg.type) else None
    if raw is not None and cfg.retry is not None:
        raise ConfigError(
            f"{where}.options.retry: the backend has both a 'retry' table and options.retry",
            key=f"{where}.options.retry",
            hint="keep one; both take the same keys",
        )
    if raw is not None:
        return RetryOptions.coerce(raw, where=f"{where}.options.retry")
    return cfg.retry


def _backend_layers(cfg: BackendConfig, where: str) -> tuple[LayerConfig, ...]:
    """A backend's layers with its retry shorthand placed as a retry layer (spec CONFIG-008)."""
    retry = _retry_options(cfg, where)
    if retry is None:
        return cfg.layers
    if any(layer.type == "retry" for layer in cfg.layers):
        key = f"{where}.retry" if cfg.retry is not None else f"{where}.options.retry"
        shorthand = "a 'retry' table" if cfg.retry is not None else "options.retry"
        raise ConfigError(
            f"{key}: the backend has both {shorthand} and a retry layer",
            key=key,
            hint="keep one: both take the same keys",
        )
    layers = list(cfg.layers)
    from storeroom.layers.order import retry_shorthand_index

    index = retry_shorthand_index([x.type for x in layers])
    layers.insert(index, LayerConfig("retry", retry.to_dict()))
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
    try:
        _validate(config)
    except ConfigError as exc:
        exc.in_file(config.source)
        raise


def parsed_options(cfg: BackendConfig, where: str) -> BackendOptions | None:
    """``cfg``'s options parsed by its type's options class (``None`` without one)."""
    opts_cls = _backend_type(cfg.type, f"{where.removesuffix('.options')}.type").options_cls()
    return None if opts_cls is None else _parse_options(opts_cls, cfg.options, where)


def check_backend_config(
    config: RegistryConfig, backend: BackendConfig, where: str, name: str = ""
) -> None:
    """The no-I/O checks of one backend table: type, options, references, layers."""
    parsed = parsed_options(backend, f"{where}.options")
    check = getattr(parsed, "check_references", None)
    if check is not None:  # options naming other backends or stores (mount, tiers)
        check(config, f"{where}.options", name)
    _check_layers(_backend_layers(backend, where), f"{where}.layers")


def _validate(config: RegistryConfig) -> None:
    for name, backend in config.backends.items():
        check_backend_config(config, backend, f"backends.{name}", name)
    for name, store in config.stores.items():
        where = f"stores.{name}"
        if store.backend not in config.backends:
            defined = ", ".join(sorted(config.backends)) or "none"
            raise ConfigError(
                f"{where}.backend: unknown backend {store.backend!r} (defined backends: {defined})",
                key=f"{where}.backend",
            )
        _check_layers(store.layers, f"{where}.layers")


def _unknown(kind: str, name: str, known: list[str], file: str | None) -> UnknownName:
    return UnknownName(
        f"no {kind} named {name!r} (defined: {', '.join(known) or 'none'})",
        key=f"{kind}s.{name}",
        file=file,
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
            raise _unknown("backend", name, self.backend_names, self._config.source)
        with self._locks[name]:
            backend = self._backends.get(name)
            if backend is None:
                try:
                    backend = self._build_backend(name, cfg)
                except ConfigError as exc:
                    exc.in_file(self._config.source)
                    raise
                self._backends[name] = backend
        return backend

    def _build_backend(self, name: str, cfg: BackendConfig) -> Backend:
        return self.build_backend_config(cfg, f"backends.{name}")

    def build_backend_config(self, cfg: BackendConfig, where: str) -> Backend:
        """A new backend stack from ``cfg`` (errors keyed under ``where``); the caller owns it."""
        btype = _backend_type(cfg.type, f"{where}.type")
        try:
            built = btype.build(cfg.options, f"{where}.options", self)
        except ConfigError as exc:
            scrub_exception(exc)  # secrets masked in the cause chain (CONFIG-037)
            raise _rekey(exc, f"{where}.options") from exc.__cause__
        except StoreroomError as exc:
            scrub_exception(exc)
            raise
        except Exception as exc:
            scrub_exception(exc)
            raise ConfigError(
                f"{where}: building the {cfg.type!r} backend failed: {type(exc).__name__}",
                key=where,
            ) from exc
        # The context layer is always innermost (spec LAYER-070).
        return _apply_layers(ContextLayer(built), _backend_layers(cfg, where), f"{where}.layers")

    def get_store(self, name: str) -> Store:
        """The store called ``name``; ``KeyError`` (``UnknownName``) lists the known names.

        A ``ConfigError`` raised while building it names the config file and the key.
        """
        store = self._stores.get(name)
        if store is not None:
            return store
        profile = self._config.stores.get(name)
        if profile is None:
            raise _unknown("store", name, self.store_names, self._config.source)
        backend = self.get_backend(profile.backend)
        try:
            backend = _apply_layers(backend, profile.layers, f"stores.{name}.layers", store=name)
        except ConfigError as exc:
            exc.in_file(self._config.source)
            raise
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
