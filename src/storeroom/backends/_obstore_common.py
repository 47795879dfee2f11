"""What the ``obstore`` engines of the ``s3`` and ``azure`` backends share.

The fork marker (``usable``): obstore's Rust (tokio) runtime is global and not
fork-safe; in a child forked after obstore was imported any obstore call hangs,
even on a new store (measured with obstore 0.12.1), so the backends serve such a
child through their SDK path. ``ObstoreStream`` (a streamed GET as a binary
stream), ``Counter`` (bytes of a streamed upload, and its source's failure) and
``pages`` (listings, with the SDK listing as fallback for names obstore cannot
hold). Importing this module does not import obstore.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from heapq import merge
from typing import Any, Protocol

from storeroom.errors import InvalidPath, StoreroomError
from storeroom.models import FileInfo, FolderEntry

__all__ = ["Counter", "ObstoreStream", "pages", "usable"]

#: Least bytes handed over per chunk of a streamed GET.
CHUNK = 1024 * 1024

#: Set in a child forked while obstore was imported: its runtime cannot run here.
_inherited = False


def _after_fork_in_child() -> None:
    global _inherited
    if "obstore" in sys.modules:
        _inherited = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def usable() -> bool:
    """False in a child forked after obstore was imported (its runtime would hang)."""
    return not _inherited


class Fails(Protocol):
    """A backend core: maps an exception about a key through its error table."""

    def fail(self, exc: BaseException, key: str, op: str) -> StoreroomError: ...


class ObstoreStream(io.RawIOBase):
    """Forward-only stream over one obstore GET; errors mapped lazily.

    Streamed in chunks of at least 1 MiB; reading everything before any chunk
    (``read()``, so ``read_bytes``) takes obstore's whole body in one call.
    """

    def __init__(self, result: Any, core: Fails, key: str) -> None:
        super().__init__()
        self._result = result
        self._chunks: Iterator[Any] | None = None
        self._core = core
        self._key = key
        self._buf = memoryview(b"")
        self.name = key

    def readable(self) -> bool:
        return True

    def _next(self) -> bool:
        if self._chunks is None:
            self._chunks = iter(self._result.stream(min_chunk_size=CHUNK))
        try:
            chunk = next(self._chunks)
        except StopIteration:
            return False
        except Exception as exc:
            raise self._core.fail(exc, self._key, "read") from exc
        self._buf = memoryview(chunk)
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._buf:
            if not self._next():
                return 0
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def readall(self) -> bytes:
        if self._chunks is None:  # nothing read yet: the whole body at once
            self._chunks = iter(())
            try:
                return bytes(self._result.bytes())
            except Exception as exc:
                raise self._core.fail(exc, self._key, "read") from exc
        parts = [bytes(self._buf)]
        self._buf = memoryview(b"")
        while self._next():
            parts.append(bytes(self._buf))
        self._buf = memoryview(b"")
        return b"".join(parts)

    def close(self) -> None:
        self._buf = memoryview(b"")
        self._chunks = iter(())
        self._result = None
        super().close()


class Counter:
    """An iterator over a source's chunks that counts bytes and remembers its failure."""

    def __init__(self, chunks: Any) -> None:
        self._it = iter(chunks)
        self.size = 0
        self.failed: BaseException | None = None

    def __iter__(self) -> Counter:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._it)
        except StopIteration:
            raise
        except BaseException as exc:
            self.failed = exc
            raise
        self.size += len(chunk)
        return chunk


class Lists(Protocol):
    """An obstore engine's two listing calls."""

    def list_all(self, prefix: str) -> Iterator[list[dict[str, Any]]]: ...

    def list_one(self, prefix: str) -> tuple[list[str], list[dict[str, Any]]]: ...


#: The SDK listing of the same call: ``(prefix, recursive, base) -> entries``.
Fallback = Callable[[str, bool, str], Iterator[Any]]


def _etag(value: Any) -> str | None:
    return value.strip('"') if isinstance(value, str) and value else None


def _file(path: str, obj: dict[str, Any]) -> FileInfo:
    return FileInfo._fast(
        path,
        path.rpartition("/")[2],
        int(obj["size"]),
        obj.get("last_modified"),
        etag=_etag(obj.get("e_tag")),
    )


def _name(item: tuple[str, Any]) -> str:
    return item[0]


def pages(
    obs: Lists,
    prefix: str,
    recursive: bool,
    base: str,
    fallback: Fallback,
    canonical: Callable[[str], bool],
) -> Iterator[Any]:
    """The entries under ``prefix`` (paths relative to ``base``), in name order.

    Recursive: ``obstore.list`` pages, streamed. One level:
    ``obstore.list_with_delimiter``, sorted here. A name obstore refuses (an
    empty segment, ``a//b``) before the first entry hands the listing to
    ``fallback``, which skips such names with a warning (spec BACKEND-006).
    """
    entries = _entries(obs, prefix, recursive, len(base) + 1 if base else 0, canonical)
    try:
        first = next(entries)
    except StopIteration:
        return
    except InvalidPath:  # a name obstore cannot hold: the SDK serves this listing
        yield from fallback(prefix, recursive, base)
        return
    yield first
    yield from entries


def _entries(
    obs: Lists, prefix: str, recursive: bool, cut: int, canonical: Callable[[str], bool]
) -> Iterator[Any]:
    if recursive:
        for page in obs.list_all(prefix):
            for obj in page:
                if canonical(obj["path"]):
                    yield _file(obj["path"][cut:], obj)
        return
    folders, objects = obs.list_one(prefix)
    # Sorted here: obstore gathers every page but does not keep the service's order.
    files = sorted(((o["path"], o) for o in objects if canonical(o["path"])), key=_name)
    subs = sorted(((p + "/", None) for p in folders), key=_name)
    found: Iterator[tuple[str, Any]] = merge(files, subs, key=_name)
    for name, obj in found:
        if obj is not None:
            yield _file(name[cut:], obj)
        elif canonical(name[:-1]):
            path = name[cut:-1]
            yield FolderEntry._fast(path, path.rpartition("/")[2])
