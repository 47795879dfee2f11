"""Liveness on object stores: a transaction's lease and the store-wide commit lock.

A live transaction rewrites its lease object (a JSON timestamp) every quarter
lease from a daemon thread; one whose lease is older than the lease length is
dead. The commit lock is an object written create-only (``If-None-Match: *``,
so exactly one writer wins), refreshed by the same heartbeat while held, and
broken by a conditional delete once its holder's timestamp is stale (TXN-041).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from typing import TYPE_CHECKING

from storeroom.capabilities import Capability
from storeroom.errors import AlreadyExists, NotFound, PreconditionFailed, ResourceLocked

if TYPE_CHECKING:
    from storeroom.backend import Backend

__all__ = ["LEASE_ENV", "Lease", "lease_seconds", "stale"]

_log = logging.getLogger("storeroom.transaction")

#: Lease length in seconds (default 30); tests shorten it through this variable.
LEASE_ENV = "STOREROOM_TXN_LEASE_SECONDS"
#: How long a commit waits for the commit lock before giving up.
LOCK_WAIT = 300.0


def lease_seconds() -> float:
    """The lease length: a transaction silent for longer is dead."""
    return float(os.environ.get(LEASE_ENV, "") or 30.0)


def stamp(tx: str) -> bytes:
    """The content of a lease or lock object: who, and when (this client's clock)."""
    return json.dumps({"tx": tx, "beat": time.time()}).encode()


def stale(content: bytes) -> bool:
    """True when a lease or lock object's timestamp is older than the lease length."""
    try:
        beat = float(json.loads(content)["beat"])
    except (ValueError, KeyError, TypeError):
        return True  # unreadable: not written by a live transaction
    return time.time() - beat > lease_seconds()


def _read(backend: Backend, key: str) -> bytes:
    with backend.open_read(key) as f:
        data: bytes = f.read()
        return data


def _etag(backend: Backend, key: str) -> str | None:
    return getattr(backend.stat(key), "etag", None)


class Lease:
    """The heartbeat of one transaction: its lease object, and the commit lock while held."""

    def __init__(self, backend: Backend, tx: str, lease_key: str, lock_key: str) -> None:
        self._b = backend
        self._tx = tx
        self._key = lease_key
        self._lock_key = lock_key
        self._cond = Capability.CONDITIONAL_WRITE in backend.capabilities
        self._mutex = threading.Lock()  # one write at a time: beats, lock, release
        self._lock_etag: str | None = None
        self._held = False
        self._stop = threading.Event()
        backend.write(lease_key, stamp(tx), overwrite=True)
        self._thread = threading.Thread(target=self._beat, name=f"txn-lease-{tx[:8]}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(lease_seconds() / 4):
            with self._mutex:
                if self._stop.is_set():
                    return
                try:
                    self._b.write(self._key, stamp(self._tx), overwrite=True)
                    if self._held:
                        self._refresh_lock()
                except Exception as exc:  # the next beat tries again
                    _log.warning("transaction %s: heartbeat failed: %s", self._tx, exc)

    def _refresh_lock(self) -> None:
        if self._cond and self._lock_etag:
            result = self._b.write_if_match(self._lock_key, stamp(self._tx), self._lock_etag)
            self._lock_etag = result.etag
        elif not self._cond:
            self._b.write(self._lock_key, stamp(self._tx), overwrite=True)

    def stop(self) -> None:
        """End the heartbeat (before the transaction's folder is removed)."""
        with self._mutex:
            self._stop.set()
        self._thread.join()

    # -- the commit lock -------------------------------------------------------------

    def acquire(self) -> None:
        """Take the commit lock: create-only write; a stale holder's lock is broken."""
        deadline = time.monotonic() + LOCK_WAIT
        delay = 0.02
        while True:
            with self._mutex:
                try:
                    result = self._b.write(self._lock_key, stamp(self._tx), overwrite=False)
                except AlreadyExists:
                    pass
                else:
                    self._lock_etag = result.etag or _etag(self._b, self._lock_key)
                    self._held = True
                    return
            if self._break_stale():
                continue
            if time.monotonic() > deadline:
                raise ResourceLocked(
                    f"another transaction held the commit lock for over {LOCK_WAIT:.0f} s",
                    path=self._lock_key,
                    operation="transaction",
                    retryable=True,
                    hint="retry the transaction later",
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _break_stale(self) -> bool:
        """Remove the lock when its holder stopped beating; True when it is gone."""
        try:
            etag = _etag(self._b, self._lock_key)
            content = _read(self._b, self._lock_key)
        except NotFound:
            return True
        if not stale(content):
            return False
        _log.warning("transaction %s: breaking a stale commit lock", self._tx)
        with contextlib.suppress(NotFound, PreconditionFailed):
            if self._cond and etag:
                self._b.delete_if_match(self._lock_key, etag)  # not a newer holder's lock
            else:
                self._b.discard(self._lock_key)
        return True

    def release(self) -> None:
        """Give the commit lock back (only our own: a conditional delete where declared)."""
        with self._mutex:
            if not self._held:
                return
            self._held = False
            etag, self._lock_etag = self._lock_etag, None
            try:
                if self._cond and etag:
                    self._b.delete_if_match(self._lock_key, etag)
                else:
                    self._b.discard(self._lock_key)
            except (NotFound, PreconditionFailed):
                _log.warning("transaction %s: the commit lock was broken meanwhile", self._tx)
