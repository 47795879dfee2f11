"""Conformance target ``async-memory``: the memory backend seen through both async adapters.

``AsyncBackendSyncAdapter(AsyncMemoryBackend())`` runs every primitive as a
coroutine on the adapter's loop thread (spec ASYNC-052, ASYNC-054), so the
whole suite checks the bridge keeps the backend contract.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storeroom import register_backend
from storeroom.aio import AsyncBackendSyncAdapter, AsyncMemoryBackend
from storeroom.testing.conformance.targets import Target, register_target


def _bridged(**options: Any) -> AsyncBackendSyncAdapter:
    return AsyncBackendSyncAdapter(AsyncMemoryBackend(**options))


def _config(tmp_path: Path) -> dict[str, Any]:
    return {"type": "async-memory", "options": {}}


register_backend("async-memory", _bridged, replace=True)
register_target(Target("async-memory", _config, persistent=False, cross_process=False))
