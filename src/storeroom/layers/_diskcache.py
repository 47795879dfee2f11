# ruff: noqa: PTH100, PTH103, PTH105, PTH108, PTH110, PTH111, PTH118, PTH119
"""The on-disk tier of the cache layer: whole files kept under ``cache_dir`` (spec LAYER-028).

One entry is two files named after a hash of (backend identity, key):

- ``<hash>.<token>.data``: the content, written to a temporary file and renamed
  into place once complete; never modified afterwards, only unlinked.
- ``<hash>.meta``: a small JSON sidecar naming the data file, the validator
  (size, etag, modification time) and the expiry; replaced atomically, after
  its data file exists.

A reader opens the sidecar, then the data file it names, and checks the data
file's size; any missing, foreign, damaged or mismatched piece is a miss. As
data files are immutable, an open one never changes under its reader, so two
processes (or a crash at any point) can cost a miss but never a wrong or
partial result. The sidecar's modification time is the entry's last use
(touched on each hit): eviction removes least recently used entries until the
files fit ``max_bytes``. Every filesystem error is swallowed here: the disk tier
only ever turns a hit into a miss, it never fails a read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

from storeroom.backend import Backend
from storeroom.layers._base import ProxyStream
from storeroom.models import FileInfo

__all__ = ["DiskEntry", "DiskFill", "DiskTier", "backend_identity"]

_META = ".meta"
_DATA = ".data"
_TMP = ".tmp-"
_META_LIMIT = 64 * 1024  # a sidecar larger than this is not ours
_ORPHAN_AGE_S = 60.0  # an unreferenced data file older than this is garbage
_TEMP_AGE_S = 3600.0  # a temporary file older than this was left by a crash
_VERSION = 1


def backend_identity(backend: Backend) -> str:
    """What tells this backend's keys apart from another's in a shared directory.

    Its type and non-secret description (root, bucket, endpoint...). A backend
    that describes nothing (memory) gets a per-instance identity: its entries
    are never shared with another instance or process.
    """
    desc = backend.describe()
    if not desc:
        return f"{backend.type_name}#{uuid.uuid4().hex}"
    facts = json.dumps({str(k): str(v) for k, v in desc.items()}, sort_keys=True)
    return f"{backend.type_name}:{facts}"


def validator(info: FileInfo) -> tuple[int, str | None, str | None]:
    """(size, etag, modification time): what must match for cached content to be current."""
    mtime = info.modified_at.isoformat() if info.modified_at is not None else None
    return (info.size, info.etag, mtime)


class DiskEntry:
    """A parsed sidecar."""

    __slots__ = ("data_name", "doc", "expires", "meta_path", "validator")

    def __init__(self, meta_path: str, doc: dict[str, Any]) -> None:
        self.meta_path = meta_path
        self.doc = doc
        self.data_name: str = doc["data"]
        self.expires: float | None = doc["expires"]
        self.validator: tuple[int, str | None, str | None] = (
            doc["size"],
            doc["etag"],
            doc["mtime"],
        )
        if not isinstance(self.data_name, str) or os.sep in self.data_name:
            raise TypeError("bad data name")
        if self.expires is not None and not isinstance(self.expires, int | float):
            raise TypeError("bad expiry")
        if not isinstance(self.validator[0], int):
            raise TypeError("bad size")

    @property
    def size(self) -> int:
        return self.validator[0]

    @property
    def strong(self) -> bool:
        """True when the validator has more than the size (an etag or a time)."""
        return self.validator[1] is not None or self.validator[2] is not None

    def matches(self, info: FileInfo) -> bool:
        return self.validator == validator(info)


class DiskTier:
    """Files under one directory, bounded by total bytes, shared safely between processes."""

    def __init__(self, directory: str, max_bytes: int, identity: str) -> None:
        self.directory = os.path.abspath(os.path.expanduser(directory))
        os.makedirs(self.directory, exist_ok=True)
        self.max_bytes = max_bytes
        self.identity = identity
        self.evictions = 0
        self._lock = threading.Lock()  # guards _estimate and serialises scans
        self._estimate: int | None = None  # bytes as last scanned, plus what we added since

    @property
    def bytes(self) -> int:
        """Bytes of data files in the directory, as this process last knew it."""
        return self._estimate or 0

    # -- names --------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return hashlib.sha256(f"{self.identity}\0{key}".encode()).hexdigest()[:40]

    def _meta_path(self, key: str) -> str:
        return os.path.join(self.directory, self._name(key) + _META)

    def has(self, key: str) -> bool:
        """Whether a sidecar exists for ``key`` (a cheap test before asking the backend)."""
        return os.path.exists(self._meta_path(key))

    @staticmethod
    def _read_doc(path: str) -> dict[str, Any] | None:
        try:
            with open(path, "rb") as f:
                raw = f.read(_META_LIMIT + 1)
            doc = json.loads(raw) if len(raw) <= _META_LIMIT else None
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) and doc.get("v") == _VERSION else None

    # -- reading ------------------------------------------------------------------------

    def lookup(self, key: str) -> DiskEntry | None:
        """The entry for ``key``, or None (missing, damaged, or another backend's)."""
        path = self._meta_path(key)
        doc = self._read_doc(path)
        if doc is None or doc.get("id") != self.identity or doc.get("key") != key:
            return None
        try:
            return DiskEntry(path, doc)
        except (KeyError, TypeError):
            return None

    def open(self, entry: DiskEntry, start: int | None, end: int | None) -> BinaryIO | None:
        """A reader of the entry's data (``[start, end)``), or None if it is gone or damaged."""
        try:
            f = open(os.path.join(self.directory, entry.data_name), "rb")  # noqa: SIM115
        except OSError:
            return None
        try:
            if os.fstat(f.fileno()).st_size != entry.size:
                f.close()
                return None
            with contextlib.suppress(OSError):
                _touch(entry.meta_path)  # last use, for LRU eviction
            if start:
                f.seek(start)
        except OSError:
            f.close()
            return None
        if end is None:
            return f
        return _Window(f, max(0, end - (start or 0)))  # type: ignore[return-value]

    def renew(self, entry: DiskEntry, expires: float | None) -> None:
        """Give a revalidated entry a new expiry."""
        claim = self._claim(entry.meta_path)
        if claim is None:
            return
        current, claimed = claim
        try:
            if current is not None and current.get("data") == entry.doc.get("data"):
                if self._install(entry.meta_path, dict(entry.doc, expires=expires)):
                    _unlink(claimed)  # its data file is named by the renewed sidecar
                    return
            # Republished since our lookup: put the newer sidecar back as it was.
            elif self._install_file(claimed, entry.meta_path):
                _unlink(claimed)
                return
        except OSError:
            pass
        self._discard(claim)

    # -- filling ------------------------------------------------------------------------

    def spool(self) -> tuple[BinaryIO, str] | None:
        """A new temporary file in the directory (and its path), or None."""
        try:
            fd, path = tempfile.mkstemp(prefix=_TMP, dir=self.directory)
        except OSError:
            return None
        return os.fdopen(fd, "wb"), path

    def publish(self, key: str, temp_path: str, info: FileInfo, expires: float | None) -> bool:
        """Make a complete temporary file the entry for ``key``; False if that failed."""
        name = self._name(key)
        data_name = f"{name}.{uuid.uuid4().hex[:16]}{_DATA}"
        meta_path = os.path.join(self.directory, name + _META)
        size, etag, mtime = validator(info)
        doc = {"v": _VERSION, "id": self.identity, "key": key, "data": data_name}
        doc.update(size=size, etag=etag, mtime=mtime, expires=expires)
        data_path = os.path.join(self.directory, data_name)
        claim = None
        try:
            os.replace(temp_path, data_path)
            claim = self._claim(meta_path)
            installed = self._install(meta_path, doc)
        except OSError:
            _unlink(temp_path)
            _unlink(data_path)
            if claim is not None:
                self._discard(claim)
            return False
        if claim is not None:
            self._discard(claim)
        if not installed:
            # Another process installed its entry for this key between our claim
            # and our write; theirs stands and our data file is nobody's.
            _unlink(data_path)
            return True
        with self._lock:
            if self._estimate is not None:
                self._estimate += size
        return True

    def over_budget(self) -> bool:
        with self._lock:
            return self._estimate is None or self._estimate > self.max_bytes

    # Sidecars are never overwritten or removed by path. A sidecar is taken away
    # with an atomic rename (a *claim*: whoever renames it owns exactly the doc
    # that was there, and removes its data file) and put in place with a hard link
    # that fails if another process put one there first. So no race between
    # processes leaves a data file that no sidecar names (LAYER-028f).

    def _claim(self, meta_path: str) -> tuple[dict[str, Any] | None, str] | None:
        """Take the sidecar at ``meta_path`` away: (its doc, its private path), or None."""
        claimed = os.path.join(self.directory, f"{_TMP}claim-{uuid.uuid4().hex}")
        try:
            os.replace(meta_path, claimed)
        except OSError:
            return None
        return self._read_doc(claimed), claimed

    def _discard(self, claim: tuple[dict[str, Any] | None, str]) -> None:
        """Remove a claimed sidecar and the data file it names."""
        doc, claimed = claim
        data = doc.get("data") if doc is not None else None
        if isinstance(data, str):
            _unlink(os.path.join(self.directory, os.path.basename(data)))
        _unlink(claimed)

    def _install_file(self, src: str, meta_path: str) -> bool:
        """Make ``src`` the sidecar at ``meta_path`` unless one is there already."""
        try:
            os.link(src, meta_path)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: last writer wins
            os.replace(src, meta_path)
        return True

    def _install(self, meta_path: str, doc: dict[str, Any]) -> bool:
        """Write ``doc`` as the sidecar at ``meta_path`` unless one is there already."""
        fd, tmp = tempfile.mkstemp(prefix=_TMP, dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(doc).encode())
            _touch(tmp)
            return self._install_file(tmp, meta_path)
        finally:
            _unlink(tmp)

    # -- dropping -----------------------------------------------------------------------

    def drop(self, key: str) -> None:
        """Remove the entry for ``key`` (if any)."""
        self._drop_meta(self._meta_path(key))

    def _drop_meta(self, meta_path: str) -> None:
        claim = self._claim(meta_path)
        if claim is not None:
            self._discard(claim)

    def drop_where(self, keep_out: Callable[[str], bool]) -> None:
        """Remove this backend's entries whose key satisfies ``keep_out`` (scans the directory)."""
        for path in self._metas():
            doc = self._read_doc(path)
            if doc is not None and doc.get("id") == self.identity:
                key = doc.get("key")
                if isinstance(key, str) and keep_out(key):
                    self._drop_meta(path)

    def _metas(self) -> list[str]:
        try:
            with os.scandir(self.directory) as it:
                return [e.path for e in it if e.name.endswith(_META)]
        except OSError:
            return []

    def evict(self) -> None:
        """Rescan the directory: drop garbage, then least recently used entries over the bound."""
        with self._lock:
            self._evict()

    def _evict(self) -> None:
        now = time.time()
        metas: list[tuple[float, str]] = []
        datas: dict[str, tuple[int, bool]] = {}  # name -> (size, young)
        try:
            with os.scandir(self.directory) as it:
                for de in it:
                    try:
                        st = de.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if de.name.startswith(_TMP):
                        if now - st.st_mtime > _TEMP_AGE_S:
                            _unlink(de.path)
                    elif de.name.endswith(_META):
                        metas.append((st.st_mtime, de.path))
                    elif de.name.endswith(_DATA):
                        datas[de.name] = (st.st_size, now - st.st_mtime <= _ORPHAN_AGE_S)
        except OSError:
            return
        live: list[tuple[float, str, str, int]] = []
        for last_use, path in metas:
            doc = self._read_doc(path)
            data = doc.get("data") if doc is not None else None
            if not isinstance(data, str) or data not in datas:
                if now - last_use > _ORPHAN_AGE_S:
                    self._drop_meta(path)  # its data is gone: the sidecar is useless
                continue
            live.append((last_use, path, data, datas.pop(data)[0]))
        total = sum(row[3] for row in live)
        for name, (size, young) in datas.items():  # what is left is unreferenced
            if young:
                total += size  # probably a publish in progress
            else:
                _unlink(os.path.join(self.directory, name))
        live.sort()
        for _, path, _data, size in live:
            if total <= self.max_bytes:
                break
            self._drop_meta(path)
            total -= size
            self.evictions += 1
        self._estimate = total


class DiskFill(ProxyStream):
    """Passes a whole-file read through, spooling it to a temporary file.

    When the read reaches the end with exactly ``expected`` bytes, ``finish``
    gets the temporary file's path (to publish it or throw it away); a seek,
    a short or long read, an early close or a write error discards it.
    """

    def __init__(
        self,
        inner: BinaryIO,
        spool: tuple[BinaryIO, str],
        expected: int,
        finish: Callable[[str], None],
    ) -> None:
        super().__init__(inner)
        self._spool: BinaryIO | None = spool[0]
        self._path = spool[1]
        self._expected = expected
        self._finish = finish
        self._size = 0

    def _data(self, data: bytes, eof: bool) -> None:
        f = self._spool
        if f is None:
            return
        try:
            if data:
                self._size += len(data)
                if self._size > self._expected:
                    self._abort()
                    return
                f.write(data)
            if eof:
                self._spool = None
                f.close()
                if self._size == self._expected:
                    self._finish(self._path)
                else:
                    _unlink(self._path)
        except OSError:
            self._abort()

    def _abort(self) -> None:
        f, self._spool = self._spool, None
        if f is not None:
            with contextlib.suppress(OSError):
                f.close()
            _unlink(self._path)

    def _sought(self, pos: int) -> None:
        self._abort()

    def _done(self) -> None:
        self._abort()


class _Window(ProxyStream):
    """At most ``left`` bytes of an open file (a ranged read served from disk)."""

    def __init__(self, inner: BinaryIO, left: int) -> None:
        super().__init__(inner)
        self._left = left

    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        raise io.UnsupportedOperation("a ranged read is not seekable")

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data: bytes = self._inner.read(size) if size else b""
        self._left -= len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self._left:
            size = self._left
        data: bytes = self._inner.readline(size) if size else b""
        self._left -= len(data)
        return data


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _touch(path: str) -> None:
    """Set a file's times to now, at full resolution (file times may lag by a clock tick)."""
    now = time.time_ns()
    os.utime(path, ns=(now, now))
