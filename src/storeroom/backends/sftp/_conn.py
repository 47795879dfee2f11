"""Connections of the ``sftp`` backend: connect, check the host key, pool, reconnect.

One pooled ``Conn`` is one SSH connection with one SFTP channel. A thread
takes a connection for one operation (or for the life of a read stream) and
gives it back; paramiko's SFTP client is not safe for concurrent requests
from several threads, so a connection is never shared while in use. Idle
connections are kept up to ``pool_size``; a dead one (dropped by the server,
a network failure) is discarded and replaced on the next use.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY, CMD_VERSION, SFTPError

from storeroom.backends.sftp.config import SFTPOptions
from storeroom.backends.sftp.errors import (
    FX_EOF,
    HostKeyRejected,
    SFTPStatusError,
    is_connection_error,
)
from storeroom.config.secret import Secret, reveal

__all__ = ["Client", "Conn", "Pool"]

T = TypeVar("T")
_log = logging.getLogger("storeroom.backends.sftp")
#: Largest read request we send; OpenSSH accepts up to ~256 KiB.
MAX_REQUEST = 255 * 1024
#: Largest write request: measured faster than 256 KiB with paramiko (less
#: re-slicing of each request into 32 KiB SSH packets).
MAX_WRITE = 64 * 1024
#: What every SFTP server must accept (draft-ietf-secsh-filexfer).
SAFE_REQUEST = 32768


class Client(paramiko.SFTPClient):
    """paramiko's SFTP client, keeping status codes and the server's extensions."""

    extensions: dict[str, str]

    def _send_version(self) -> int:
        msg = paramiko.Message()
        msg.add_int(3)
        self._send_packet(paramiko.sftp.CMD_INIT, msg)  # type: ignore[attr-defined]
        t, data = self._read_packet()  # type: ignore[attr-defined]
        if t != CMD_VERSION:
            raise SFTPError("Incompatible sftp protocol")
        version: int = struct.unpack(">I", data[:4])[0]
        rest = paramiko.Message(data[4:])
        self.extensions = {}
        with contextlib.suppress(Exception):
            while rest.get_remainder():
                name = rest.get_text()
                self.extensions[name] = rest.get_text()
        return version

    # Typed doors to paramiko's request machinery (private, absent from its stubs).

    def request(self, t: int, *args: Any) -> tuple[int, paramiko.Message]:
        """Send one request and wait for its reply (a status error raises)."""
        reply: tuple[int, paramiko.Message] = self._request(t, *args)  # type: ignore[attr-defined]
        return reply

    def send_async(self, fileobj: Any, t: int, *args: Any) -> int:
        """Send without waiting; the reply goes to ``fileobj._async_response``."""
        num: int = self._async_request(fileobj, t, *args)  # type: ignore[attr-defined]
        return num

    def read_one(self) -> None:
        """Read one reply and hand it to whoever waits for it."""
        self._read_response()  # type: ignore[attr-defined]

    def _convert_status(self, msg: paramiko.Message) -> None:
        code = msg.get_int()
        text = msg.get_text()
        if code == 0:
            return
        if code == FX_EOF:
            raise EOFError(text)
        raise SFTPStatusError(code, text)


class _Strict(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        raise HostKeyRejected(f"host key for {hostname} is not trusted")


class _Warn(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        _log.warning(
            "sftp: unknown host key %s %s for %s accepted (host_key_policy = 'warn')",
            key.get_name(),
            key.fingerprint if hasattr(key, "fingerprint") else "",
            hostname,
        )


class _Learn(paramiko.MissingHostKeyPolicy):
    """Trust on first use: remember the key for every later connection of this backend."""

    def __init__(self, learned: paramiko.HostKeys) -> None:
        self.learned = learned

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        self.learned.add(hostname, key.get_name(), key)


def _load_pkey(text: str, passphrase: str | None) -> paramiko.PKey:
    import io

    last: Exception | None = None
    key_types: list[Any] = [paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey]
    for cls in key_types:
        try:
            key: paramiko.PKey = cls.from_private_key(io.StringIO(text), password=passphrase)
            return key
        except paramiko.PasswordRequiredException:
            raise
        except (paramiko.SSHException, ValueError) as exc:
            last = exc
    raise paramiko.AuthenticationException("the pkey option holds no usable private key") from last


def _add_host_keys(keys: paramiko.HostKeys, text: str) -> None:
    """Add the entries of known_hosts-format ``text`` (bad lines are skipped, as in a file)."""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        except paramiko.SSHException:
            continue
        if entry is not None:
            for name in entry.hostnames:
                keys.add(name, entry.key.get_name(), entry.key)


class Conn:
    """One SSH connection with its SFTP channel and the server's request limits."""

    __slots__ = ("client", "hardlink", "read_size", "sftp", "write_size")

    def __init__(self, client: paramiko.SSHClient, sftp: Client) -> None:
        self.client = client
        self.sftp = sftp
        self.hardlink = sftp.extensions.get("hardlink@openssh.com") == "1"
        self.read_size = self.write_size = SAFE_REQUEST
        if "limits@openssh.com" in sftp.extensions:
            try:
                t, msg = sftp.request(CMD_EXTENDED, "limits@openssh.com")
                if t == CMD_EXTENDED_REPLY and msg is not None:
                    msg.get_int64()  # max packet length
                    self.read_size = min(MAX_REQUEST, msg.get_int64()) or SAFE_REQUEST
                    self.write_size = min(MAX_WRITE, msg.get_int64()) or SAFE_REQUEST
            except (SFTPStatusError, SFTPError):
                pass

    def alive(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sftp.close()
        with contextlib.suppress(Exception):
            self.client.close()


class Pool:
    """Thread-safe pool of ``Conn``; builds connections lazily, drops dead ones."""

    def __init__(self, opts: SFTPOptions) -> None:
        self.opts = opts
        self._idle: list[Conn] = []
        self._lock = threading.Lock()
        self._learned = paramiko.HostKeys()
        self._pid = os.getpid()

    # -- connecting -------------------------------------------------------------

    def connect(self) -> Conn:
        """A new connection: TCP (with TCP_NODELAY), host key check, login, SFTP channel."""
        o = self.opts
        sock = socket.create_connection((o.host, o.port), timeout=o.timeout)
        client = paramiko.SSHClient()
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._trust(client)
            creds = o.password is not None or o.pkey is not None or o.key_filename is not None
            passphrase = reveal(o.passphrase)
            pkey = o.pkey
            if isinstance(pkey, Secret):
                pkey = _load_pkey(pkey.reveal(), passphrase)
            kwargs: dict[str, Any] = {
                "timeout": o.timeout,
                "banner_timeout": o.timeout,
                "auth_timeout": o.timeout,
                "channel_timeout": o.timeout,
                "allow_agent": not creds,
                "look_for_keys": not creds,
                **o.connect_kwargs,
            }
            client.connect(
                o.host,
                port=o.port,
                username=o.username,
                password=reveal(o.password),
                pkey=pkey,
                key_filename=str(Path(o.key_filename).expanduser()) if o.key_filename else None,
                passphrase=passphrase,
                sock=sock,
                **kwargs,
            )
        except BaseException:
            client.close()  # stops paramiko's transport thread before the socket goes
            sock.close()
            raise
        try:
            transport = client.get_transport()
            assert transport is not None
            if o.keepalive:
                transport.set_keepalive(max(1, int(o.keepalive)))
            channel = transport.open_session(
                window_size=o.window_size, max_packet_size=MAX_REQUEST + 1024, timeout=o.timeout
            )
            if channel is None:
                raise paramiko.SSHException("the server refused the SFTP channel")
            # Armed before the SFTP version exchange, so a server that falls
            # silent right after the SSH handshake is bounded there too.
            channel.settimeout(o.channel_timeout)
            channel.invoke_subsystem("sftp")
            return Conn(client, Client(channel))
        except BaseException:
            client.close()
            raise

    def _trust(self, client: paramiko.SSHClient) -> None:
        o = self.opts
        keys = client.get_host_keys()
        if o.known_host_keys is not None:
            _add_host_keys(keys, o.known_host_keys)  # the text replaces the file
        else:
            path = Path(o.known_hosts or "~/.ssh/known_hosts").expanduser()
            if o.known_hosts is not None or path.exists():
                keys.load(str(path))  # a configured file that is missing is an error
        for name in self._learned:
            for kind, key in self._learned[name].items():
                keys.add(name, kind, key)
        policy: paramiko.MissingHostKeyPolicy
        if o.host_key_policy == "auto_add":
            policy = _Learn(self._learned)
        elif o.host_key_policy == "warn":
            policy = _Warn()
        else:
            policy = _Strict()
        client.set_missing_host_key_policy(policy)

    # -- pooling ----------------------------------------------------------------

    def acquire(self) -> tuple[Conn, bool]:
        """A live connection and whether it was reused (True) or just made."""
        self._after_fork()
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self.connect(), False
            if conn.alive():
                return conn, True
            conn.close()

    def release(self, conn: Conn, *, broken: bool = False) -> None:
        """Give ``conn`` back; a broken or surplus one is closed instead."""
        if not broken and conn.alive() and os.getpid() == self._pid:
            with self._lock:
                if len(self._idle) < self.opts.pool_size:
                    self._idle.append(conn)
                    return
        conn.close()

    def start(self, fn: Callable[[Conn], T]) -> tuple[Conn, T]:
        """Run ``fn`` on a pooled connection and keep it (the caller releases it).

        When a reused connection turns out to be dead (the server dropped it
        while idle), ``fn`` runs once more on a fresh connection: this is the
        transparent reconnect, not a retry policy, and ``fn`` must be safe to
        start over (every caller's first request is idempotent or creates a
        fresh temporary name).
        """
        conn, reused = self.acquire()
        try:
            return conn, fn(conn)
        except BaseException as exc:
            broken = is_connection_error(exc) or not conn.alive()
            self.release(conn, broken=broken)
            if not (broken and reused):
                raise
        conn = self.connect()
        try:
            return conn, fn(conn)
        except BaseException as exc:
            self.release(conn, broken=is_connection_error(exc))
            raise

    def run(self, fn: Callable[[Conn], T]) -> T:
        """``start`` then give the connection back."""
        conn, result = self.start(fn)
        self.release(conn)
        return result

    @contextlib.contextmanager
    def hold(self) -> Iterator[Conn]:
        """A connection for a block; discarded if the block fails on the connection."""
        conn, _ = self.acquire()
        try:
            yield conn
        except BaseException as exc:
            self.release(conn, broken=is_connection_error(exc))
            raise
        self.release(conn)

    def _after_fork(self) -> None:
        # A forked child must not use the parent's sockets: forget them unclosed.
        if os.getpid() != self._pid:
            with self._lock:
                self._idle = []
                self._lock = threading.Lock()
                self._pid = os.getpid()

    def close(self) -> None:
        """Close every idle connection; the pool reconnects lazily when used again."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
