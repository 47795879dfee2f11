"""``SFTPUtils``: setting-up helpers for SFTP servers, under remote-store's names (spec SFTP-080..).

Loading a private key, learning a server's host key or algorithm lists without
logging in, and re-enabling ``ssh-rsa`` for old servers. paramiko is imported
inside each helper, so importing this module needs no SDK.
"""

from __future__ import annotations

import re
import socket
import struct
from enum import StrEnum
from pathlib import Path
from typing import Any

from storeroom.backends.sftp.config import policy_value
from storeroom.errors import BackendUnavailable, ConfigError, NotFound, StoreroomError

__all__ = ["KEXINIT_FIELDS", "HostKeyPolicy", "SFTPUtils"]


class HostKeyPolicy(StrEnum):
    """The ``host_key_policy`` option values, under remote-store's member names.

    remote-store's ``TRUST_ON_FIRST_USE`` is storeroom's ``auto_add`` (the first key
    seen is kept and checked later) and its ``AUTO_ADD`` (any key, with a warning)
    is storeroom's ``warn``. remote-store's strings ``"tofu"`` and ``"auto"`` are accepted
    too; the string ``"auto_add"`` (any case) keeps storeroom's meaning.
    """

    STRICT = "strict"
    TRUST_ON_FIRST_USE = "auto_add"
    AUTO_ADD = "warn"

    @classmethod
    def _missing_(cls, value: object) -> HostKeyPolicy | None:
        found = policy_value(value)
        return None if found is None else cls(found)


#: The ten name-lists of an SSH ``KEXINIT`` message, in wire order (RFC 4253, 7.1).
KEXINIT_FIELDS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_ctos",
    "encryption_algorithms_stoc",
    "mac_algorithms_ctos",
    "mac_algorithms_stoc",
    "compression_algorithms_ctos",
    "compression_algorithms_stoc",
    "languages_ctos",
    "languages_stoc",
)
_KEXINIT = 20
_PEM = re.compile(r"(-----BEGIN [A-Z0-9 ]+-----)(.*?)(-----END [A-Z0-9 ]+-----)", re.DOTALL)


def _pem_lines(text: str) -> str:
    """Key text whose line breaks were flattened to spaces (as some vaults do) made whole."""
    found = _PEM.search(text)
    if found is None:
        return text
    head, body, tail = found.groups()
    if "\n" in body.strip():
        return text
    return "\n".join([head, *body.split(), tail]) + "\n"


def _unavailable(host: str, port: int, exc: BaseException) -> StoreroomError:
    """A failure to reach or talk to ``host:port``, as a retryable typed error."""
    return BackendUnavailable(
        f"could not read the SSH handshake of {host}:{port} ({type(exc).__name__}: {exc})",
        backend="sftp",
        retryable=True,
        hint="check the host and port, and that an SSH server answers there",
    )


def _exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        piece = sock.recv(n - len(out))
        if not piece:
            raise OSError(f"the server closed the connection ({len(out)} of {n} bytes read)")
        out += piece
    return bytes(out)


def _banner(sock: socket.socket) -> str:
    """The server's ``SSH-`` identification line (lines before it are skipped, RFC 4253 4.2)."""
    for _ in range(32):
        line = bytearray()
        while not line.endswith(b"\n"):
            if len(line) > 8192:
                raise OSError("an over-long line before the SSH banner")
            piece = sock.recv(1)
            if not piece:
                raise OSError("the server closed the connection before its SSH banner")
            line += piece
        text = line.decode("ascii", "replace").rstrip("\r\n")
        if text.startswith("SSH-"):
            return text
    raise OSError("no SSH banner in the first 32 lines")


def _kexinit(payload: bytes) -> dict[str, list[str]]:
    if not payload or payload[0] != _KEXINIT:
        raise OSError(f"expected an SSH KEXINIT message, got message type {payload[:1]!r}")
    at = 17  # message type and 16-byte cookie
    out: dict[str, list[str]] = {}
    for name in KEXINIT_FIELDS:
        if at + 4 > len(payload):
            raise OSError(f"KEXINIT message cut short before {name}")
        (size,) = struct.unpack(">I", payload[at : at + 4])
        at += 4
        if at + size > len(payload):
            raise OSError(f"KEXINIT message cut short inside {name}")
        text = payload[at : at + size].decode("ascii", "replace")
        at += size
        out[name] = text.split(",") if text else []
    return out


class SFTPUtils:
    """Helpers for setting up SFTP access, as ``remote_store.backends.SFTPUtils`` has them."""

    HostKeyPolicy = HostKeyPolicy

    @staticmethod
    def load_private_key(
        source: str, *, from_file: bool = False, passphrase: str | None = None
    ) -> Any:
        """A paramiko ``PKey`` from key text (or, with ``from_file``, a key file) for ``pkey=``.

        Ed25519, ECDSA and RSA keys load; text whose line breaks became spaces is repaired.
        """
        import paramiko

        from storeroom.backends.sftp._conn import _load_pkey

        text = source
        if from_file:
            path = Path(source).expanduser()
            try:
                text = path.read_text(encoding="ascii")
            except FileNotFoundError:
                raise NotFound(f"no private key file at {str(path)!r}", path=str(path)) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(
                    f"cannot read the private key file {str(path)!r} ({type(exc).__name__})",
                    key="pkey",
                ) from None
        try:
            return _load_pkey(_pem_lines(text), passphrase)
        except paramiko.PasswordRequiredException:
            raise ConfigError(
                "the private key is encrypted", key="pkey", hint="pass passphrase=..."
            ) from None
        except (paramiko.SSHException, ValueError):
            # Not chained: the parser's message may quote the key.
            raise ConfigError(
                "not a usable private key (Ed25519, ECDSA or RSA, PEM or OpenSSH format)",
                key="pkey",
                hint="check the key text, and the passphrase for an encrypted key",
            ) from None

    @staticmethod
    def scan_host_keys(host: str, port: int = 22, *, timeout: float = 10.0) -> str:
        """The server's host key as one known_hosts line, from a handshake without login.

        The label is ``[host]:port`` off port 22 (OpenSSH's form); only the key type
        paramiko negotiates is returned.
        """
        import paramiko

        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise _unavailable(host, port, exc) from exc
        try:
            transport = paramiko.Transport(sock)
        except Exception as exc:
            sock.close()
            raise _unavailable(host, port, exc) from exc
        try:
            transport.banner_timeout = timeout
            transport.start_client(timeout=timeout)
            key = transport.get_remote_server_key()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise _unavailable(host, port, exc) from exc
        finally:
            transport.close()
        label = host if port == 22 else f"[{host}]:{port}"
        return f"{label} {key.get_name()} {key.get_base64()}"

    @staticmethod
    def scan_host_algorithms(
        host: str, port: int = 22, *, timeout: float = 10.0
    ) -> dict[str, list[str] | str]:
        """The server's banner and the ten algorithm lists of its KEXINIT, without paramiko.

        For telling which list (host key, kex, cipher, MAC) a failed negotiation
        was about; reflects what the server offers, not this process's settings.
        """
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise _unavailable(host, port, exc) from exc
        try:
            sock.settimeout(timeout)
            banner = _banner(sock)
            sock.sendall(b"SSH-2.0-storeroom-probe\r\n")
            length, padding = struct.unpack(">IB", _exact(sock, 5))
            if not 1 + padding < length <= 35000:
                raise OSError(f"implausible SSH packet length {length}")
            payload = _exact(sock, length - 1 - padding)
            result: dict[str, list[str] | str] = {"banner": banner}
            result.update(_kexinit(payload))
            return result
        except OSError as exc:
            raise _unavailable(host, port, exc) from exc
        finally:
            sock.close()

    @staticmethod
    def enable_ssh_rsa_compat() -> None:
        """Let paramiko accept ``ssh-rsa`` (SHA-1) host keys and signatures again, process-wide.

        For old servers offering only ``ssh-rsa``; appended last, so servers with
        newer algorithms still get those. Idempotent; call once at start-up.
        """
        import paramiko
        from cryptography.hazmat.primitives import hashes
        from paramiko.rsakey import RSAKey

        transport: Any = paramiko.Transport
        if "ssh-rsa" not in transport._preferred_keys:
            transport._preferred_keys = (*transport._preferred_keys, "ssh-rsa")
        if "ssh-rsa" not in transport._key_info:
            transport._key_info["ssh-rsa"] = RSAKey
        hashes_by_name: Any = RSAKey.HASHES
        if "ssh-rsa" not in hashes_by_name:
            hashes_by_name["ssh-rsa"] = hashes.SHA1
        if "ssh-rsa" not in transport._preferred_pubkeys:
            transport._preferred_pubkeys = (*transport._preferred_pubkeys, "ssh-rsa")
