"""``MeasuredLayer``: the one table of primitives a measuring layer wraps, and the name of each.

``observe`` and ``otel`` both measure every plain primitive call the same way
(``write_if_match`` counts as a ``write``, ``delete_if_match`` as a
``delete``); each supplies only ``_measured``, the hook that times and reports
one call, and overrides the primitives it reports differently (streams,
listings, bulk deletes, signed URLs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from storeroom.backend import Entry, Source
from storeroom.layers._base import Layer
from storeroom.models import WriteResult

__all__ = ["MeasuredLayer"]


class MeasuredLayer(Layer):
    """Forwards each plain primitive through ``_measured(operation, key, fn, *args, **kw)``."""

    def _measured(self, op: str, key: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Call ``fn(*args, **kw)`` as the operation ``op`` on ``key``; return its result."""
        raise NotImplementedError

    def stat(self, key: str) -> Entry:
        entry: Entry = self._measured("stat", key, self.inner.stat, key)
        return entry

    def exists(self, key: str) -> bool:
        return bool(self._measured("exists", key, self.inner.exists, key))

    def is_folder(self, key: str) -> bool:
        return bool(self._measured("is_folder", key, self.inner.is_folder, key))

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        fn = self.inner.write
        result: WriteResult = self._measured(
            "write", key, fn, key, src, overwrite=overwrite, metadata=metadata, atomic=atomic
        )
        return result

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        fn = self.inner.write_if_match
        result: WriteResult = self._measured(
            "write", key, fn, key, src, etag, metadata=metadata, atomic=atomic
        )
        return result

    def delete(self, key: str) -> None:
        self._measured("delete", key, self.inner.delete, key)

    def delete_if_match(self, key: str, etag: str) -> None:
        self._measured("delete", key, self.inner.delete_if_match, key, etag)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        fn = self.inner.copy
        result: WriteResult = self._measured("copy", src, fn, src, dst, overwrite=overwrite)
        return result

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._measured("move", src, self.inner.move, src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._measured("remove_folder", key, self.inner.remove_folder, key, recursive=recursive)

    def ping(self) -> None:
        self._measured("ping", "", self.inner.ping)
