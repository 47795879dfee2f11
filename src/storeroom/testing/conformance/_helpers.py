"""Small helpers shared by the suite modules (no pytest hooks here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping

from storeroom.models import FileInfo, FolderEntry
from storeroom.registry import Registry
from storeroom.store import Store
from storeroom.testing.conformance._support import ProbeLayer

__all__ = ["Boom", "failing_chunks", "no_calls", "paths", "probe_of", "tree", "write_tree"]


class Boom(Exception):
    """Raised by a test's own content source to make a write fail midway."""


def write_tree(store: Store, files: Mapping[str, bytes]) -> None:
    """Write every ``path: content`` pair (create-only)."""
    for path, content in files.items():
        store.write(path, content)


def tree(store: Store, path: str = "") -> dict[str, bytes]:
    """Every file under ``path`` with its content, from a recursive listing."""
    return {
        str(info.path): store.read_bytes(info.path)
        for info in store.list_files(path, recursive=True)
    }


def paths(entries: Iterable[FileInfo | FolderEntry]) -> list[str]:
    """The ``path`` of each entry, as plain strings, in the order given."""
    return [str(e.path) for e in entries]


def failing_chunks(good: bytes, *, chunks: int = 3) -> Iterator[bytes]:
    """An iterable source that yields ``chunks`` pieces of ``good`` and then raises."""
    for _ in range(chunks):
        yield good
    raise Boom("the caller's content source failed midway")


def probe_of(registry: Registry, store_name: str = "s") -> ProbeLayer:
    """The ``ProbeLayer`` of a store built with a probe layer."""
    return registry.get_store(store_name).unwrap(ProbeLayer)


@contextlib.contextmanager
def no_calls(probe: ProbeLayer) -> Iterator[None]:
    """Assert the block makes no backend primitive call through ``probe``."""
    before = probe.total_calls
    try:
        yield
    finally:
        assert probe.total_calls == before, f"backend primitives were called: {dict(probe.calls)}"
