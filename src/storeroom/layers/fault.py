"""``FaultLayer``: injects failures and latency, for testing your own code (not production).

Before each primitive call it may raise a real storeroom error
(``BackendUnavailable``, retryable, by default) with probability
``error_rate`` (or ``rates[operation]``), and sleep ``latency_s`` first.
``fail_after_bytes`` makes a write's source fail after that many bytes, as a
dropped connection would; ``read_fail_after_bytes`` does the same to read
streams. ``max_faults`` stops injecting after that many faults ("fail twice,
then work"). With a ``seed`` the sequence of decisions is reproducible
(for one thread; threads interleave their draws). Injected errors happen
before the call reaches the backend, except the mid-transfer ones, which
happen while data flows (spec LAYER-060..066).
"""

from __future__ import annotations

import dataclasses
import io
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, BinaryIO, Literal

from storeroom.backend import Backend, Entry, Source
from storeroom.config.frozen import FrozenDict
from storeroom.errors import (
    BackendUnavailable,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)
from storeroom.layers._base import Layer, LayerOptions, ProxyStream, build_options
from storeroom.models import WriteResult

__all__ = ["FAULT_OPERATIONS", "FaultLayer", "FaultOptions"]

FAULT_OPERATIONS = (
    "stat",
    "open_read",
    "write",
    "delete",
    "list",
    "exists",
    "is_folder",
    "copy",
    "move",
    "remove_folder",
    "ping",
)

ErrorKind = Literal["unavailable", "permission", "not_found", "unexpected"]
_ERRORS: dict[str, type[StoreroomError]] = {
    "unavailable": BackendUnavailable,
    "permission": PermissionDenied,
    "not_found": NotFound,
    "unexpected": UnexpectedError,
}


@dataclasses.dataclass(frozen=True)
class FaultOptions(LayerOptions):
    """Options of the ``fault`` layer."""

    layer_type = "fault"

    error_rate: float = 0.0
    rates: Mapping[str, float] = dataclasses.field(default_factory=FrozenDict)
    error: ErrorKind = "unavailable"
    latency_s: float = 0.0
    fail_after_bytes: int | None = None
    read_fail_after_bytes: int | None = None
    max_faults: int | None = None
    retry_after_s: float | None = None
    seed: int | None = None

    def rules(self) -> list[tuple[str, bool, str]]:
        bad_ops = [k for k in self.rates if k not in FAULT_OPERATIONS]
        bad_rates = [
            k
            for k, v in self.rates.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1
        ]
        return [
            ("error_rate", 0 <= self.error_rate <= 1, "a probability from 0 to 1"),
            ("rates", not bad_ops, f"operation names from {', '.join(FAULT_OPERATIONS)}"),
            ("rates", not bad_rates, "probabilities from 0 to 1"),
            ("latency_s", self.latency_s >= 0, "a number >= 0"),
            (
                "fail_after_bytes",
                self.fail_after_bytes is None or self.fail_after_bytes >= 0,
                "an integer >= 0",
            ),
            (
                "read_fail_after_bytes",
                self.read_fail_after_bytes is None or self.read_fail_after_bytes >= 0,
                "an integer >= 0",
            ),
            ("max_faults", self.max_faults is None or self.max_faults >= 0, "an integer >= 0"),
            (
                "retry_after_s",
                self.retry_after_s is None or self.retry_after_s >= 0,
                "a number >= 0",
            ),
        ]


class FaultLayer(Layer):
    """Raises injected errors, adds latency and breaks transfers mid-way, reproducibly."""

    Options = FaultOptions
    options: FaultOptions

    def __init__(
        self,
        inner: Backend,
        *,
        error_rate: float = 0.0,
        rates: Mapping[str, float] | None = None,
        error: ErrorKind = "unavailable",
        latency_s: float = 0.0,
        fail_after_bytes: int | None = None,
        read_fail_after_bytes: int | None = None,
        max_faults: int | None = None,
        retry_after_s: float | None = None,
        seed: int | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(inner)
        self.options = build_options(
            FaultOptions,
            "fault layer",
            error_rate=error_rate,
            rates=FrozenDict(rates or {}),
            error=error,
            latency_s=latency_s,
            fail_after_bytes=fail_after_bytes,
            read_fail_after_bytes=read_fail_after_bytes,
            max_faults=max_faults,
            retry_after_s=retry_after_s,
            seed=seed,
        )
        if error not in _ERRORS:
            raise ValueError(f"fault layer: error must be one of {', '.join(_ERRORS)}")
        self._custom_sleep = sleep
        self._sleep = sleep or time.sleep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.faults = 0  # injected so far

    def extras(self) -> dict[str, Any]:
        return {"sleep": self._custom_sleep}

    def _budget_left(self) -> bool:
        limit = self.options.max_faults
        return limit is None or self.faults < limit

    def _count(self) -> bool:
        """Take one fault from the budget; False when it is spent."""
        with self._lock:
            if not self._budget_left():
                return False
            self.faults += 1
            return True

    def make_error(self, op: str, key: str, message: str) -> StoreroomError:
        cls = _ERRORS[self.options.error]
        return cls(
            message,
            path=key,
            backend=self.type_name,
            operation=op,
            retry_after=self.options.retry_after_s,
        )

    def _maybe(self, op: str, key: str) -> None:
        opts = self.options
        if opts.latency_s:
            self._sleep(opts.latency_s)
        rate = opts.rates.get(op, opts.error_rate)
        if not rate:
            return
        with self._lock:
            hit = self._rng.random() < rate and self._budget_left()
            if hit:
                self.faults += 1
        if hit:
            raise self.make_error(op, key, f"injected fault in {op}")

    # -- primitives -------------------------------------------------------------------

    def stat(self, key: str) -> Entry:
        self._maybe("stat", key)
        return self.inner.stat(key)

    def exists(self, key: str) -> bool:
        self._maybe("exists", key)
        return self.inner.exists(key)

    def is_folder(self, key: str) -> bool:
        self._maybe("is_folder", key)
        return self.inner.is_folder(key)

    def delete(self, key: str) -> None:
        self._maybe("delete", key)
        self.inner.delete(key)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._maybe("write", key)
        return self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)

    def delete_if_match(self, key: str, etag: str) -> None:
        self._maybe("delete", key)
        self.inner.delete_if_match(key, etag)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        """With a native bulk delete, the ``delete`` fault is drawn for each key."""
        if not self.native_delete_many:
            return super().delete_many(keys)
        injected: dict[str, StoreroomError | None] = {}
        for key in keys:
            if key in injected:
                continue
            try:
                self._maybe("delete", key)
            except StoreroomError as exc:
                injected[key] = exc
            else:
                injected[key] = None
        rest = [k for k, e in injected.items() if e is None]
        done = self.inner.delete_many(rest) if rest else {}
        return {k: (e if e is not None else done.get(k)) for k, e in injected.items()}

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        self._maybe("copy", src)
        return self.inner.copy(src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._maybe("move", src)
        self.inner.move(src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._maybe("remove_folder", key)
        self.inner.remove_folder(key, recursive=recursive)

    def ping(self) -> None:
        self._maybe("ping", "")
        self.inner.ping()

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        self._maybe("list", prefix)
        return self.inner.list(prefix, recursive=recursive, base=base)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._maybe("write", key)
        limit = self.options.fail_after_bytes
        if limit is not None and self._budget_left():
            stream: Any = (
                io.BytesIO(src) if isinstance(src, bytes | bytearray | memoryview) else src
            )
            src = _FailingSource(stream, limit, self, key)  # type: ignore[assignment]
        return self.inner.write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self._maybe("open_read", key)
        stream = self.inner.open_read(key, start, end)
        limit = self.options.read_fail_after_bytes
        if limit is not None and self._budget_left():
            return _FailingRead(stream, limit, self, key)  # type: ignore[return-value]
        return stream


class _FailingSource(io.RawIOBase):
    """A write source that raises an injected error once more than ``limit`` bytes are read."""

    def __init__(self, src: Any, limit: int, layer: FaultLayer, key: str) -> None:
        super().__init__()
        self._src = src
        self._left = limit
        self._layer = layer
        self._key = key

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._src.read(size)
        if len(data) > self._left and self._layer._count():
            raise self._layer.make_error(
                "write", self._key, "injected fault: connection dropped during the write"
            )
        self._left -= len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class _FailingRead(ProxyStream):
    """A read stream that breaks after ``limit`` bytes, as a dropped connection would.

    A sized read crossing the limit returns the bytes up to it and the next
    read raises; a read of everything (``read()``) raises at once, since a
    short answer would look like the end of the file.
    """

    def __init__(self, inner: BinaryIO, limit: int, layer: FaultLayer, key: str) -> None:
        super().__init__(inner)
        self._left = limit
        self._layer = layer
        self._key = key
        self._broken = False

    def _error(self) -> StoreroomError:
        return self._layer.make_error(
            "open_read", self._key, "injected fault: connection dropped during the read"
        )

    def read(self, size: int | None = -1) -> bytes:
        if self._broken:
            raise self._error()
        data: bytes = self._inner.read(-1 if size is None else size)
        if len(data) > self._left and self._layer._count():
            if size is None or size < 0 or self._left == 0:
                raise self._error()
            self._broken = True
            data = data[: self._left]
        self._left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self._broken:
            raise self._error()
        return super().readline(size)
