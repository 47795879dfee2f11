"""Test helpers for the layer tests: a scripted failing layer and a store builder."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from storeroom.backend import Backend, Entry, Forwarding, Source
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.models import WriteResult
from storeroom.store import Store


class Scripted(Forwarding):
    """Raises the queued exceptions of an operation, one per call, then forwards.

    ``script["write"] = [exc1, exc2]`` makes the next two writes fail. Every
    call is counted in ``calls``; every write's source content is kept in
    ``seen_sources`` (after the failure, a stream source is consumed).
    """

    def __init__(self, inner: Backend | None = None) -> None:
        super().__init__(inner or MemoryBackend())
        self.script: defaultdict[str, list[BaseException]] = defaultdict(list)
        self.calls: Counter[str] = Counter()

    def _hit(self, op: str) -> None:
        self.calls[op] += 1
        queue = self.script[op]
        if queue:
            raise queue.pop(0)

    def stat(self, key: str) -> Entry:
        self._hit("stat")
        return super().stat(key)

    def exists(self, key: str) -> bool:
        self._hit("exists")
        return super().exists(key)

    def is_folder(self, key: str) -> bool:
        self._hit("is_folder")
        return super().is_folder(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self._hit("open_read")
        return super().open_read(key, start, end)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._hit("write")
        return super().write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

    def delete(self, key: str) -> None:
        self._hit("delete")
        super().delete(key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        self._hit("list")
        return super().list(prefix, recursive=recursive, base=base)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        self._hit("copy")
        return super().copy(src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._hit("move")
        super().move(src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._hit("remove_folder")
        super().remove_folder(key, recursive=recursive)


class NoSleep:
    """A ``sleep`` replacement that records the waits and advances a fake clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def store_on(backend: Backend, root: str = "") -> Store:
    return Store(backend, root)


def memory_config(layers: list[Any], store_layers: list[Any] | None = None) -> dict[str, Any]:
    store: dict[str, Any] = {"backend": "b", "root_path": "r"}
    if store_layers:
        store["layers"] = store_layers
    return {"backends": {"b": {"type": "memory", "layers": layers}}, "stores": {"s": store}}
