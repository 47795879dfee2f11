"""``StoreCore``: what every Store method needs, and nothing else.

The core holds the backend stack, the root, the store name and the
capability set, and offers the four things the Store's method families
(``_store_write``, ``_store_list`` and ``Store`` itself) build on: the
capability gate, path-to-key validation, key-to-path rebasing, and error
translation with context (spec STORE-001, STORE-002, ERR-002, ERR-003).
"""

from __future__ import annotations

import io
import sys
from typing import Any, BinaryIO

from storeroom._mask import scrub_exception
from storeroom._rangeio import MAX_OFFSET
from storeroom._sources import is_user_error
from storeroom._store_support import GATES, store_capabilities
from storeroom.backend import Backend
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument, InvalidPath, StoreroomError, UnexpectedError
from storeroom.layers._base import ProxyStream
from storeroom.layers.context import ContextLayer
from storeroom.path import normalize, normalize_file

__all__ = ["MAX_OFFSET", "StoreCore", "StoreStream", "with_context_layer"]

#: Validated paths a Store remembers (path -> backend key); cleared when full.
KEY_CACHE_MAX = 1024


def with_context_layer(backend: Backend) -> Backend:
    """``backend``, or ``ContextLayer(backend)`` when its stack has no context layer yet.

    The Registry puts one innermost (LAYER-070); a Store built directly gets
    one on top, so its errors are stamped and its streams and listings
    translated exactly like a registry-built store's (STORE-001a).
    """
    current: Any = backend
    while current is not None:
        if isinstance(current, ContextLayer):
            return backend
        current = getattr(current, "inner", None)
    return _with_option_retry(backend, ContextLayer(backend))


def _with_option_retry(backend: Backend, stack: Backend) -> Backend:
    """``stack`` under a retry layer when a bare ``backend`` was built with ``retry=``.

    The Registry turns ``options.retry`` into a retry layer (CONFIG-008); a
    backend built in code and handed to ``Store`` gets the same layer, so an
    accepted option is never ignored (STORE-001b).
    """
    retry = getattr(getattr(backend, "options", None), "retry", None)
    if retry is None or getattr(backend, "inner", None) is not None:
        return stack
    from storeroom.layers.retry import RetryLayer, RetryOptions  # only when asked for

    opts = RetryOptions.coerce(retry, where=f"{backend.type_name}.options.retry")
    return RetryLayer.from_options(stack, opts)


class StoreCore:
    """Backend stack, root, name and capabilities of a Store, with its gate and translation.

    ``_given`` is the backend the caller passed (``Store.backend``);
    ``_backend`` is the stack every primitive is called on (``_given`` with
    a context layer when it had none).
    """

    __slots__ = (
        "_allowed",
        "_backend",
        "_caps",
        "_given",
        "_keys",
        "_name",
        "_owns",
        "_prefix",
        "_type",
    )

    def __init__(
        self,
        backend: Backend,
        root_path: str = "",
        *,
        name: str | None = None,
        owns_backend: bool = True,
    ) -> None:
        if not isinstance(backend, Backend):
            raise InvalidArgument(
                f"Store needs a storeroom Backend, got {type(backend).__name__}",
                hint="build one with Registry.get_store() or e.g. LocalBackend(root=...)",
            )
        self._given = backend
        self._backend = with_context_layer(backend)
        self._prefix = normalize(root_path)
        self._name = name
        self._type = backend.type_name
        self._caps = store_capabilities(backend)
        #: The gated methods this store offers (a name lookup is cheaper than an enum's).
        self._allowed = frozenset(m for m, cap in GATES.items() if cap in self._caps)
        #: Paths already validated: str path -> backend key (never the root).
        self._keys: dict[str, str] = {}
        self._owns = owns_backend

    def _gate(self, method: str, path: object = None) -> None:
        if method not in self._allowed:
            from storeroom.layers.readonly import refusal  # off the hot path

            cap = GATES[method]
            where = path if path is None or isinstance(path, str) else repr(path)
            raise refusal(self._backend, cap, method, path=where, store=self._name)

    def _has(self, capability: Capability) -> bool:
        return capability in self._caps

    def _key(self, path: object) -> str:
        if type(path) is str:
            known = self._keys.get(path)
            if known is not None:
                return known
        try:
            key = normalize(path, backend=self._type)
        except InvalidPath as exc:
            raise self._bad_path(exc) from None
        if not key:
            return self._prefix
        return self._remember(path, f"{self._prefix}/{key}" if self._prefix else key)

    def _file_key(self, path: object) -> str:
        if type(path) is str:
            known = self._keys.get(path)
            if known is not None:
                return known
        try:
            key = normalize_file(path, backend=self._type)
        except InvalidPath as exc:
            raise self._bad_path(exc) from None
        return self._remember(path, f"{self._prefix}/{key}" if self._prefix else key)

    def _remember(self, path: object, key: str) -> str:
        """Cache ``key`` for a plain ``str`` path (validation is a pure function of it)."""
        if type(path) is str:
            keys = self._keys
            if len(keys) >= KEY_CACHE_MAX:
                keys.clear()
            keys[path] = key
        return key

    def _bad_path(self, exc: InvalidPath) -> InvalidPath:
        # Off the hot path: name the public method that was called.
        frame = sys._getframe(2)
        op = None
        cls = type(self)
        for _ in range(4):
            if frame is None:
                break
            name = frame.f_code.co_name
            if not name.startswith("_") and hasattr(cls, name):
                op = name
                break
            frame = frame.f_back  # type: ignore[assignment]
        exc.with_context(store=self._name, operation=op)
        return exc

    def _rel(self, key: str) -> str:
        """Store-relative path of a backend key."""
        p = self._prefix
        if not p:
            return key
        if key == p:
            return ""
        if key.startswith(p) and key[len(p) : len(p) + 1] == "/":
            return key[len(p) + 1 :]
        return key

    def _stamp(self, exc: StoreroomError, op: str, path: str | None = None) -> StoreroomError:
        """Fill a Store-level error's context: backend, store, operation, path."""
        return exc.with_context(path=path, backend=self._type, operation=op, store=self._name)

    def _fail(self, exc: Exception, op: str, key: str) -> Exception:
        """Translate any failure inside a backend call into a contextual storeroom error."""
        if is_user_error(exc):
            return exc
        scrub_exception(exc)  # secrets masked in the whole cause chain (CONFIG-037)
        if isinstance(exc, StoreroomError):
            exc.path = self._rel(exc.path) if exc.path is not None else self._rel(key)
            # The public method the user called wins over the primitive the
            # context layer stamped underneath it.
            exc.operation = op
            exc.with_context(backend=self._type, store=self._name)
            return exc
        err = UnexpectedError(
            f"unexpected {type(exc).__name__} from the backend",
            path=self._rel(key),
            backend=self._type,
            operation=op,
            store=self._name,
            hint="this is a bug in the backend's error mapping; please report it",
        )
        err.__cause__ = exc
        return err


class StoreStream(ProxyStream):
    """A read stream whose failures carry the Store's context like every other error.

    Below it the context layer already made each failure a ``StoreroomError``
    naming the backend key; this rebases the path onto the store root and adds
    the store name and the public method (ERR-003).
    """

    def __init__(self, inner: BinaryIO, core: StoreCore, op: str, key: str) -> None:
        super().__init__(inner)
        self._core = core
        self._op = op
        self._key = key

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except Exception as exc:
            err = self._core._fail(exc, self._op, self._key)
            if err is exc:
                raise
            raise err from exc

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # Streams differ on 2**63 (OverflowError, or accepted); refuse it alike.
        if isinstance(offset, int) and not -MAX_OFFSET <= offset <= MAX_OFFSET:
            err = InvalidArgument(f"seek offset {offset} is outside (-2**63, 2**63)")
            raise self._core._stamp(err, self._op, self._core._rel(self._key))
        return super().seek(offset, whence)
