"""The backend side of transactions: pending changes kept apart until one publish.

``BackendTransaction`` keeps the final pending state of each touched key (a
staged file, the content of a committed file being moved, or gone) and what
the transaction assumed about the key when it first touched it; a backend
supplies staging and the publish step (spec TXN-*).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storeroom.errors import AlreadyExists, InvalidPath, NotFound, StoreroomError
from storeroom.models import FileInfo

if TYPE_CHECKING:
    from storeroom.backend import Backend, Source

__all__ = ["GONE", "PAUSE_ENV", "BackendTransaction", "Moved", "Plan", "conflict", "pause_at"]

#: Test hook: ``"<n>:<file>"`` makes a commit create ``<file>`` after ``n`` steps of its
#: record and wait until it is removed (crash tests kill the process there).
PAUSE_ENV = "STOREROOM_TEST_TXN_PAUSE"


def pause_at(done: int) -> None:
    """Test hook (``PAUSE_ENV``): after ``done`` steps, create the marker and wait (2 min max)."""
    import os
    import time

    pause = os.environ.get(PAUSE_ENV, "")
    if not pause or done != int(pause.partition(":")[0]):
        return
    marker = pause.partition(":")[2]
    with open(marker, "w"):
        pass
    deadline = time.monotonic() + 120
    while os.path.exists(marker) and time.monotonic() < deadline:  # noqa: PTH110
        time.sleep(0.01)


@dataclass(frozen=True, slots=True)
class Moved:
    """The pending content of a key: the committed file ``src`` (a move of it)."""

    src: str


class _Gone:
    def __repr__(self) -> str:
        return "GONE"


#: The pending state of a deleted (or moved-away) key.
GONE: Any = _Gone()


@dataclass(frozen=True, slots=True)
class Plan:
    """What a commit publishes: final state per key, and first-touch assumptions.

    ``changes`` maps a key to a staged handle, a ``Moved`` or ``GONE``;
    ``expect`` maps a key to True (it was a file), False (it was absent).
    """

    changes: dict[str, Any]
    expect: dict[str, bool]

    def sources(self) -> list[str]:
        """Committed files whose content moves elsewhere (each once, in order)."""
        seen: dict[str, None] = {}
        for value in self.changes.values():
            if isinstance(value, Moved):
                seen.setdefault(value.src, None)
        return list(seen)


def conflict(key: str, was_file: bool) -> StoreroomError:
    """The error for a key another writer changed between staging and commit."""
    hint = "another writer changed it meanwhile; nothing was published, retry the transaction"
    if was_file:
        return NotFound("file not found at commit", path=key, hint=hint)
    return AlreadyExists("file already exists at commit", path=key, hint=hint)


class BackendTransaction(abc.ABC):
    """Pending writes, deletes and moves on one backend; published by ``commit``.

    Staging checks against the committed state seen through ``backend`` plus
    the pending changes; ``commit`` re-checks what staging assumed.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._changes: dict[str, Any] = {}
        self._expect: dict[str, bool] = {}
        self.closed = False
        #: Called with the touched keys after a commit, published or not (caches forget them).
        self.after_commit: list[Callable[[list[str]], None]] = []

    # -- what a backend provides ------------------------------------------------

    @abc.abstractmethod
    def _stage(self, key: str, src: Source, metadata: Mapping[str, str] | None) -> Any:
        """Keep ``src`` apart from the committed files; returns a handle."""

    @abc.abstractmethod
    def _read_staged(self, handle: Any) -> bytes:
        """Content of a staged handle."""

    def _drop(self, handle: Any) -> None:  # noqa: B027 - optional hook
        """Forget a staged handle no longer needed (overwritten within the transaction)."""

    @abc.abstractmethod
    def _publish(self, plan: Plan) -> None:
        """Publish ``plan``; raise (having published nothing, where the backend can) on conflict."""

    def _cleanup(self) -> None:  # noqa: B027 - optional hook
        """Remove what staging left (called after commit and rollback)."""

    # -- the view through the transaction ---------------------------------------

    def _is_file(self, key: str) -> bool:
        if key in self._changes:
            return self._changes[key] is not GONE
        try:
            return isinstance(self.backend.stat(key), FileInfo)
        except NotFound:
            return False

    def exists(self, key: str) -> bool:
        """True for a file (pending or committed and not pending deletion) or a folder."""
        if key in self._changes:
            return self._changes[key] is not GONE
        return self.backend.exists(key)

    def read_bytes(self, key: str) -> bytes:
        """Content of ``key`` as the transaction sees it (its own pending changes first)."""
        value = self._changes.get(key)
        if value is GONE:
            raise NotFound("file deleted in this transaction", path=key)
        if isinstance(value, Moved):
            key = value.src
        elif value is not None:
            return self._read_staged(value)
        with self.backend.open_read(key) as stream:
            return stream.read()

    # -- staging ------------------------------------------------------------------

    def _target(self, key: str, overwrite: bool) -> None:
        if key not in self._changes and self.backend.is_folder(key):
            raise InvalidPath("a folder exists at this path", path=key)
        if not overwrite and self._is_file(key):
            raise AlreadyExists("file already exists", path=key, hint="pass overwrite=True")
        if key not in self._expect and key not in self._changes and not overwrite:
            self._expect[key] = False

    def _set(self, key: str, value: Any) -> None:
        old = self._changes.get(key)
        if old is not None and old is not GONE and not isinstance(old, Moved):
            self._drop(old)
        self._changes[key] = value

    def write(
        self, key: str, src: Source, *, overwrite: bool, metadata: Mapping[str, str] | None
    ) -> None:
        """Stage a write of ``key``."""
        self._check_open()
        self._target(key, overwrite)
        self._set(key, self._stage(key, src, metadata))

    def delete(self, key: str) -> None:
        """Stage a delete of file ``key`` (``NotFound`` if the transaction sees none)."""
        self._check_open()
        if not self._is_file(key):
            raise NotFound("file not found", path=key)
        if key not in self._changes:
            self._expect.setdefault(key, True)
        self._set(key, GONE)

    def move(self, src: str, dst: str, *, overwrite: bool) -> None:
        """Stage a move of file ``src`` to ``dst``."""
        self._check_open()
        if not self._is_file(src):
            raise NotFound("file not found", path=src)
        if src == dst:
            return
        self._target(dst, overwrite)
        value = self._changes.get(src)
        if value is None:
            self._expect.setdefault(src, True)
            value = Moved(src)
        self._changes[src] = GONE  # the handle moves on: not dropped
        self._set(dst, value)

    # -- ending -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            from storeroom.errors import InvalidArgument

            raise InvalidArgument(
                "this transaction has ended", hint="start a new one with store.transaction()"
            )

    def commit(self) -> None:
        """Publish every pending change together; then the transaction is over."""
        self._check_open()
        self.closed = True
        try:
            if self._changes:
                self._publish(Plan(dict(self._changes), dict(self._expect)))
        finally:
            self._cleanup()
            for hook in self.after_commit:
                hook(self.touched())

    def rollback(self) -> None:
        """Drop every pending change; nothing was published."""
        if self.closed:
            return
        self.closed = True
        self._cleanup()

    def touched(self) -> list[str]:
        """Every key the commit may change (for caches to forget)."""
        keys = dict.fromkeys(self._changes)
        return list(keys)


def is_file(backend: Backend, key: str) -> bool:
    """True when ``backend`` has a file (not a folder) at ``key``."""
    try:
        return isinstance(backend.stat(key), FileInfo)
    except NotFound:
        return False


def publish_by_primitives(
    backend: Backend,
    plan: Plan,
    stash: str,
    put: Callable[[str, Any, bool], None],
) -> None:
    """Publish ``plan`` with ordinary backend calls, for a caller that makes them one unit.

    Moved sources go to ``stash`` first (so swaps work), then deletes, then
    puts; create-only targets are written create-only, so a racing creator
    fails the publish (TXN-007).
    """
    for key, was_file in plan.expect.items():
        if is_file(backend, key) != was_file:
            raise conflict(key, was_file)
    stashed: dict[str, str] = {}
    for i, src in enumerate(plan.sources()):
        stashed[src] = f"{stash}/m{i}"
        backend.move(src, stashed[src])
    for key, value in plan.changes.items():
        if value is GONE and key not in stashed and plan.expect.get(key) is not False:
            backend.discard(key)
    for key, value in plan.changes.items():
        if value is GONE:
            continue
        overwrite = plan.expect.get(key) is not False
        if isinstance(value, Moved):
            backend.move(stashed[value.src], key, overwrite=overwrite)
        else:
            put(key, value, overwrite)


class SpooledTransaction(BackendTransaction):
    """Staged content spooled in memory up to ``SPOOL_MAX``, then in a temporary file."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self._spools: list[Any] = []

    def _stage(self, key: str, src: Source, metadata: Mapping[str, str] | None) -> Any:
        import tempfile

        from storeroom._store_support import SPOOL_MAX
        from storeroom.backend import iter_source

        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)  # noqa: SIM115 - kept open
        try:
            for block in iter_source(src):
                spool.write(block)
        except BaseException:
            spool.close()
            raise
        self._spools.append(spool)
        return spool, dict(metadata) if metadata else None

    def _read_staged(self, handle: Any) -> bytes:
        spool = handle[0]
        spool.seek(0)
        data: bytes = spool.read()
        return data

    def _cleanup(self) -> None:
        for spool in self._spools:
            spool.close()
        self._spools.clear()
