"""rclone crypt's name schemes: AES-EME + base32hex ("standard"), "obfuscate" and "off".

Written from rclone's crypt documentation (spec CRYPT-020..028): a standard
name segment is PKCS#7-padded to 16 bytes, enciphered with EME (Halevi and
Rogaway's wide-block mode) over AES-256 under the name key and name tweak,
then written as lower-case base32hex without padding.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

__all__ = ["NameCipher", "NameError_"]

_BLOCK = 16
_MASK128 = (1 << 128) - 1
_MAX_BLOCKS = 128  # EME's limit (2 KiB), and rclone's for a decoded name
_QUOTE = "!"


class NameError_(ValueError):
    """A stored name is not a name this cipher produced (skipped in listings)."""


def _times_two(value: int) -> int:
    """Doubling in GF(2^128), little-endian byte order (EME's ``multByTwo``)."""
    doubled = (value << 1) & _MASK128
    return doubled ^ 0x87 if value >> 127 else doubled


class _Eme:
    """EME-32 over AES-256 with a fixed tweak: encipher or decipher whole names."""

    def __init__(self, key: bytes, tweak: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        self._cipher = Cipher(algorithms.AES(key), modes.ECB())
        self._tweak = int.from_bytes(tweak, "little")
        enc = self._cipher.encryptor()
        ell = int.from_bytes(enc.update(bytes(_BLOCK)), "little")
        self._table: list[int] = []
        for _ in range(_MAX_BLOCKS):
            ell = _times_two(ell)
            self._table.append(ell)

    def transform(self, data: bytes, *, encrypt: bool) -> bytes:
        m = len(data) // _BLOCK
        ctx: Any = self._cipher.encryptor() if encrypt else self._cipher.decryptor()
        table = self._table
        blocks = [int.from_bytes(data[i * 16 : i * 16 + 16], "little") for i in range(m)]
        pp = b"".join((b ^ table[j]).to_bytes(16, "little") for j, b in enumerate(blocks))
        ppp_raw = ctx.update(pp)
        ppp = [int.from_bytes(ppp_raw[i * 16 : i * 16 + 16], "little") for i in range(m)]
        mp = self._tweak
        for value in ppp:
            mp ^= value
        mc = int.from_bytes(ctx.update(mp.to_bytes(16, "little")), "little")
        mask = mp ^ mc
        ccc = [0] * m
        for j in range(1, m):
            mask = _times_two(mask)
            ccc[j] = ppp[j] ^ mask
        first = mc ^ self._tweak
        for j in range(1, m):
            first ^= ccc[j]
        ccc[0] = first
        cc_raw = ctx.update(b"".join(v.to_bytes(16, "little") for v in ccc))
        return b"".join(
            (int.from_bytes(cc_raw[i * 16 : i * 16 + 16], "little") ^ table[i]).to_bytes(
                16, "little"
            )
            for i in range(m)
        )


def _pad(raw: bytes) -> bytes:
    n = _BLOCK - len(raw) % _BLOCK
    return raw + bytes([n]) * n


def _unpad(raw: bytes) -> bytes:
    n = raw[-1] if raw else 0
    if not 1 <= n <= _BLOCK or raw[-n:] != bytes([n]) * n:
        raise NameError_("bad padding")
    return raw[:-n]


def _check_plain(name: str) -> str:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise NameError_("not a valid name")
    return name


class NameCipher:
    """Maps plain keys to stored keys and back for one mode, key and tweak."""

    def __init__(
        self, mode: str, name_key: bytes, name_tweak: bytes, *, dirs: bool, suffix: str
    ) -> None:
        self.mode = mode
        self.dirs = dirs and mode != "off"
        self.suffix = suffix
        self._key_sum = sum(name_key)
        self._eme = _Eme(name_key, name_tweak) if mode == "standard" else None

    # -- one segment --------------------------------------------------------------

    def seal_segment(self, name: str) -> str:
        if self.mode == "standard":
            assert self._eme is not None
            sealed = self._eme.transform(_pad(name.encode("utf-8")), encrypt=True)
            return base64.b32hexencode(sealed).decode("ascii").rstrip("=").lower()
        return _obfuscate(name, self._key_sum)

    def open_segment(self, stored: str) -> str:
        if self.mode == "standard":
            assert self._eme is not None
            text = stored.upper()
            try:
                raw = base64.b32hexdecode(text + "=" * (-len(text) % 8))
            except (binascii.Error, ValueError):
                raise NameError_("not base32hex") from None
            if not raw or len(raw) % _BLOCK or len(raw) > _MAX_BLOCKS * _BLOCK:
                raise NameError_("wrong length")
            plain = _unpad(self._eme.transform(raw, encrypt=False))
            try:
                return _check_plain(plain.decode("utf-8"))
            except UnicodeDecodeError:
                raise NameError_("not UTF-8") from None
        return _check_plain(_deobfuscate(stored, self._key_sum))

    # -- whole keys ----------------------------------------------------------------

    def file_key(self, key: str) -> str:
        """Stored key of the file ``key``."""
        if self.mode == "off":
            return key + self.suffix
        parts = key.split("/")
        start = 0 if self.dirs else len(parts) - 1
        return "/".join(p if i < start else self.seal_segment(p) for i, p in enumerate(parts))

    def dir_key(self, key: str) -> str:
        """Stored key of the folder ``key`` ("" stays the root)."""
        if not key or not self.dirs:
            return key
        return "/".join(self.seal_segment(p) for p in key.split("/"))

    def file_name(self, stored: str) -> str:
        """Plain name of a stored file name (last segment); ``NameError_`` if it is not one."""
        if self.mode == "off":
            if len(stored) <= len(self.suffix) or not stored.endswith(self.suffix):
                raise NameError_("no suffix")
            return _check_plain(stored[: len(stored) - len(self.suffix)])
        return self.open_segment(stored)

    def dir_name(self, stored: str) -> str:
        """Plain name of a stored folder name (last segment)."""
        return self.open_segment(stored) if self.dirs else stored


# -- obfuscate --------------------------------------------------------------------------


def _valid_rune(code: int) -> bool:
    return 0 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF


def _obfuscate(name: str, key_sum: int) -> str:
    if not name:
        return ""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not valid UTF-8, kept as is
        return "!." + name
    shown = sum(ord(ch) for ch in name) % 256
    rot = shown + key_sum
    out = [f"{shown}."]
    for ch in name:
        c = ord(ch)
        if ch == _QUOTE:
            out.append(_QUOTE + _QUOTE)
        elif "0" <= ch <= "9":
            out.append(chr(48 + (c - 48 + rot % 9 + 1) % 10))
        elif "A" <= ch <= "Z" or "a" <= ch <= "z":
            pos = c - 65
            pos = pos - 6 if pos >= 26 else pos
            pos = (pos + rot % 25 + 1) % 52
            out.append(chr(65 + (pos + 6 if pos >= 26 else pos)))
        elif 0xA0 <= c <= 0xFF:
            out.append(chr(0xA0 + (c - 0xA0 + rot % 95 + 1) % 96))
        elif c >= 0x100:
            base = c - c % 256
            new = base + (c - base + rot % 127 + 1) % 256
            out.append(chr(new) if _valid_rune(new) else _QUOTE + ch)
        else:
            out.append(ch)
    return "".join(out)


def _deobfuscate(stored: str, key_sum: int) -> str:
    shown, dot, rest = stored.partition(".")
    if not dot:
        raise NameError_("no rotation prefix")
    if shown == "!":
        return rest
    if not shown.isascii() or not shown.lstrip("+-").isdigit():
        raise NameError_("rotation prefix is not a number")
    rot = int(shown) + key_sum
    out: list[str] = []
    quoted = False
    for ch in rest:
        c = ord(ch)
        if quoted:
            out.append(ch)
            quoted = False
        elif ch == _QUOTE:
            quoted = True
        elif "0" <= ch <= "9":
            out.append(chr(48 + (c - 48 - (rot % 9 + 1)) % 10))
        elif "A" <= ch <= "Z" or "a" <= ch <= "z":
            pos = c - 65
            pos = pos - 6 if pos >= 26 else pos
            pos = (pos - (rot % 25 + 1)) % 52
            out.append(chr(65 + (pos + 6 if pos >= 26 else pos)))
        elif 0xA0 <= c <= 0xFF:
            out.append(chr(0xA0 + (c - 0xA0 - (rot % 95 + 1)) % 96))
        elif c >= 0x100:
            base = c - c % 256
            new = base + (c - base - (rot % 127 + 1)) % 256
            if not _valid_rune(new):
                raise NameError_("not a valid character")
            out.append(chr(new))
        else:
            out.append(ch)
    return "".join(out)
