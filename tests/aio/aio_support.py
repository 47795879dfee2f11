"""Helpers for the AsyncStore tests: stores on memory and local, and instrumented layers."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from storeroom import Store
from storeroom.backend import Backend, Entry, Forwarding, Source
from storeroom.backends import LocalBackend, MemoryBackend
from storeroom.models import WriteResult

#: A context variable the tests set in the caller and read inside the backend.
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def make_store(kind: str, tmp_path: object) -> Store:
    if kind == "memory":
        return Store(MemoryBackend(), "root")
    return Store(LocalBackend(root=str(tmp_path)), "root")


class Recording(Forwarding):
    """Records the REQUEST_ID seen by each primitive call (in the worker thread)."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.seen: list[tuple[str, str]] = []

    def stat(self, key: str) -> Entry:
        self.seen.append(("stat", REQUEST_ID.get()))
        return super().stat(key)

    def exists(self, key: str) -> bool:
        self.seen.append(("exists", REQUEST_ID.get()))
        return super().exists(key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        self.seen.append(("list", REQUEST_ID.get()))
        return super().list(prefix, recursive=recursive, base=base)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self.seen.append(("open_read", REQUEST_ID.get()))
        return super().open_read(key, start, end)


class Slow(Forwarding):
    """Writes block until ``release`` is set (after signalling ``started``)."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner)
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self.started.set()
        assert self.release.wait(10)
        time.sleep(0.01)
        try:
            return super().write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)
        finally:
            self.finished.set()
