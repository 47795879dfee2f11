"""rclone crypt's content format: keys, sizes, and sealing/opening streams.

A sealed file is ``RCLONE\\0\\0``, a random 24-byte nonce, then the content in
64 KiB chunks, each a NaCl secretbox (16-byte tag + data) under the nonce
plus the chunk's index, added little-endian (spec CRYPT-010..016). Written
from rclone's crypt documentation; PyNaCl provides the secretbox.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from storeroom.backend import Source, iter_source
from storeroom.errors import ConfigError, DecryptionError

__all__ = [
    "BLOCK",
    "CHUNK",
    "HEADER",
    "Keys",
    "OpeningReader",
    "SealingReader",
    "decrypted_size",
    "derive_keys",
    "encrypted_size",
    "obscure",
    "reveal",
]

MAGIC = b"RCLONE\x00\x00"
NONCE = 24
HEADER = len(MAGIC) + NONCE
TAG = 16
CHUNK = 64 * 1024
BLOCK = CHUNK + TAG
_NONCE_MOD = 1 << (8 * NONCE)
#: rclone's built-in salt, used when ``password2`` is empty.
DEFAULT_SALT = bytes.fromhex("a80df43a8fbd0308a7cab83e581f86b1")
#: rclone's fixed key for "obscured" config values (not a secret: it only hides from eyes).
_OBSCURE_KEY = bytes.fromhex("9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638")


class Keys:
    """The 80 bytes scrypt derives from the passwords: data key, name key, name tweak."""

    __slots__ = ("data", "name", "tweak")

    def __init__(self, raw: bytes) -> None:
        self.data, self.name, self.tweak = raw[:32], raw[32:64], raw[64:80]

    def __repr__(self) -> str:
        return "Keys(***)"


def derive_keys(password: str, password2: str) -> Keys:
    """scrypt(N=16384, r=8, p=1) of ``password`` salted with ``password2`` (or rclone's salt)."""
    salt = password2.encode("utf-8") if password2 else DEFAULT_SALT
    raw = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=16384, r=8, p=1, maxmem=64 * 1024 * 1024, dklen=80
    )
    return Keys(raw)


def _obscure_cipher(iv: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    return Cipher(algorithms.AES(_OBSCURE_KEY), modes.CTR(iv))


def reveal(value: str, where: str) -> str:
    """The plain text of an rclone-obscured value (``rclone obscure``); ``ConfigError`` if bad."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        if len(raw) < 16:
            raise ValueError
        dec = _obscure_cipher(raw[:16]).decryptor()
        plain: bytes = dec.update(raw[16:]) + dec.finalize()
        return plain.decode("utf-8")
    except (binascii.Error, ValueError):
        raise ConfigError(
            f"{where}: not an rclone-obscured value",
            key=where,
            hint="paste the value from rclone.conf or `rclone obscure`, or set obscured = false",
        ) from None


def obscure(plain: str) -> str:
    """``plain`` in rclone's obscured form (what ``rclone obscure`` prints)."""
    iv = os.urandom(16)
    enc = _obscure_cipher(iv).encryptor()
    body = enc.update(plain.encode("utf-8")) + enc.finalize()
    return base64.urlsafe_b64encode(iv + body).decode("ascii").rstrip("=")


def encrypted_size(size: int) -> int:
    """Stored size of ``size`` plain bytes."""
    full, rest = divmod(size, CHUNK)
    return HEADER + full * BLOCK + (rest + TAG if rest else 0)


def decrypted_size(size: int) -> int:
    """Plain size of a stored file of ``size`` bytes; ``DecryptionError`` when none fits."""
    full, rest = divmod(size - HEADER, BLOCK)
    if size < HEADER or 0 < rest <= TAG:
        raise DecryptionError(
            f"a stored size of {size} bytes is not one rclone crypt produces",
            hint="the file was truncated or is not encrypted with this layer's format",
        )
    return full * CHUNK + (rest - TAG if rest else 0)


def chunk_nonce(start: bytes, index: int) -> bytes:
    """The nonce of chunk ``index``: the file nonce plus ``index``, little-endian, wrapping."""
    value = (int.from_bytes(start, "little") + index) % _NONCE_MOD
    return value.to_bytes(NONCE, "little")


def read_full(stream: BinaryIO, n: int) -> bytes:
    """Up to ``n`` bytes, fewer only at the end of ``stream``."""
    data = stream.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def check_header(header: bytes) -> bytes:
    """The file nonce from a stored file's first 32 bytes; ``DecryptionError`` if not a header."""
    if len(header) < HEADER or header[: len(MAGIC)] != MAGIC:
        raise DecryptionError(
            "the file does not start with rclone crypt's header",
            hint="it was not written through a crypt layer or rclone crypt, or it was changed",
        )
    return header[len(MAGIC) : HEADER]


class _Stream(io.RawIOBase):
    """Shared read plumbing: a pending buffer refilled by ``_next`` (b"" at the end)."""

    def __init__(self) -> None:
        super().__init__()
        self._buf = b""
        self._off = 0

    def _next(self) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        if size is None or size < 0:
            return self.readall()
        buf, off = self._buf, self._off
        if off + size <= len(buf):  # the hot path: served from the current chunk
            self._off = off + size
            return buf[off : off + size]
        parts = [buf[off:]] if off < len(buf) else []
        got = len(buf) - off
        while got < size:
            buf = self._next()
            if not buf:
                self._buf, self._off = b"", 0
                return b"".join(parts)
            take = min(len(buf), size - got)
            parts.append(buf[:take] if take < len(buf) else buf)
            got += take
            self._buf, self._off = buf, take
        return b"".join(parts)

    def readall(self) -> bytes:
        parts = [self._buf[self._off :]]
        while chunk := self._next():
            parts.append(chunk)
        self._buf, self._off = b"", 0
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


class SealingReader(_Stream):
    """Reads as the sealed form of ``src``: header, then one secretbox per 64 KiB chunk."""

    def __init__(self, src: Source, key: bytes) -> None:
        super().__init__()
        from nacl.bindings import crypto_secretbox

        self._seal = crypto_secretbox
        self._key = key
        self._nonce = os.urandom(NONCE)
        self._index = 0
        self._chunks = _rechunk(iter_source(src, CHUNK))
        #: Plain bytes sealed so far (the file's size once read to the end).
        self.plain_bytes = 0
        self._buf = MAGIC + self._nonce

    def _next(self) -> bytes:
        plain = next(self._chunks, b"")
        if not plain:
            return b""
        self.plain_bytes += len(plain)
        sealed: bytes = self._seal(plain, chunk_nonce(self._nonce, self._index), self._key)
        self._index += 1
        return sealed


def _rechunk(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Exactly-64-KiB pieces (the last shorter) from blocks of any size."""
    pending = b""
    for block in blocks:
        if not pending and len(block) == CHUNK:
            yield block
            continue
        pending += block
        while len(pending) >= CHUNK:
            yield pending[:CHUNK]
            pending = pending[CHUNK:]
    if pending:
        yield pending


def seal_bytes(data: bytes, key: bytes) -> bytes:
    """The whole sealed form of ``data`` (for sources given as bytes)."""
    return SealingReader(data, key).readall()


class OpeningReader(_Stream):
    """Plain bytes from a stored stream positioned at chunk ``first``; checks every tag.

    ``skip`` plain bytes of the first chunk are dropped and at most ``limit``
    bytes are returned (``None``: to the end). A chunk that fails its tag, or
    a stream ending inside a tag, raises ``DecryptionError``.
    """

    def __init__(
        self,
        inner: BinaryIO,
        key: bytes,
        nonce: bytes,
        first: int = 0,
        skip: int = 0,
        limit: int | None = None,
        name: str = "",
    ) -> None:
        super().__init__()
        from nacl.bindings import crypto_secretbox_open
        from nacl.exceptions import CryptoError

        self._open = crypto_secretbox_open
        self._bad = CryptoError
        self._inner = inner
        self._key = key
        self._start = int.from_bytes(nonce, "little")
        self._index = first
        self._skip = skip
        self._left = limit
        self._name = name

    def _next(self) -> bytes:
        if self._left is not None and self._left <= 0:
            return b""
        sealed = read_full(self._inner, BLOCK)
        if not sealed:
            return b""
        if len(sealed) <= TAG:
            raise self._error("the file ends inside a chunk's tag (truncated)")
        nonce = ((self._start + self._index) % _NONCE_MOD).to_bytes(NONCE, "little")
        try:
            plain: bytes = self._open(sealed, nonce, self._key)
        except self._bad:
            raise self._error(f"chunk {self._index} failed authentication") from None
        self._index += 1
        if self._skip:
            plain, self._skip = plain[self._skip :], 0
        if self._left is not None:
            if len(plain) > self._left:
                plain = plain[: self._left]
            self._left -= len(plain)
        return plain or self._next()

    def _error(self, what: str) -> DecryptionError:
        return DecryptionError(
            f"cannot decrypt: {what}",
            path=self._name or None,
            hint="check the password (and password2), or the file was changed or corrupted",
        )

    def close(self) -> None:
        if not self.closed:
            try:
                self._inner.close()
            finally:
                super().close()
