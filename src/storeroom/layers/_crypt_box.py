"""NaCl secretboxes opened and sealed in batches, straight into one buffer (spec CRYPT-060).

PyNaCl's public bindings allocate and copy every chunk three times, which
costs more than the cipher; its cffi module writes in place. cffi releases
the GIL around each call, so a batch is spread over the cores.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["BLOCK", "CHUNK", "NONCE", "TAG", "Box", "pool", "workers"]

NONCE = 24
TAG = 16
CHUNK = 64 * 1024
BLOCK = CHUNK + TAG
_NONCE_MOD = 1 << (8 * NONCE)


class Box:
    """Batched secretbox calls straight into one output buffer.

    PyNaCl's public bindings allocate and copy every chunk three times, which
    costs more than the cipher; its cffi module writes in place (CRYPT-060).
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self._out = bytearray()
        # sodium_init picks libsodium's SIMD code (about twice the reference code's speed).
        importlib.import_module("nacl.bindings").sodium_init()
        try:
            sodium = importlib.import_module("nacl._sodium")  # PyNaCl's cffi module
            self._ffi: Any = sodium.ffi
            self._lib: Any = sodium.lib
        except (ImportError, AttributeError):  # pragma: no cover - a PyNaCl without its cffi module
            self._ffi = self._lib = None

    def seal(self, chunks: list[bytes], start: int, index: int) -> bytes:
        out = bytearray(sum(len(c) for c in chunks) + TAG * len(chunks))
        pos = 0
        if self._lib is None:  # pragma: no cover
            from nacl.bindings import crypto_secretbox

            for i, chunk in enumerate(chunks):
                sealed = crypto_secretbox(chunk, _nonce(start, index + i), self.key)
                out[pos : pos + len(sealed)] = sealed
                pos += len(sealed)
            return bytes(out)
        ptr = self._ffi.from_buffer(out)
        for i, chunk in enumerate(chunks):
            self._lib.crypto_secretbox_easy(
                ptr + pos, chunk, len(chunk), _nonce(start, index + i), self.key
            )
            pos += len(chunk) + TAG
        return bytes(out)

    def open(self, sealed: bytes, start: int, index: int) -> tuple[bytes, int | None]:
        """Plain bytes of the whole chunks in ``sealed``; the index of a bad one, or None."""
        count = -(-len(sealed) // BLOCK)
        need = len(sealed) - TAG * count
        if len(self._out) < need:  # one scratch buffer per stream, copied out once
            self._out = bytearray(need)
        out = self._out
        if self._lib is None:  # pragma: no cover
            from nacl.bindings import crypto_secretbox_open
            from nacl.exceptions import CryptoError

            for i in range(count):
                try:
                    plain = crypto_secretbox_open(
                        sealed[i * BLOCK : (i + 1) * BLOCK], _nonce(start, index + i), self.key
                    )
                except CryptoError:
                    return b"", index + i
                out[i * CHUNK : i * CHUNK + len(plain)] = plain
            return bytes(out[:need]), None
        optr = self._ffi.from_buffer(out)
        iptr = self._ffi.from_buffer(sealed)
        opener = self._lib.crypto_secretbox_open_easy
        key = self.key
        size = len(sealed)

        def span(lo: int, hi: int) -> int | None:
            for i in range(lo, hi):
                length = min(BLOCK, size - i * BLOCK)
                nonce = _nonce(start, index + i)
                if opener(optr + i * CHUNK, iptr + i * BLOCK, length, nonce, key) != 0:
                    return index + i
            return None

        bad = _spread(count, span)
        return (b"", bad) if bad is not None else (bytes(memoryview(out)[:need]), None)

    def open_alone(self, sealed: bytes, start: int, index: int) -> tuple[bytes, int | None]:
        """Like ``open`` on this thread only, into this thread's scratch buffer (CRYPT-064)."""
        count = -(-len(sealed) // BLOCK)
        need = len(sealed) - TAG * count
        out = getattr(_SCRATCH, "out", None)
        if out is None or len(out) < need:
            out = _SCRATCH.out = bytearray(need)
        if self._lib is None:  # pragma: no cover
            return Box(self.key).open(sealed, start, index)
        optr = self._ffi.from_buffer(out)
        iptr = self._ffi.from_buffer(sealed)
        opener = self._lib.crypto_secretbox_open_easy
        key = self.key
        size = len(sealed)
        for i in range(count):
            length = min(BLOCK, size - i * BLOCK)
            nonce = _nonce(start, index + i)
            if opener(optr + i * CHUNK, iptr + i * BLOCK, length, nonce, key) != 0:
                return b"", index + i
        return bytes(memoryview(out)[:need]), None


def _spread(count: int, span: Callable[[int, int], int | None]) -> int | None:
    """Run ``span(lo, hi)`` over ``range(count)`` split across threads; the first bad index.

    libsodium runs without the GIL, so chunks are opened on every core (CRYPT-060).
    """
    workers = min(_WORKERS, count // 2)
    if workers < 2:
        return span(0, count)
    step = -(-count // workers)
    futures = [pool().submit(span, lo, min(lo + step, count)) for lo in range(step, count, step)]
    first = span(0, step)
    found = [first] + [f.result() for f in futures]
    return next((b for b in found if b is not None), None)


_WORKERS = min(4, os.cpu_count() or 1)
_POOL: tuple[int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


_SCRATCH = threading.local()


def workers() -> int:
    """How many threads open chunks at once (one per core, at most four)."""
    return _WORKERS


def pool() -> ThreadPoolExecutor:
    """The helper threads of this process (a forked child builds its own: threads do not fork)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            threads = ThreadPoolExecutor(_WORKERS, thread_name_prefix="storeroom-crypt")
            _POOL = (os.getpid(), threads)
        return _POOL[1]


def _nonce(start: int, index: int) -> bytes:
    return ((start + index) % _NONCE_MOD).to_bytes(NONCE, "little")
