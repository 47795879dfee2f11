"""fsspec's own shipped test suite for implementations, on every writable backend.

Their test classes run unmodified over our fixtures (spec FSSPEC-040): a
config-based ``StoreroomFileSystem`` whose store ``s`` lives on each backend's
real server. ``mkdir`` makes an empty folder only where the backend has real
folders (FSSPEC-030), which is what the suite's ``supports_empty_directories``
switch says.
"""

from __future__ import annotations

import posixpath
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import fsspec.tests.abstract as abstract
import pytest

from every_backend import WRITABLE, registry_on
from storeroom.ext.fsspec import StoreroomFileSystem, clear_registry_cache


class StoreroomFixtures(abstract.AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture(scope="class", params=WRITABLE)
    @classmethod
    def fs(
        cls, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[StoreroomFileSystem]:
        registry = registry_on(request.param, tmp_path_factory.mktemp("fsspec"))
        yield StoreroomFileSystem(config=registry.config)
        clear_registry_cache()
        registry.close()

    @pytest.fixture
    def fs_path(self, fs: StoreroomFileSystem) -> Iterator[str]:
        path = f"s/t-{uuid.uuid4().hex[:8]}"
        yield path
        if fs.exists(path):
            fs.rm(path, recursive=True)

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def supports_empty_directories(self, fs: StoreroomFileSystem) -> bool:
        # Empty folders exist only on backends with real folders (FSSPEC-030).
        return bool(fs.store_for("s").backend.real_folders)

    @pytest.fixture
    def local_path(self, tmp_path: Path) -> str:
        return str(tmp_path)


# spec: FSSPEC-040
class TestStoreroomCopy(abstract.AbstractCopyTests, StoreroomFixtures):  # type: ignore[misc]
    pass


# spec: FSSPEC-040
class TestStoreroomGet(abstract.AbstractGetTests, StoreroomFixtures):  # type: ignore[misc]
    pass


# spec: FSSPEC-040
class TestStoreroomPut(abstract.AbstractPutTests, StoreroomFixtures):  # type: ignore[misc]
    pass


# spec: FSSPEC-040
class TestStoreroomOpen(abstract.AbstractOpenTests, StoreroomFixtures):  # type: ignore[misc]
    pass


# spec: FSSPEC-040
class TestStoreroomPipe(abstract.AbstractPipeTests, StoreroomFixtures):  # type: ignore[misc]
    pass
