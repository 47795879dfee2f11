"""Transactions of the ``local`` backend: staged files, a commit record, renames.

Staged files live in ``<root>/.~storeroom-747800000000.tmp/<tx id>/`` (a
temporary name listings hide). A commit writes the record of its renames
(``journal.json``, written atomically) and then renames: each file appears
whole, the set one file at a time. A transaction holds a lock on the owner
file in its folder while it lives (a file, not the folder: folders carry the
write locks of conditional writes, COND-041); one store-wide lock serialises
commits and recovery.
A folder whose owner died is rolled forward when it has a record, else
removed, by the next transaction on the store (TXN-030..034).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from storeroom._txn_core import (
    GONE,
    PAUSE_ENV,
    BackendTransaction,
    Moved,
    Plan,
    conflict,
    is_file,
    pause_at,
)
from storeroom.backend import Source
from storeroom.backends.local._fdpath import DIR_FLAGS, open_beneath
from storeroom.backends.local._fileops import TEMP_PREFIX, TEMP_SUFFIX
from storeroom.errors import InvalidPath, NotFound

if TYPE_CHECKING:
    from storeroom.backends.local.backend import LocalBackend

__all__ = ["PAUSE_ENV", "STAGING", "LocalTransaction", "recover"]

#: The staging folder below the root (a temporary name: never listed).
STAGING = f"{TEMP_PREFIX}7478{'0' * 8}{TEMP_SUFFIX}"
JOURNAL = "journal.json"
#: Locked while its transaction lives; never a store file (inside the hidden folder).
OWNER = "owner.lock"
_OWNER_FLAGS = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW

Step = list[str]  # ["move", src, dst] or ["discard", key]


def _open_staging(b: LocalBackend) -> int:
    root = b._root_fd()
    with contextlib.suppress(FileExistsError):
        os.mkdir(STAGING, 0o700, dir_fd=root)
    return open_beneath(root, STAGING, DIR_FLAGS)


@contextlib.contextmanager
def _locked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _replay(b: LocalBackend, steps: list[Step]) -> None:
    """Run the record's steps; each is skipped when already done, so replays are safe."""
    for done, step in enumerate(steps):
        pause_at(done)
        if step[0] == "discard":
            b.discard(step[1])
            continue
        try:
            b.move(step[1], step[2], overwrite=True)
        except NotFound:
            pass  # moved by the run that was interrupted


def _settle(b: LocalBackend, staging_fd: int, name: str) -> None:
    """Finish a dead transaction's folder ``name``: roll forward its record, remove the rest."""
    base = f"{STAGING}/{name}"
    try:
        with b.open_read(f"{base}/{JOURNAL}") as f:
            steps = json.loads(f.read())
    except NotFound:
        steps = None
    if steps is not None:
        _replay(b, steps)
        b.discard(f"{base}/{JOURNAL}")
    with contextlib.suppress(NotFound):
        b.remove_folder(base, recursive=True)


def recover(b: LocalBackend, staging_fd: int, own: str = "") -> None:
    """Settle every transaction folder whose owner is gone (call with the commit lock held)."""
    for name in os.listdir(staging_fd):
        if name == own:
            continue
        try:
            dfd = os.open(name, DIR_FLAGS, dir_fd=staging_fd)
        except OSError:
            continue
        fd = -1
        try:
            try:
                fd = os.open(OWNER, _OWNER_FLAGS, dir_fd=dfd)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its transaction is alive
            except FileNotFoundError:
                pass  # created and locked under the commit lock: no owner file, no owner
            _settle(b, staging_fd, name)
        finally:
            if fd >= 0:
                os.close(fd)
            os.close(dfd)


class LocalTransaction(BackendTransaction):
    """Staged files under the staging folder, published by renames after a commit record."""

    backend: LocalBackend

    def __init__(self, backend: LocalBackend) -> None:
        super().__init__(backend)
        self._id = uuid.uuid4().hex
        self._base = f"{STAGING}/{self._id}"
        self._count = 0
        self._keep = False  # True: a record awaits its roll forward (by the next transaction)
        self._sfd, self._fd = backend._run("", "transaction", self._open, create=True)

    def _open(self) -> tuple[int, int]:
        """Settle dead transactions, then create and lock this one's folder (raw ``OSError``s)."""
        sfd = _open_staging(self.backend)
        try:
            with _locked(sfd):
                recover(self.backend, sfd)
                os.mkdir(self._id, 0o700, dir_fd=sfd)
                dfd = os.open(self._id, DIR_FLAGS, dir_fd=sfd)
                try:
                    fd = os.open(OWNER, _OWNER_FLAGS | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=dfd)
                finally:
                    os.close(dfd)
                fcntl.flock(fd, fcntl.LOCK_EX)  # held while the transaction lives
        except BaseException:
            os.close(sfd)
            raise
        return sfd, fd

    def _stage(self, key: str, src: Source, metadata: Mapping[str, str] | None) -> Any:
        self._count += 1
        staged = f"{self._base}/s{self._count}"
        self.backend.write(staged, src)
        return staged

    def _read_staged(self, handle: Any) -> bytes:
        with self.backend.open_read(handle) as f:
            data: bytes = f.read()
            return data

    def _drop(self, handle: Any) -> None:
        self.backend.discard(handle)

    def _check_targets(self, plan: Plan) -> None:
        """``InvalidPath`` before any rename when a target is a folder or under a kept file."""
        targets = {k for k, v in plan.changes.items() if v is not GONE}
        for key in targets:
            if self.backend.is_folder(key):
                raise InvalidPath("a folder exists at this path", path=key)
            up = key.rpartition("/")[0]
            while up:
                if up in targets or (
                    is_file(self.backend, up) and plan.changes.get(up) is not GONE
                ):
                    raise InvalidPath("a parent of this path is a file", path=key)
                up = up.rpartition("/")[0]

    def _steps(self, plan: Plan) -> list[Step]:
        stashed: dict[str, str] = {}
        steps: list[Step] = []
        for i, src in enumerate(plan.sources()):
            stashed[src] = f"{self._base}/m{i}"
            steps.append(["move", src, stashed[src]])
        for key, value in plan.changes.items():
            if value is GONE and key not in stashed and plan.expect.get(key) is not False:
                steps.append(["discard", key])
        for key, value in plan.changes.items():
            if isinstance(value, Moved):
                steps.append(["move", stashed[value.src], key])
            elif value is not GONE:
                steps.append(["move", value, key])
        return steps

    def _publish(self, plan: Plan) -> None:
        self.backend._run("", "transaction", lambda: self._publish_locked(plan))

    def _publish_locked(self, plan: Plan) -> None:
        b = self.backend
        with _locked(self._sfd):
            recover(b, self._sfd, own=self._id)
            for key, was_file in plan.expect.items():
                if is_file(b, key) != was_file:
                    raise conflict(key, was_file)
            self._check_targets(plan)
            steps = self._steps(plan)
            record = json.dumps(steps).encode()
            b.write(f"{self._base}/{JOURNAL}", record, atomic=True)
            self._keep = True  # from here on a failure is rolled forward, never undone
            _replay(b, steps)
            b.discard(f"{self._base}/{JOURNAL}")
            self._keep = False

    def _cleanup(self) -> None:
        try:
            if self._keep:
                return  # closing releases the lock: the next transaction settles it
            with contextlib.suppress(NotFound):
                self.backend.remove_folder(self._base, recursive=True)
        finally:
            os.close(self._fd)
            os.close(self._sfd)
