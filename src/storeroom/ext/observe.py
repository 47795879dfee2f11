"""``observe(store, on_read=...)``: hooks per operation, on the observe layer (spec COMPAT-012).

remote-store's store wrapper, kept by name: ``observe()`` adds an
``ObserveLayer`` on top of the store's backend stack with one sink that turns
each ``ObserveEvent`` into a ``StoreEvent`` and calls the hooks. Events are
the layer's: one per backend primitive, so ``operation`` is the primitive
(``read``, ``write``, ``delete``, ``copy``, ``move``, ``list``, ``stat``,
``exists``, ``is_folder``, ``remove_folder``, ``ping``), not the Store method.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from storeroom.layers.observe import ObserveEvent, ObserveLayer, event_error, set_correlation_id
from storeroom.proxy import FORWARDED, ProxyStore
from storeroom.store import Store

__all__ = ["BufferedObserver", "ObservedStore", "StoreEvent", "observe", "set_correlation_id"]

log = logging.getLogger(__name__)

Hook = Callable[["StoreEvent"], None]
Around = Callable[[str, str, str], AbstractContextManager[Any]]

#: primitive → (StoreEvent.operation, hook, always); always False: reported only on failure.
_OPS: dict[str, tuple[str, str, bool]] = {
    "open_read": ("read", "on_read", False),
    "read_stream": ("read", "on_read", True),
    "write": ("write", "on_write", True),
    "delete": ("delete", "on_delete", True),
    "delete_many": ("delete", "on_delete", True),
    "remove_folder": ("remove_folder", "on_delete", True),
    "copy": ("copy", "on_copy", True),
    "move": ("move", "on_move", True),
    "list": ("list", "on_list", False),
    "list_stream": ("list", "on_list", True),
    "stat": ("stat", "on_list", True),
    "exists": ("exists", "on_list", True),
    "is_folder": ("is_folder", "on_list", True),
    "ping": ("ping", "on_ping", True),
}


@dataclasses.dataclass(frozen=True)
class StoreEvent:
    """One finished operation, as passed to the hooks."""

    operation: str
    path: str
    backend: str
    started_at: float
    duration_ms: float
    error: Exception | None
    metadata: dict[str, Any]
    correlation_id: str | None


class _HookSink:
    """The observe layer's sink: ``ObserveEvent`` → ``StoreEvent`` → hooks."""

    def __init__(self, hooks: dict[str, Hook | None], root: str) -> None:
        self.hooks = hooks
        self.root = root

    def __call__(self, ev: ObserveEvent) -> None:
        op = _OPS.get(ev.operation)
        if op is None or (not op[2] and ev.ok):
            return
        key = ev.key
        if self.root and (key == self.root or key.startswith(self.root + "/")):
            key = key[len(self.root) + 1 :]
        err = event_error()
        meta = {
            k: v
            for k, v in (("bytes", ev.bytes), ("entries", ev.entries), ("cache_hit", ev.cache_hit))
            if v is not None
        }
        meta["attempts"] = ev.attempts
        call = _CALL.get()
        if call is not None and call[0] == op[0]:  # the Store call's own arguments (COMPAT-306)
            meta.update(call[1])
        event = StoreEvent(
            operation=op[0],
            path=key,
            backend=ev.backend,
            started_at=time.monotonic() - ev.duration_s,
            duration_ms=ev.duration_s * 1000.0,
            error=err if isinstance(err, Exception) else None,
            metadata=meta,
            correlation_id=ev.correlation_id,
        )
        names = [op[1], "on_any"] + (["on_error"] if not ev.ok else [])
        for name in names:
            hook = self.hooks.get(name)
            if hook is not None:
                try:
                    hook(event)
                except Exception:  # a broken hook never breaks the storage call
                    log.warning("observe hook %s raised", name, exc_info=True)


class ObservedStore(ProxyStore):
    """A Store whose calls go through an ``ObserveLayer`` feeding hooks; built by ``observe()``."""

    def __init__(
        self,
        inner: Store,
        layer: ObserveLayer,
        around: Around | None = None,
        *,
        _target: Store | None = None,
    ) -> None:
        if _target is None:
            _target = Store(layer, inner.root_path, name=inner.name, owns_backend=False)
        super().__init__(inner, _target=_target)
        self._layer = layer
        self._around = around

    @property
    def layer(self) -> ObserveLayer:
        """The observe layer emitting the events."""
        return self._layer

    def child(self, subpath: str) -> Store:
        """An observed child store (same layer, same hooks)."""
        return ObservedStore(
            self._inner.child(subpath),
            self._layer,
            self._around,
            _target=self._target.child(subpath),
        )


#: (event operation, metadata) of the Store call in progress, for remote-store's keys.
_CALL: contextvars.ContextVar[tuple[str, dict[str, Any]] | None] = contextvars.ContextVar(
    "storeroom_observe_call", default=None
)
_LISTINGS = {"list_files", "list_folders", "iter_children", "glob", "get_folder_info"}


def _call_meta(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    """remote-store's event metadata of a call: ``dst`` of a copy/move, a listing's options."""
    if name in ("copy", "move"):
        dst = args[1] if len(args) > 1 else kwargs.get("dst")
        return (name, {"dst": str(dst)}) if dst is not None else None
    if name in _LISTINGS:
        return "list", {"max_depth": kwargs.get("max_depth"), "pattern": kwargs.get("pattern")}
    return None


def _iterate_in_call(it: Iterator[Any], meta: tuple[str, dict[str, Any]]) -> Iterator[Any]:
    """``it``, with the call's metadata visible while each item is pulled."""
    while True:
        token = _CALL.set(meta)
        try:
            item = next(it)
        except StopIteration:
            return
        finally:
            _CALL.reset(token)
        yield item


def _around(name: str) -> Callable[..., Any]:
    forward = getattr(ProxyStore, name)

    def method(self: ObservedStore, *args: Any, **kwargs: Any) -> Any:
        meta = _call_meta(name, args, kwargs)
        token = _CALL.set(meta) if meta is not None else None
        try:
            if self._around is None:
                result = forward(self, *args, **kwargs)
            else:
                path = str(args[0]) if args and isinstance(args[0], str) else ""
                with self._around(name, path, self.backend.type_name):
                    result = forward(self, *args, **kwargs)
        finally:
            if token is not None:
                _CALL.reset(token)
        if meta is not None and isinstance(result, Iterator):
            return _iterate_in_call(result, meta)  # a listing reports when it ends
        return result

    method.__name__ = name
    method.__qualname__ = f"ObservedStore.{name}"
    method.__doc__ = forward.__doc__
    return method


for _name in FORWARDED:
    setattr(ObservedStore, _name, _around(_name))
del _name


def observe(
    store: Store,
    *,
    on_read: Hook | None = None,
    on_write: Hook | None = None,
    on_delete: Hook | None = None,
    on_copy: Hook | None = None,
    on_move: Hook | None = None,
    on_list: Hook | None = None,
    on_ping: Hook | None = None,
    on_error: Hook | None = None,
    on_any: Hook | None = None,
    around: Around | None = None,
    tracer_name: str | None = None,
    meter_name: str | None = None,
    tracer: Any = None,
    meter: Any = None,
    record_paths: bool | None = None,
) -> ObservedStore:
    """Wrap ``store`` so each operation calls the matching hook with a ``StoreEvent``.

    ``on_error`` fires for failed operations, ``on_any`` for all;
    ``around(operation, path, backend)`` is a context manager around each Store call.
    ``OtelLayer`` settings (``**otel_hooks()``) also put that layer in (COMPAT-304).
    """
    hooks: dict[str, Hook | None] = {
        "on_read": on_read,
        "on_write": on_write,
        "on_delete": on_delete,
        "on_copy": on_copy,
        "on_move": on_move,
        "on_list": on_list,
        "on_ping": on_ping,
        "on_error": on_error,
        "on_any": on_any,
    }
    sink = _HookSink(hooks, store.root_path)
    inner = store.backend
    otel: dict[str, Any] = {
        k: v
        for k, v in (
            ("tracer_name", tracer_name),
            ("meter_name", meter_name),
            ("tracer", tracer),
            ("meter", meter),
            ("record_paths", record_paths),
        )
        if v is not None
    }
    if otel:
        from storeroom.ext.otel import OtelLayer

        inner = OtelLayer(inner, store=store.name, **otel)
    layer = ObserveLayer(inner, log=False, store=store.name, sinks=[sink])
    return ObservedStore(store, layer, around)


class BufferedObserver:
    """Queues events from ``on_event`` and hands them to ``handler`` in batches.

    A background thread flushes every ``flush_interval`` seconds; a full queue
    drops the event with a warning. ``close()`` stops the thread and flushes.
    """

    def __init__(
        self,
        handler: Callable[[list[StoreEvent]], None],
        *,
        max_queue: int = 1000,
        flush_interval: float = 5.0,
    ) -> None:
        self._handler = handler
        self._queue: queue.Queue[StoreEvent] = queue.Queue(maxsize=max_queue)
        self._interval = flush_interval
        self._stop = threading.Event()
        self._flush_lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name="storeroom-buffered-observer", daemon=True
        )
        self._thread.start()

    def on_event(self, event: StoreEvent) -> None:
        """Queue ``event`` (use it as a hook: ``observe(store, on_any=buffered.on_event)``)."""
        if self._stop.is_set():
            return
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.warning(
                "BufferedObserver queue full: event %s %s dropped", event.operation, event.path
            )

    def flush(self) -> None:
        """Hand every queued event to the handler now (nothing when the queue is empty)."""
        with self._flush_lock:
            events: list[StoreEvent] = []
            with contextlib.suppress(queue.Empty):
                while True:
                    events.append(self._queue.get_nowait())
            if events:
                self._handler(events)

    def close(self) -> None:
        """Stop the background thread and flush what is left."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.flush()
            except Exception:  # the handler failing must not kill the thread
                log.warning("BufferedObserver handler raised", exc_info=True)
