"""What every layer shares: typed options, pickling, a stream proxy, the per-call record.

A layer is a ``Forwarding`` backend (spec LAYER-001): it forwards every
primitive to ``inner`` and overrides only what it changes. Its options are a
frozen ``LayerOptions`` dataclass, validated the same way in code and in
config (unknown key, wrong type, out-of-range value → ``ConfigError`` naming
the key path). A layer pickles as its options around its pickled inner
backend, so a Store with layers still pickles as configuration.
"""

from __future__ import annotations

import contextvars
import dataclasses
import io
import typing
from collections.abc import Mapping
from typing import Any, BinaryIO, ClassVar, TypeVar

from storeroom.backend import Backend, Forwarding
from storeroom.config.options import _coerce
from storeroom.errors import ConfigError

__all__ = ["CallRecord", "Layer", "LayerOptions", "ProxyStream", "current_call"]

OptT = TypeVar("OptT", bound="LayerOptions")
L = TypeVar("L", bound="Layer")


@dataclasses.dataclass(frozen=True)
class LayerOptions:
    """Base of each layer's typed options.

    ``aliases`` maps alternative spellings (remote-store's ``ttl``) to field
    names. ``rules()`` returns ``(field, ok, expectation)`` range checks.
    """

    layer_type: ClassVar[str] = "layer"
    aliases: ClassVar[Mapping[str, str]] = {}

    def rules(self) -> list[tuple[str, bool, str]]:
        return []

    def check(self, where: str) -> None:
        for name, ok, expected in self.rules():
            if not ok:
                raise ConfigError(
                    f"{where}.{name}: expected {expected}, got {getattr(self, name)!r}",
                    key=f"{where}.{name}",
                )

    @classmethod
    def parse(cls: type[OptT], raw: Mapping[str, Any], *, where: str) -> OptT:
        """Validate a raw option mapping (from config) into the typed options."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: expected a table, got {type(raw).__name__}", key=where)
        hints = typing.get_type_hints(cls)
        fields = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for raw_key, value in raw.items():
            key = cls.aliases.get(raw_key, raw_key)
            if key not in fields:
                known = ", ".join(sorted(fields)) or "none"
                raise ConfigError(
                    f"{where}.{raw_key}: unknown option for layer type {cls.layer_type!r} "
                    f"(known options: {known})",
                    key=f"{where}.{raw_key}",
                )
            if key in values:
                raise ConfigError(
                    f"{where}.{raw_key}: option given twice (as {key!r} and an alias)",
                    key=f"{where}.{raw_key}",
                )
            values[key] = _coerce(value, hints[key], f"{where}.{raw_key}")
        opts = cls(**values)
        opts.check(where)
        return opts

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


class Layer(Forwarding):
    """Base of the built-in layers: ``Forwarding`` plus typed options and pickling.

    Subclasses set ``Options`` and build ``self.options`` in ``__init__``.
    ``extras()`` returns constructor arguments that are not config options
    (callbacks, clocks) so that pickling can pass them on.
    """

    Options: ClassVar[type[LayerOptions]] = LayerOptions
    options: LayerOptions

    @classmethod
    def from_options(  # type: ignore[override]  # a layer is built over its inner backend
        cls: type[L], inner: Backend, options: LayerOptions
    ) -> L:
        return cls(inner, **options.to_dict())

    def extras(self) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.inner, self.options.to_dict(), self.extras()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def _rebuild(
    cls: type[Layer], inner: Backend, options: dict[str, Any], extras: dict[str, Any]
) -> Layer:
    return cls(inner, **options, **extras)


def build_options(cls: type[OptT], where: str, **values: Any) -> OptT:
    """Options from code: same checks as config (``where`` names the layer)."""
    opts = cls(**values)
    opts.check(where)
    return opts


# -- the record of the current call (read by observe, filled by retry and cache) -------


class CallRecord:
    """Facts inner layers report about the call an outer observe layer is timing.

    Class-level defaults and no ``__init__``: creating one is as cheap as it gets.
    """

    attempts: int = 1
    cache_hit: bool | None = None

    def retrying(self, attempt: int, delay_s: float, error: BaseException) -> None:
        """Try ``attempt`` failed with ``error``; a retry layer below waits ``delay_s`` (a hook)."""


_CURRENT: contextvars.ContextVar[CallRecord | None] = contextvars.ContextVar(
    "storeroom_layer_call", default=None
)
current_call = _CURRENT.get


# -- streams ------------------------------------------------------------------------


class ProxyStream(io.BufferedIOBase):
    """A read stream forwarding to ``inner``; subclasses hook reads, seeks and close.

    Every data method goes through ``read``/``readline`` so one override sees
    all bytes; ``_call`` is the single place a subclass wraps the inner call
    (retry, error translation). No buffering is added.
    """

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def _call(self, method: str, *args: Any) -> Any:
        return getattr(self._inner, method)(*args)

    def _data(self, data: bytes, eof: bool) -> None:
        """Called with every chunk read; ``eof`` when the end was reached."""

    def _done(self) -> None:
        """Called once, when the stream is closed."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._inner.seekable())

    def read(self, size: int | None = -1) -> bytes:
        if size is None:
            size = -1
        data: bytes = self._call("read", size)
        self._data(data, size < 0 or not data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        n = len(data)
        view[:n] = data
        return n

    readinto1 = readinto

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._call("readline", -1 if size is None else size)
        self._data(data, not data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        pos: int = self._call("seek", offset, whence)
        self._sought(pos)
        return pos

    def _sought(self, pos: int) -> None:
        """Called after a successful seek."""

    def tell(self) -> int:
        return int(self._inner.tell())

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._inner.close()
        finally:
            super().close()
            self._done()

    @property
    def name(self) -> Any:
        return getattr(self._inner, "name", None)
