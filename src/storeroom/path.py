"""Store-relative path model and normalisation.

One rule set, applied once at the Store boundary (spec PATH-*):
``\\`` becomes ``/``; empty, repeated and edge ``/`` and ``.`` segments are
dropped; a ``..`` segment, a NUL byte or a lone surrogate (text no backend
can encode) is an ``InvalidPath``. The result never starts or ends with
``/``; the store root is ``""``.
"""

from __future__ import annotations

import logging
import posixpath
import re
from typing import Any, ClassVar

from storeroom.errors import InvalidPath

__all__ = [
    "RemotePath",
    "is_store_key",
    "join_key",
    "listable",
    "normalize",
    "normalize_file",
]

_BAD_SEGMENTS = frozenset(("", ".", ".."))
_SURROGATE = re.compile("[\ud800-\udfff]")
_log = logging.getLogger("storeroom.listing")


def normalize(path: object, *, backend: str | None = None) -> str:
    """Return the canonical form of ``path`` ("" for the root).

    Raises ``InvalidPath`` for ``..`` segments, NUL bytes, lone surrogates
    and non-string input; the message shows the offending input.
    """
    if type(path) is not str:
        if isinstance(path, str):
            path = str(path)
        else:
            raise InvalidPath(
                f"path must be a str, got {type(path).__name__}",
                path=repr(path),
                backend=backend,
                hint="pass a store-relative string such as 'reports/2024.csv'",
            )
    # Fast path: the common clean path needs one split and three lookups.
    if "\\" not in path and "\x00" not in path and (path.isascii() or not _SURROGATE.search(path)):
        parts = path.split("/")
        if not _BAD_SEGMENTS.intersection(parts):
            return path
    return _normalize_slow(path, backend)


def _normalize_slow(path: str, backend: str | None) -> str:
    if "\x00" in path:
        raise InvalidPath(
            "path contains a NUL byte",
            path=path.replace("\x00", "\\x00"),
            backend=backend,
        )
    if _SURROGATE.search(path):
        raise InvalidPath(
            "path contains a lone surrogate, which is not valid Unicode text",
            path=_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", path),
            backend=backend,
            hint="names must be encodable as UTF-8; decode raw bytes before using them as paths",
        )
    out = []
    for seg in path.replace("\\", "/").split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            raise InvalidPath(
                "'..' segments are not allowed in store paths",
                path=path,
                backend=backend,
                hint="paths are relative to the store root and cannot leave it",
            )
        out.append(seg)
    return "/".join(out)


def normalize_file(path: object, *, backend: str | None = None) -> str:
    """Normalise a path that must name a file (so it may not be the root)."""
    key = normalize(path, backend=backend)
    if not key:
        raise InvalidPath(
            "a file path is required, got the store root",
            path=str(path) if isinstance(path, str) else repr(path),
            backend=backend,
            hint="name a file, e.g. 'data/file.bin'",
        )
    return key


def is_store_key(key: str) -> bool:
    """True when ``key`` is a canonical, non-root store path: ``normalize(key) == key``.

    So no NUL byte, no ``\\``, no lone surrogate, no empty, ``.`` or ``..`` segment (hence no
    leading, trailing or doubled ``/``). Backends check the names they list
    with it (spec BACKEND-006): a foreign client may create any name.
    """
    return (
        bool(key)
        and "\x00" not in key
        and "\\" not in key
        and not _SURROGATE.search(key)
        and not _BAD_SEGMENTS.intersection(key.split("/"))
    )


def listable(key: str, backend: str) -> bool:
    """``is_store_key(key)``; when false, log one warning naming the skipped key.

    A listing skips such a name instead of failing (spec BACKEND-006), so one
    object written by another client cannot make a whole folder unlistable.
    """
    if is_store_key(key):
        return True
    _log.warning("%s: skipped a listed name that is not a valid store path: %r", backend, key)
    return False


def join_key(prefix: str, key: str) -> str:
    """Join two already-normalised keys."""
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}/{key}"


class RemotePath(str):
    """A normalised store-relative path; a ``str`` with path helpers.

    Because it is a ``str``, ``info.path == "a/b.txt"`` and dict lookups work
    as expected. Construct it with ``RemotePath("a//b")`` to normalise.
    """

    __slots__ = ()

    #: The store root (``""``); set below the class (spec COMPAT-005).
    ROOT: ClassVar[RemotePath]

    def __new__(cls, raw: object = "") -> RemotePath:
        key = normalize(raw)
        if not key and cls is RemotePath:
            return RemotePath.ROOT  # the root is one object: ``RemotePath("") is ROOT``
        return str.__new__(cls, key)

    @classmethod
    def _trusted(cls, key: str) -> RemotePath:
        """Wrap an already-normalised key without re-validating it."""
        if not key and cls is RemotePath:
            return RemotePath.ROOT
        return str.__new__(cls, key)

    @property
    def name(self) -> str:
        """The final segment ("" for the root)."""
        return self.rpartition("/")[2]

    @property
    def parent(self) -> RemotePath | None:
        """The containing folder, or ``None`` for the root."""
        if not self:
            return None
        return RemotePath._trusted(self.rpartition("/")[0])

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.split("/")) if self else ()

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    def __truediv__(self, other: object) -> RemotePath:
        return RemotePath._trusted(join_key(self, normalize(other)))

    def is_relative_to(self, other: str) -> bool:
        other = normalize(other)
        return not other or self == other or self.startswith(other + "/")

    def relative_to(self, other: str) -> RemotePath:
        other = normalize(other)
        if not other:
            return self
        if self == other:
            return RemotePath._trusted("")
        if self.startswith(other + "/"):
            return RemotePath._trusted(self[len(other) + 1 :])
        raise InvalidPath(f"{str(self)!r} is not inside {other!r}", path=str(self))

    def as_posix(self) -> str:
        """The path with forward slashes; ``"."`` for the root, like ``pathlib``."""
        return str(self) or "."

    @classmethod
    def from_backend_path(cls, path: str) -> RemotePath:
        """A RemotePath of a backend path; ``""`` and ``"."`` both give ``ROOT``."""
        return cls.ROOT if path in ("", ".") else cls(path)

    def __repr__(self) -> str:
        return f"RemotePath({str.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemotePath._trusted, (str(self),))


RemotePath.ROOT = str.__new__(RemotePath, "")
