"""``await plan(...)`` / ``await apply(...)``: storeroom.ext.sync from async code (SYNC-090).

The sync engine is thread-pooled blocking I/O, so each call runs it in a worker
thread and the event loop stays free; sides may be AsyncStores.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from storeroom.ext.sync import SyncPlan, SyncReport
from storeroom.ext.sync import apply as _apply
from storeroom.ext.sync import plan as _plan

__all__ = ["apply", "plan"]


async def plan(src: Any, dst: Any, **options: Any) -> SyncPlan:
    """``storeroom.ext.sync.plan`` in a worker thread (same arguments)."""
    return await asyncio.to_thread(functools.partial(_plan, src, dst, **options))


async def apply(plan: SyncPlan, **options: Any) -> SyncReport:
    """``storeroom.ext.sync.apply`` in a worker thread (same arguments)."""
    return await asyncio.to_thread(functools.partial(_apply, plan, **options))
