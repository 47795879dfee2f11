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
import time
from collections.abc import Iterator
from typing import Any, BinaryIO

from storeroom.backend import Source, iter_source
from storeroom.errors import ConfigError, DecryptionError, StoreroomError
from storeroom.layers._crypt_box import BLOCK, CHUNK, NONCE, TAG, Box
from storeroom.layers._crypt_pipeline import Pipeline
from storeroom.layers._crypt_prefetch import Prefetcher

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
HEADER = len(MAGIC) + NONCE
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
    """Shared read plumbing: a pending buffer refilled by ``_next(want)`` (b"" at the end).

    ``want`` is how many more bytes the caller asked for, so a small read after
    a seek opens one chunk, not a whole batch.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buf = b""
        self._off = 0

    def _next(self, want: int) -> bytes:
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
            buf = self._next(size - got)
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
        while chunk := self._next(BATCH * CHUNK):
            parts.append(chunk)
        self._buf, self._off = b"", 0
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


#: Chunks sealed or opened per call (1 MiB of content).
BATCH = 16
#: Read ahead when fetching a batch takes at least this share of the time opening it.
PREFETCH_SHARE = 0.25
#: Plain bytes read on sequentially before batches are opened ahead on the pool (CRYPT-064).
PIPELINE_AFTER = 2 * BATCH * CHUNK


class SealingReader(_Stream):
    """Reads as the sealed form of ``src``: header, then one secretbox per 64 KiB chunk."""

    def __init__(self, src: Source, key: bytes) -> None:
        super().__init__()
        self._box = Box(key)
        nonce = os.urandom(NONCE)
        self._start = int.from_bytes(nonce, "little")
        self._index = 0
        self._chunks = _rechunk(iter_source(src, CHUNK))
        self._buf = MAGIC + nonce
        #: Plain bytes sealed so far (the file's size once read to the end).
        self.plain_bytes = 0

    def _next(self, want: int) -> bytes:
        chunks: list[bytes] = []
        for chunk in self._chunks:
            chunks.append(chunk)
            if len(chunks) == BATCH:
                break
        if not chunks:
            return b""
        sealed = self._box.seal(chunks, self._start, self._index)
        self._index += len(chunks)
        self.plain_bytes += sum(len(c) for c in chunks)
        return sealed


def _rechunk(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Exactly-64-KiB pieces (the last shorter) from blocks of any size, copying each byte once."""
    pending = bytearray()
    for block in blocks:
        view = memoryview(block)
        pos = 0
        if pending:
            pos = min(len(view), CHUNK - len(pending))
            pending += view[:pos]
            if len(pending) < CHUNK:
                continue
            yield bytes(pending)
            pending = bytearray()
        while len(view) - pos >= CHUNK:
            yield bytes(view[pos : pos + CHUNK])
            pos += CHUNK
        pending += view[pos:]
    if pending:
        yield bytes(pending)


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
        self._box = Box(key)
        self._inner = inner
        self._start = int.from_bytes(nonce, "little")
        self._index = first
        self._skip = skip
        self._left = limit
        self._name = name
        self._whole = first == 0 and skip == 0 and limit is None
        self._pos = first * CHUNK + skip
        self._ahead: Prefetcher | None = None
        self._timing = [0.0, 0.0, 0]  # seconds fetching, seconds opening, full batches
        self._pipe: Pipeline | None = None
        self._streamed = 0  # plain bytes handed out since the open or the last seek

    def _next(self, want: int) -> bytes:
        if self._left is not None and self._left <= 0:
            return b""
        if self._left is not None:  # read no chunk past the range
            want = min(want, self._left)
        if self._pipe is None and self._streamed >= PIPELINE_AFTER:
            fail = self._error
            self._pipe = Pipeline(self._box, self._fetch_batch, fail, self._start, self._index)
        if self._pipe is not None:
            plain, count = self._pipe.next()
        else:
            plain, count = self._open_here(want)
        if not count:
            return b""
        self._index += count
        if self._skip:
            plain, self._skip = plain[self._skip :], 0
        if self._left is not None:
            if len(plain) > self._left:
                plain = plain[: self._left]
            self._left -= len(plain)
        self._streamed += len(plain)
        return plain or self._next(want)

    def _fetch_batch(self, size: int = BATCH * BLOCK) -> bytes:
        """The next ``size`` stored bytes (a batch if read ahead); errors name the plain key."""
        try:
            if self._ahead is not None:
                return self._ahead.get()
            return read_full(self._inner, size)
        except StoreroomError as exc:  # name the plain key, not the stored one
            if self._name:
                exc.path = self._name
            raise

    def _open_here(self, want: int) -> tuple[bytes, int]:
        """Fetch and open the chunks ``want`` needs on this thread (spread over the pool)."""
        batch = max(1, min(BATCH, -(-(want + self._skip) // CHUNK)))
        t0 = time.perf_counter()
        sealed = self._fetch_batch(batch * BLOCK)
        if not sealed:
            return b"", 0
        if len(sealed) % BLOCK and len(sealed) % BLOCK <= TAG:
            raise self._error("the file ends inside a chunk's tag (truncated)")
        t1 = time.perf_counter()
        plain, bad = self._box.open(sealed, self._start, self._index)
        if self._ahead is None and len(sealed) == BATCH * BLOCK:
            self._judge(t1 - t0, time.perf_counter() - t1)
        if bad is not None:
            raise self._error(f"chunk {bad} failed authentication")
        return plain, -(-len(sealed) // BLOCK)

    def _judge(self, fetching: float, opening: float) -> None:
        """After two full batches, read ahead if fetching costs ``PREFETCH_SHARE`` of opening."""
        self._timing[0] += fetching
        self._timing[1] += opening
        self._timing[2] += 1
        if self._timing[2] >= 2 and self._timing[0] >= PREFETCH_SHARE * self._timing[1]:
            inner = self._inner
            self._ahead = Prefetcher(lambda: read_full(inner, BATCH * BLOCK))

    def _stop_ahead(self) -> None:
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        self._streamed = 0
        if self._ahead is not None:
            self._ahead.stop()
            self._ahead = None

    def _error(self, what: str) -> DecryptionError:
        return DecryptionError(
            f"cannot decrypt: {what}",
            path=self._name or None,
            hint="check the password (and password2), or the file was changed or corrupted",
        )

    # -- native seeking (a whole-file stream over a seekable stored stream) -------------

    def seekable(self) -> bool:
        return self._whole and bool(self._inner.seekable())

    def tell(self) -> int:
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        data = super().read(size)
        self._pos += len(data)
        return data

    def readall(self) -> bytes:
        data = super().readall()
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to a plain offset: the stored stream moves to that chunk, nothing is read yet."""
        if not self.seekable():
            raise io.UnsupportedOperation("this crypt stream is not seekable")
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            offset += decrypted_size(self._inner.seek(0, io.SEEK_END))
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence})")
        if offset < 0:
            raise ValueError(f"negative seek position {offset}")
        chunk = offset // CHUNK
        self._stop_ahead()  # its batches belong to the old position; judged again from here
        self._timing = [0.0, 0.0, 0]
        self._inner.seek(HEADER + chunk * BLOCK)
        self._index, self._skip, self._pos = chunk, offset - chunk * CHUNK, offset
        self._buf, self._off = b"", 0
        return offset

    def close(self) -> None:
        if not self.closed:
            try:
                self._stop_ahead()
                self._inner.close()
            finally:
                super().close()
