"""Transactions on object stores (``s3``, ``azure``): staged uploads, a record, copies.

Staged files are uploaded under ``.~storeroom-747800000000.tmp/<tx id>/`` at
the backend root (listings, ``exists`` and ``is_folder`` hide that prefix).
A commit takes the commit lock (``_txn_lease``), settles dead transactions,
re-checks what staging assumed, copies moved sources into its folder, writes
its commit record, then publishes: server-side copies of staged objects onto
their targets, then deletes; then removes the record and its folder. Every
step of a record can be run again, so the next transaction completes a
commit that died after its record; a dead one without a record is removed
(TXN-040..045). Only the backend's own primitives are used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from storeroom._store_support import TMP_PREFIX
from storeroom._txn_core import GONE, BackendTransaction, Moved, Plan, conflict, is_file, pause_at
from storeroom._txn_lease import Lease, stale
from storeroom.errors import InvalidPath, NotFound
from storeroom.models import FileInfo

if TYPE_CHECKING:
    from storeroom.backend import Backend, Entry, Source

__all__ = ["STAGING", "ObjectTransaction", "hidden", "visible"]

_log = logging.getLogger("storeroom.transaction")

#: The staging prefix below the backend root (the local backend's staging folder name).
STAGING = f"{TMP_PREFIX}747800000000.tmp"
LOCK = f"{STAGING}/commit.lock"
LEASE = "lease.json"
RECORD = "record.json"

Step = list[str]  # ["copy", staged, target] or ["delete", key]


def hidden(key: str) -> bool:
    """True for the staging prefix and anything below it (never a store file)."""
    return key == STAGING or key.startswith(STAGING + "/")


def visible(entries: Iterator[Entry]) -> Iterator[Entry]:
    """A root listing without the staging prefix (paths relative to the backend root)."""
    for entry in entries:
        if str(entry.path).partition("/")[0] != STAGING:
            yield entry


def _read(backend: Backend, key: str) -> bytes:
    with backend.open_read(key) as f:
        data: bytes = f.read()
        return data


def _folders(backend: Backend) -> dict[str, set[str]]:
    """Each transaction folder under the staging prefix, with the names in it."""
    found: dict[str, set[str]] = {}
    try:
        for entry in backend.list(STAGING, recursive=True):
            if isinstance(entry, FileInfo):
                tx, _, name = str(entry.path).removeprefix(STAGING + "/").partition("/")
                if name:
                    found.setdefault(tx, set()).add(name)
    except NotFound:
        pass
    return found


def _replay(backend: Backend, steps: list[Step]) -> None:
    """Run a record's steps; each can run again (a copy of a kept object, a delete)."""
    for done, step in enumerate(steps):
        pause_at(done)
        if step[0] == "delete":
            backend.discard(step[1])
            continue
        try:
            backend.copy(step[1], step[2], overwrite=True)
        except NotFound:  # only if removed by hand: never block every later commit on it
            _log.warning("transaction record: staged object %s is missing, skipped", step[1])


def _settle(backend: Backend, tx: str) -> None:
    """Finish dead transaction ``tx``: roll its record forward, then remove its folder."""
    base = f"{STAGING}/{tx}"
    try:
        record = json.loads(_read(backend, f"{base}/{RECORD}"))
    except NotFound:
        record = None
    if record is not None:
        _replay(backend, record["steps"])
        backend.discard(f"{base}/{RECORD}")
    with contextlib.suppress(NotFound):
        backend.remove_folder(base, recursive=True)


def _dead(backend: Backend, tx: str, names: set[str]) -> bool:
    """True when ``tx``'s lease is missing or stale."""
    if LEASE not in names:
        return True
    try:
        return stale(_read(backend, f"{STAGING}/{tx}/{LEASE}"))
    except NotFound:
        return True  # removed meanwhile: its transaction ended


class ObjectTransaction(BackendTransaction):
    """Staged objects under the staging prefix, published by copies after a commit record."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._id = uuid.uuid4().hex
        self._base = f"{STAGING}/{self._id}"
        self._count = 0
        self._keep = False  # True: a record awaits its roll forward (by the next transaction)
        self._lease = Lease(backend, self._id, f"{self._base}/{LEASE}", LOCK)
        try:
            self._begin_recovery()
        except BaseException:
            self._cleanup()
            raise

    def _begin_recovery(self) -> None:
        """Settle dead transactions now, when there are any (takes the lock only then)."""
        others = {k: v for k, v in _folders(self.backend).items() if k != self._id}
        if any(_dead(self.backend, tx, names) for tx, names in others.items()):
            self._lease.acquire()
            try:
                self._recover()
            finally:
                self._lease.release()

    def _recover(self) -> None:
        """Settle other transactions (holding the lock): any record, and any dead folder.

        A record of another transaction seen under the lock belongs to a commit
        that lost the lock (it died): it is rolled forward whatever its lease says.
        """
        for tx, names in _folders(self.backend).items():
            if tx != self._id and (RECORD in names or _dead(self.backend, tx, names)):
                _settle(self.backend, tx)

    # -- staging --------------------------------------------------------------------

    def _stage(self, key: str, src: Source, metadata: Mapping[str, str] | None) -> Any:
        self._count += 1
        staged = f"{self._base}/s{self._count}"
        self.backend.write(staged, src, overwrite=True, metadata=metadata)
        return staged

    def _read_staged(self, handle: Any) -> bytes:
        return _read(self.backend, handle)

    def _drop(self, handle: Any) -> None:
        self.backend.discard(handle)

    # -- the commit -----------------------------------------------------------------

    def _steps(self, plan: Plan) -> list[Step]:
        """Copies of staged objects onto targets first, then deletes; sources already copied."""
        stashed = {src: f"{self._base}/m{i}" for i, src in enumerate(plan.sources())}
        steps: list[Step] = []
        for key, value in plan.changes.items():
            if isinstance(value, Moved):
                steps.append(["copy", stashed[value.src], key])
            elif value is not GONE:
                steps.append(["copy", value, key])
        for key, value in plan.changes.items():
            if value is GONE and plan.expect.get(key) is not False:
                steps.append(["delete", key])
        return steps

    def _publish(self, plan: Plan) -> None:
        b = self.backend
        self._lease.acquire()
        try:
            self._recover()
            for key, was_file in plan.expect.items():
                if is_file(b, key) != was_file:
                    raise conflict(key, was_file)
            for key, value in plan.changes.items():
                if value is not GONE and b.is_folder(key):
                    raise InvalidPath("a folder exists at this path", path=key)
            for i, src in enumerate(plan.sources()):
                b.copy(src, f"{self._base}/m{i}", overwrite=True)  # kept while publishing
            steps = self._steps(plan)
            record = json.dumps({"tx": self._id, "steps": steps}).encode()
            b.write(f"{self._base}/{RECORD}", record, overwrite=True)
            self._keep = True  # from here on a failure is rolled forward, never undone
            _replay(b, steps)
            b.discard(f"{self._base}/{RECORD}")
            self._keep = False
        finally:
            self._lease.release()

    def _cleanup(self) -> None:
        self._lease.stop()
        if self._keep:
            return  # the record stays: the next transaction rolls it forward
        with contextlib.suppress(NotFound):
            self.backend.remove_folder(self._base, recursive=True)
