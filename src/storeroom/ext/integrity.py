"""Checksums of stored files: the backend's own digest when it has one, else a streamed hash.

``content_digest(store, path, "sha256")`` returns the ``FileInfo.digest`` the
backend reports when it is of the requested algorithm (no data read);
otherwise it streams the file through ``hashlib`` in 1 MiB chunks (memory
stays flat). ``checksum`` gives it as the ``(algorithm, hex)`` pair; ``verify`` and
``verify_hex`` compare against an expected value (spec EXT-030..036).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument, StoreroomError
from storeroom.ext.streams import new_hasher, normalize_algorithm
from storeroom.models import ContentDigest, FileInfo, WriteResult
from storeroom.store import Store

__all__ = [
    "Checksum",
    "ChecksumMismatch",
    "checksum",
    "content_digest",
    "digest_stream",
    "native_digest",
    "parse_digest",
    "verify",
    "verify_hex",
]

CHUNK = 1024 * 1024


class ChecksumMismatch(StoreroomError, ValueError):
    """A file's content does not have the expected checksum."""

    def __init__(
        self,
        message: str = "",
        *,
        expected: ContentDigest | None = None,
        actual: ContentDigest | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)
        self.expected = expected
        self.actual = actual


def native_digest(info: FileInfo | WriteResult | None, algorithm: str) -> ContentDigest | None:
    """The digest a backend reported on ``info`` when it is of ``algorithm``, else ``None``."""
    digest = getattr(info, "digest", None)
    if digest is not None and digest.algorithm == normalize_algorithm(algorithm):
        return digest  # type: ignore[no-any-return]
    return None


def digest_stream(stream: Any, algorithm: str = "sha256", chunk_size: int = CHUNK) -> ContentDigest:
    """Hash a binary stream from its current position to the end."""
    hasher = new_hasher(algorithm)
    read = stream.read
    while True:
        block = read(chunk_size)
        if not block:
            break
        hasher.update(block)
    return ContentDigest(normalize_algorithm(algorithm), hasher.hexdigest())


def content_digest(
    store: Store, path: str, algorithm: str = "sha256", *, native: bool = True
) -> ContentDigest:
    """Digest of a stored file: native when available (and ``native``), else streamed."""
    new_hasher(algorithm)  # unknown algorithm: fail before any I/O
    if native and store.supports(Capability.METADATA):
        found = native_digest(store.get_file_info(path), algorithm)
        if found is not None:
            return found
    with store.read(path) as stream:
        return digest_stream(stream, algorithm)


class Checksum(NamedTuple):
    """``(algorithm, hex)`` of a file: unpacks and compares as that pair."""

    algorithm: str
    value: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.value}"

    @property
    def digest(self) -> ContentDigest:
        """The same checksum as a ``ContentDigest``."""
        return ContentDigest(self.algorithm, self.value)


def checksum(store: Store, path: str, algorithm: str = "sha256") -> Checksum:
    """``(algorithm, hex)`` of a stored file (see ``content_digest``)."""
    found = content_digest(store, path, algorithm)
    return Checksum(found.algorithm, found.value)


def parse_digest(expected: ContentDigest | str, algorithm: str | None = None) -> ContentDigest:
    """``"sha256:ab12..."``, a bare hex value (with ``algorithm``) or a ``ContentDigest``."""
    if isinstance(expected, ContentDigest):
        return expected
    text = str(expected).strip()
    algo, sep, value = text.partition(":")
    if not sep:
        algo, value = algorithm or "sha256", text
    try:
        return ContentDigest(normalize_algorithm(algo), value)
    except ValueError as exc:
        raise InvalidArgument(f"not a checksum: {expected!r} ({exc})") from None


def verify(
    store: Store,
    path: str,
    expected: ContentDigest | str,
    algorithm: str | None = None,
    *,
    raise_on_mismatch: bool = False,
) -> bool:
    """True when the file's checksum equals ``expected``.

    ``expected`` is a ``ContentDigest``, ``"algo:hex"``, or bare hex of
    ``algorithm`` (default sha256). With ``raise_on_mismatch`` a mismatch
    raises ``ChecksumMismatch`` instead of returning False.
    """
    want = parse_digest(expected, algorithm)
    got = content_digest(store, path, want.algorithm)
    if got.value == want.value:
        return True
    if raise_on_mismatch:
        raise ChecksumMismatch(
            f"checksum mismatch: expected {want}, got {got}",
            expected=want,
            actual=got,
            path=path,
            backend=store.backend.type_name,
            store=store.name,
            operation="verify",
        )
    return False


def verify_hex(store: Store, path: str, algorithm: str, expected_hex: str) -> bool:
    """True when the file's ``algorithm`` checksum is ``expected_hex`` (any case)."""
    return verify(store, path, ContentDigest(normalize_algorithm(algorithm), expected_hex))
