"""A writable Store on every backend, for integration tests (data tools, URL openers).

Built from the registered conformance targets (``tests/service_targets/``), so
the remote ones talk to the real test servers started by ``scripts/services``.
Each store gets a fresh random ``root_path``; a target whose server is not
running fails the test (never skips it).

Use it as ``@pytest.mark.parametrize("backend", WRITABLE)`` together with
``registry_on(backend, tmp_path)``, or import the ``every_store`` fixture into a
test module: ``from every_backend import every_store``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Store
from storeroom.testing.conformance.targets import registered_targets

#: Every writable backend the project tests against (local disk, memory, SQLite,
#: and the real PostgreSQL, S3, SFTP and Azure servers).
WRITABLE = ["local", "memory", "sql-sqlite", "sql-postgres", "s3", "sftp", "azure"]


def registry_on(backend: str, tmp_path: Path, **store_extra: Any) -> Registry:
    """A Registry with one store ``s`` on target ``backend`` under a fresh random root."""
    targets = registered_targets()
    if backend not in targets:
        pytest.fail(
            f'no {backend!r} target: is its test server running? (eval "$(scripts/services up)")'
        )
    table = targets[backend].backend_table(tmp_path)
    root = f"it-{uuid.uuid4().hex[:12]}"
    config = {
        "backends": {"b": table},
        "stores": {"s": {"backend": "b", "root_path": root, **store_extra}},
    }
    return Registry(RegistryConfig.from_dict(config))


@pytest.fixture(params=WRITABLE)
def every_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty Store on each writable backend; its folder is removed afterwards."""
    registry = registry_on(request.param, tmp_path)
    store = registry.get_store("s")
    try:
        yield store
    finally:
        try:
            whole = Store(registry.get_backend("b"), owns_backend=False)
            whole.delete_folder(store.root_path, recursive=True, missing_ok=True)
        except Exception:  # cleanup only; the test's own assertions already ran
            pass
        registry.close()
