"""``StoreMapper``: the files under one folder of a Store as a ``MutableMapping[str, bytes]``.

Keys are file paths relative to the folder; values are whole file contents.
It is what ``store.mapper(path)`` returns (spec MAP-*): a key-value view for
tools that want a mapping (Zarr-style chunk stores, caches) without fsspec.
Every call goes through the Store, so paths are validated and errors typed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Literal

from storeroom.capabilities import Capability
from storeroom.errors import InvalidPath, NotFound, StoreroomError
from storeroom.path import normalize_file

if TYPE_CHECKING:
    from storeroom.store import Store

__all__ = ["StoreMapper"]

#: Keys deleted per ``batch_delete`` call while clearing, so listing stays streamed.
CLEAR_CHUNK = 1000


def _missing(key: str, exc: StoreroomError) -> KeyError:
    err = KeyError(key)
    err.__cause__ = exc
    return err


def _names_a_folder(key: str) -> bool:
    """Whether ``key`` is a well-formed file path (so its ``InvalidPath`` means: a folder)."""
    try:
        normalize_file(key)
    except InvalidPath:
        return False
    return True


def _check_value(key: str, value: object) -> bytes | bytearray | memoryview:
    if isinstance(value, bytes | bytearray | memoryview):
        return value
    raise TypeError(f"mapper values are bytes, got {type(value).__name__} for key {key!r}")


class StoreMapper(MutableMapping[str, bytes]):
    """A dict-like view of the files under ``path`` of ``store``; reads and writes go through.

    ``m[k]`` reads a file (missing, or a folder: ``KeyError`` whose ``__cause__``
    is the storeroom error), ``m[k] = v`` replaces it (atomically where the backend can),
    ``del m[k]`` deletes it; iteration lists the files recursively, streamed.
    """

    __slots__ = ("_atomic", "_store")

    def __init__(self, store: Store, path: str = "") -> None:
        self._store = store.child(path) if path else store
        self._atomic = store.supports(Capability.ATOMIC_WRITE)

    @property
    def store(self) -> Store:
        """The Store rooted at the mapper's folder (keys are its paths)."""
        return self._store

    @property
    def root(self) -> str:
        """The folder, as a path of the backend under the original store's root."""
        return self._store.root_path

    # -- the five methods MutableMapping needs ----------------------------------------

    def __getitem__(self, key: str) -> bytes:
        try:
            return self._store.read_bytes(key)
        except NotFound as exc:
            raise _missing(key, exc) from exc
        except InvalidPath as exc:
            if _names_a_folder(key):
                raise _missing(key, exc) from exc
            raise

    def __setitem__(self, key: str, value: bytes) -> None:
        data = _check_value(key, value)
        if self._atomic:
            self._store.write_atomic(key, data, overwrite=True)
        else:
            self._store.write(key, data, overwrite=True)

    def __delitem__(self, key: str) -> None:
        try:
            self._store.delete(key)
        except NotFound as exc:
            raise _missing(key, exc) from exc
        except InvalidPath as exc:
            if _names_a_folder(key):
                raise _missing(key, exc) from exc
            raise

    def __iter__(self) -> Iterator[str]:
        for info in self._store.list_files("", recursive=True):
            yield str(info.path)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            return self._store.is_file(key)
        except InvalidPath:  # a key no file can have is not in the mapping
            return False

    # -- bulk helpers -------------------------------------------------------------------

    def getitems(
        self, keys: Iterable[str], *, on_error: Literal["raise", "omit"] = "raise"
    ) -> dict[str, bytes]:
        """Many values at once, read in parallel. A missing key is ``KeyError``
        (``on_error="omit"``: left out); any other failure raises its storeroom error."""
        from storeroom.ext.batch import batch_read

        wanted = list(dict.fromkeys(keys))
        result = batch_read(self._store, wanted)
        out: dict[str, bytes] = {}
        for item in result:
            if item.ok:
                out[item.item] = item.value  # type: ignore[assignment]
            elif isinstance(item.error, NotFound):
                if on_error == "raise":
                    raise _missing(item.item, item.error)
            elif item.error is not None:
                raise item.error
        return out

    def setitems(self, values: Mapping[str, bytes]) -> None:
        """Write many keys at once, in parallel; the first failure is raised after all ran."""
        from storeroom.ext._pool import as_error, run_parallel

        items = [(k, _check_value(k, v)) for k, v in values.items()]

        def put(item: tuple[str, bytes | bytearray | memoryview]) -> StoreroomError | None:
            try:
                self[item[0]] = item[1]  # type: ignore[assignment]
            except Exception as exc:
                return as_error(exc)
            return None

        errors = run_parallel(
            put,
            items,
            max_workers=None,
            executor=None,
            stop_on_error=False,
            failed=lambda e: e is not None,
            on_exception=lambda item, exc: as_error(exc),
        )
        for error in errors:
            if error is not None:
                raise error

    def delitems(self, keys: Iterable[str], *, missing_ok: bool = False) -> None:
        """Delete many keys (one bulk request per chunk where the backend has one).

        Every existing key is deleted; then a missing one is ``KeyError`` unless
        ``missing_ok``, and any other failure raises its storeroom error.
        """
        from storeroom.ext.batch import batch_delete

        result = batch_delete(self._store, list(dict.fromkeys(keys)), missing_ok=missing_ok)
        for item in result:
            if isinstance(item.error, NotFound):
                raise _missing(item.item, item.error)
            if item.error is not None:
                raise item.error

    def clear(self) -> None:
        """Delete every file under the folder (bulk deletes where the backend has them)."""
        keys = list(self)  # listed first: deleting under an open listing is not safe everywhere
        for start in range(0, len(keys), CLEAR_CHUNK):
            self.delitems(keys[start : start + CLEAR_CHUNK], missing_ok=True)

    def __repr__(self) -> str:
        return f"StoreMapper({self._store!r})"
