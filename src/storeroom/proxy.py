"""``ProxyStore``: a Store that forwards every method to another Store (spec COMPAT-010).

Subclass it and override only the methods you want to intercept (logging,
auditing, access rules); everything else reaches the wrapped store. The
wrappers ``cache()`` and ``observe()`` return ProxyStore subclasses whose
calls go through a layer added on top of the wrapped store's backend stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from storeroom.store import Store

__all__ = ["ProxyStore"]

#: Store methods a ProxyStore forwards (properties come from the Store base).
FORWARDED = (
    "read",
    "read_bytes",
    "read_text",
    "read_range",
    "read_seekable",
    "write",
    "write_text",
    "write_atomic",
    "open_atomic",
    "delete",
    "delete_folder",
    "list_files",
    "list_folders",
    "iter_children",
    "glob",
    "move",
    "copy",
    "exists",
    "is_file",
    "is_folder",
    "get_file_info",
    "head",
    "get_folder_info",
    "resolve",
    "native_path",
    "to_key",
    "ping",
    "unwrap",
    "supports",
    "url",
)


def _forward(name: str) -> Callable[..., Any]:
    def method(self: ProxyStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._target, name)(*args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"ProxyStore.{name}"
    method.__doc__ = getattr(Store, name).__doc__
    return method


class ProxyStore(Store):
    """Forwards every Store method to ``inner``; subclass and override what you intercept.

    ``child()`` wraps the inner store's child with ``_wrap_child`` (by default
    ``type(self)(inner_child)``; override it when your constructor takes more).
    ``close()`` closes the inner store.
    """

    _target: Store

    def __init__(self, inner: Store, *, _target: Store | None = None) -> None:
        target = inner if _target is None else _target
        Store.__init__(self, target.backend, target.root_path, name=target.name, owns_backend=False)
        self._inner = inner
        self._target = target

    @property
    def inner(self) -> Store:
        """The wrapped Store."""
        return self._inner

    def child(self, subpath: str) -> Store:
        """A child store of the inner one, wrapped the same way."""
        return self._wrap_child(self._inner.child(subpath))

    def _wrap_child(self, inner_child: Store) -> Store:
        return type(self)(inner_child)

    def close(self) -> None:
        """Close the inner store (which releases its backend if it owns it)."""
        self._inner.close()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ProxyStore)
        return self._inner == other._inner and self._target == other._target

    def __hash__(self) -> int:
        return hash((type(self), self._inner, id(self._target)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(inner={self._inner!r})"


for _name in FORWARDED:
    setattr(ProxyStore, _name, _forward(_name))
del _name
