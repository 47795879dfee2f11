"""``ContextLayer``: stamps operation, backend and key on every error; wraps stray exceptions.

The Registry puts it directly around every backend it builds, innermost, so
each layer above it (retry, observe, ...) only ever sees ``StoreroomError``s
that already name their primitive, backend type and key (spec
LAYER-070..073). It is cheap: a ``try`` costs nothing until something is
raised; streams and listings are wrapped so failures while reading or
iterating are translated too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, BinaryIO, NoReturn

from storeroom._mask import scrub_exception
from storeroom._sources import is_user_error
from storeroom.backend import Backend, Entry, Source
from storeroom.errors import InvalidArgument, StoreroomError, UnexpectedError
from storeroom.layers._base import Layer, LayerOptions, ProxyStream
from storeroom.models import WriteResult

__all__ = ["ContextLayer", "translate"]


class ContextOptions(LayerOptions):
    layer_type = "context"


def translate(exc: BaseException, operation: str, backend: str, key: str) -> BaseException:
    """``exc`` with context filled in; a non-storeroom ``Exception`` becomes ``UnexpectedError``.

    Secrets are masked in ``exc`` and its whole cause chain on the way (CONFIG-037).
    """
    scrub_exception(exc)
    if isinstance(exc, StoreroomError):
        return exc.with_context(path=key, backend=backend, operation=operation)
    if not isinstance(exc, Exception):  # KeyboardInterrupt, GeneratorExit, ...
        return exc
    err = UnexpectedError(
        f"unexpected {type(exc).__name__} from the backend",
        path=key,
        backend=backend,
        operation=operation,
        hint="this is a bug in the backend's error mapping; please report it",
    )
    err.__cause__ = exc
    return err


class _ContextStream(ProxyStream):
    def __init__(self, inner: BinaryIO, backend: str, key: str) -> None:
        super().__init__(inner)
        self._backend = backend
        self._key = key

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._inner, method)(*args)
        except BaseException as exc:
            if isinstance(exc, OverflowError | ValueError) and not isinstance(
                exc, StoreroomError | UnicodeError
            ):
                # The caller's arguments or use of the stream (a position of
                # 2**63, a read after close), not a backend failure (ERR-011).
                raise InvalidArgument(
                    f"{method}() refused: {exc}",
                    path=self._key,
                    backend=self._backend,
                    operation="open_read",
                ) from exc
            err = translate(exc, "open_read", self._backend, self._key)
            if err is exc:
                raise
            raise err from exc


class ContextLayer(Layer):
    """Always innermost (added by the Registry): errors name operation, backend and key."""

    Options = ContextOptions

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.options = ContextOptions()

    def _fail(self, exc: BaseException, operation: str, key: str) -> NoReturn:
        err = translate(exc, operation, self.type_name, key)
        if err is exc:
            raise exc
        raise err from exc

    def stat(self, key: str) -> Entry:
        try:
            return self.inner.stat(key)
        except BaseException as exc:
            self._fail(exc, "stat", key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        try:
            stream = self.inner.open_read(key, start, end)
        except BaseException as exc:
            self._fail(exc, "open_read", key)
        return _ContextStream(stream, self.type_name, key)  # type: ignore[return-value]

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        try:
            return self.inner.write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)
        except BaseException as exc:
            if is_user_error(exc):
                raise
            self._fail(exc, "write", key)

    def delete(self, key: str) -> None:
        try:
            self.inner.delete(key)
        except BaseException as exc:
            self._fail(exc, "delete", key)

    def discard(self, key: str) -> None:
        try:
            self.inner.discard(key)
        except BaseException as exc:
            self._fail(exc, "delete", key)

    def write_if_match(
        self,
        key: str,
        src: Source,
        etag: str,
        *,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        try:
            return self.inner.write_if_match(key, src, etag, metadata=metadata, atomic=atomic)
        except BaseException as exc:
            if is_user_error(exc):
                raise
            self._fail(exc, "write", key)

    def delete_if_match(self, key: str, etag: str) -> None:
        try:
            self.inner.delete_if_match(key, etag)
        except BaseException as exc:
            self._fail(exc, "delete", key)

    def delete_many(self, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
        if not self.native_delete_many:
            return super().delete_many(keys)
        try:
            results = self.inner.delete_many(keys)
        except BaseException as exc:
            self._fail(exc, "delete", keys[0] if keys else "")
        for key, err in results.items():
            if err is not None:
                fixed = translate(err, "delete", self.type_name, key)
                if fixed is not err:
                    fixed.__cause__ = err
                results[key] = fixed  # type: ignore[assignment]
        return results

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        try:
            entries = self.inner.list(prefix, recursive=recursive, base=base)
        except BaseException as exc:
            self._fail(exc, "list", prefix)
        return self._iterate(entries, prefix)

    def _iterate(self, entries: Iterator[Entry], prefix: str) -> Iterator[Entry]:
        try:
            yield from entries
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._fail(exc, "list", prefix)

    def exists(self, key: str) -> bool:
        try:
            return self.inner.exists(key)
        except BaseException as exc:
            self._fail(exc, "exists", key)

    def is_folder(self, key: str) -> bool:
        try:
            return self.inner.is_folder(key)
        except BaseException as exc:
            self._fail(exc, "is_folder", key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        try:
            return self.inner.copy(src, dst, overwrite=overwrite)
        except BaseException as exc:
            self._fail(exc, "copy", src)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        try:
            self.inner.move(src, dst, overwrite=overwrite)
        except BaseException as exc:
            self._fail(exc, "move", src)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        try:
            self.inner.remove_folder(key, recursive=recursive)
        except BaseException as exc:
            self._fail(exc, "remove_folder", key)

    def ping(self) -> None:
        try:
            self.inner.ping()
        except BaseException as exc:
            self._fail(exc, "ping", "")

    def signed_url(self, key: str, expires: int, method: str) -> str:
        try:
            return self.inner.signed_url(key, expires, method)
        except BaseException as exc:
            self._fail(exc, "signed_url", key)

    def __reduce__(self) -> tuple[Any, ...]:
        return (ContextLayer, (self.inner,))
