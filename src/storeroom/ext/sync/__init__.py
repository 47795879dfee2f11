"""Sync as a library: ``plan(src, dst)`` says what differs, ``apply(plan)`` makes it so.

Either side is a Store (its root), a ``(Store, folder)`` pair or a local
folder path. Plans print, and round-trip through JSON; ``apply`` runs on any
``concurrent.futures.Executor`` (spec SYNC-001..050).
"""

from __future__ import annotations

from storeroom.ext.sync._apply import SyncOutcome, SyncReport, apply
from storeroom.ext.sync._plan import Compare, SyncAction, SyncPlan, plan
from storeroom.ext.sync._sides import DIGEST_KEY, Side

__all__ = [
    "DIGEST_KEY",
    "Compare",
    "Side",
    "SyncAction",
    "SyncOutcome",
    "SyncPlan",
    "SyncReport",
    "apply",
    "plan",
]
