"""An ``OSError`` raised by the caller's own content source reaches the caller unchanged.

On every writable backend (memory, SQLite, and the real S3, SFTP, Azure and
PostgreSQL servers; local too) ``write``/``write_atomic`` re-raise the very
exception object the source raised — not a ``BackendUnavailable`` wrapping
it — and leave nothing under the target name (spec STORE-008, STORE-015).
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services_support import services_disabled
from storeroom import Registry, Store
from storeroom.testing.conformance import registered_targets

TARGETS = ["memory", "local", "sql-sqlite", "sql-postgres", "s3", "sftp", "azure"]
REMOTE = {"sql-postgres", "s3", "sftp", "azure"}
MiB = 1024 * 1024


def _store(name: str, tmp_path: Path) -> Store:
    target = registered_targets().get(name)
    if target is None:
        if name in REMOTE and services_disabled():
            pytest.skip("STOREROOM_TEST_NO_SERVICES is set")
        pytest.fail(f"conformance target {name!r} is not registered: start the test services")
    config = {
        "backends": {"b": target.backend_table(tmp_path)},
        "stores": {"s": {"backend": "b", "root_path": f"src-err-{uuid.uuid4().hex[:10]}"}},
    }
    return Registry(config).get_store("s")


class _DiskGone(io.RawIOBase):
    """A binary file whose ``read`` fails like a dying disk after ``first`` bytes."""

    def __init__(self, first: int) -> None:
        super().__init__()
        self.error = OSError(5, "Input/output error")
        self._left = first

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._left <= 0:
            raise self.error
        n = min(len(buf), self._left)
        buf[:n] = b"x" * n
        self._left -= n
        return n


def _chunks(first: int, error: OSError) -> Iterator[bytes]:
    yield b"y" * first
    raise error


@pytest.fixture(params=TARGETS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    built = _store(request.param, tmp_path)
    yield built
    built.close()


@pytest.mark.parametrize("method", ["write", "write_atomic"])
@pytest.mark.parametrize("kind", ["file", "chunks"])
@pytest.mark.parametrize("first", [3, 9 * MiB])
def test_source_oserror_propagates_as_the_same_object(
    store: Store, method: str, kind: str, first: int
) -> None:
    # spec: STORE-008, STORE-015, ERR-002
    store.write("d/keep.bin", b"kept")
    store.write("d/old.bin", b"old content")
    for target, overwrite in (("d/new.bin", False), ("d/old.bin", True)):
        if kind == "file":
            source: Any = _DiskGone(first)
            error = source.error
        else:
            error = OSError(5, "Input/output error")
            source = _chunks(first, error)
        with pytest.raises(OSError) as info:
            getattr(store, method)(target, source, overwrite=overwrite)
        assert info.value is error, f"{type(info.value).__name__} instead of the source's error"
    assert not store.exists("d/new.bin")
    files = sorted(f.path for f in store.list_files(recursive=True))
    assert files[0] == "d/keep.bin" and "d/new.bin" not in files
    assert all(not f.rpartition("/")[2].startswith(".~storeroom-") for f in files)
    if method == "write_atomic":
        assert files == ["d/keep.bin", "d/old.bin"]
        assert store.read_bytes("d/old.bin") == b"old content"
