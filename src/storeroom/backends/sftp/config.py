"""Options of the ``sftp`` backend (no paramiko import here)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any, Literal

from storeroom.config.frozen import FrozenDict
from storeroom.config.options import BackendOptions
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["SFTPOptions"]

#: ``SSHClient.connect`` keywords the backend sets from its own options.
_OWN_CONNECT_KWARGS = frozenset(
    {"hostname", "port", "username", "password", "pkey", "key_filename", "passphrase", "sock"}
)

HostKeyPolicy = Literal["strict", "auto_add", "warn"]
POLICIES: tuple[str, ...] = ("strict", "auto_add", "warn")
#: remote-store's spellings of ``host_key_policy`` and the value each means here.
REMOTE_POLICIES = {"tofu": "auto_add", "trust_on_first_use": "auto_add", "auto": "warn"}


def policy_value(value: object) -> str | None:
    """The option value a ``host_key_policy`` spelling means (any case); None if unknown."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return lowered if lowered in POLICIES else REMOTE_POLICIES.get(lowered)


@dataclasses.dataclass(frozen=True)
class SFTPOptions(BackendOptions):
    """Options of the ``sftp`` backend.

    ``host`` (required), ``port``, ``username`` (default: the local user).
    Credentials: ``password``, ``pkey`` (private key *text*), ``key_filename``
    (path of a private key file), ``passphrase`` (for an encrypted key). With
    none of them, the SSH agent and the default ``~/.ssh/id_*`` keys are tried.
    ``base_path``: folder on the server holding everything (relative to the
    login folder unless absolute). ``host_key_policy``: ``strict`` (default;
    unknown hosts are refused), ``auto_add`` (trust on first use, in memory),
    ``warn`` (log a warning and connect). ``known_hosts``: file of trusted host
    keys (default ``~/.ssh/known_hosts``). ``timeout``: seconds for connecting,
    authenticating and each request. ``retry``: retry options; the
    Registry wraps the backend in that retry layer. ``pool_size``: idle
    connections kept for reuse. ``keepalive``: seconds between SSH keepalives
    on idle connections (0 turns them off). ``window_size``: SSH channel window
    in bytes (larger helps on high-latency links).
    """

    host: str
    port: int = 22
    username: str | None = None
    password: Secret | None = None
    pkey: Secret | Any = dataclasses.field(default=None, metadata={"secret": True})
    key_filename: str | None = None
    passphrase: Secret | None = None
    base_path: str = ""
    host_key_policy: str = "strict"
    known_hosts: str | None = None
    known_host_keys: str | None = None
    config: Mapping[str, Any] | None = None
    timeout: float = 10.0
    io_timeout: float | None = None
    connect_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    retry: Mapping[str, Any] | RetryOptions | None = None
    pool_size: int = 4
    keepalive: float = 30.0
    window_size: int = 16 * 1024 * 1024

    aliases = {
        "hostname": "host",
        "user": "username",
        "root": "base_path",
        "host_keys_path": "known_hosts",
    }

    def __post_init__(self) -> None:
        policy = policy_value(self.host_key_policy)
        if policy is None:
            raise ConfigError(
                f"host_key_policy: expected one of {', '.join(map(repr, POLICIES))} "
                f"(or remote-store's 'tofu', 'auto'), got {self.host_key_policy!r}",
                key="host_key_policy",
            )
        object.__setattr__(self, "host_key_policy", policy)  # a plain str, enum members too
        self._check_pkey()
        self._merge_config()
        if self.io_timeout is not None and not self.io_timeout > 0:
            raise ConfigError(
                f"io_timeout: must be positive seconds, got {self.io_timeout}", key="io_timeout"
            )
        taken = sorted(set(self.connect_kwargs) & _OWN_CONNECT_KWARGS)
        if taken:
            raise ConfigError(
                f"connect_kwargs.{taken[0]}: set by the backend from its own options",
                key=f"connect_kwargs.{taken[0]}",
                hint="use the backend option of that meaning (host, port, username, ...)",
            )
        if not self.host or not self.host.strip():
            raise ConfigError("host: must name a server, got an empty string", key="host")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: must be 1..65535, got {self.port}", key="port")
        if self.timeout <= 0:
            raise ConfigError(f"timeout: must be positive, got {self.timeout}", key="timeout")
        if self.pool_size < 1:
            raise ConfigError(
                f"pool_size: must be at least 1, got {self.pool_size}", key="pool_size"
            )
        if self.keepalive < 0:
            raise ConfigError("keepalive: must be 0 (off) or positive seconds", key="keepalive")
        if self.window_size < 32768:
            raise ConfigError("window_size: must be at least 32768 bytes", key="window_size")
        if "\x00" in self.base_path or ".." in self.base_path.split("/"):
            raise ConfigError("base_path: must not contain NUL or '..' segments", key="base_path")
        if self.pkey is not None and self.key_filename is not None:
            raise ConfigError(
                "pkey and key_filename: give one of them, not both", key="key_filename"
            )
        if self.retry is not None:
            RetryOptions.coerce(self.retry, where="retry")  # the Registry builds the layer

    def _check_pkey(self) -> None:
        """``pkey`` is key text (a Secret) or a paramiko ``PKey`` object given in code."""
        key = self.pkey
        if key is None or isinstance(key, Secret):
            return
        if isinstance(key, str):
            object.__setattr__(self, "pkey", Secret(key))
            return
        paramiko = sys.modules.get("paramiko")
        if paramiko is None or not isinstance(key, paramiko.PKey):
            raise ConfigError(
                f"pkey: expected private key text or a paramiko PKey object, "
                f"got {type(key).__name__}",
                key="pkey",
            )

    def _merge_config(self) -> None:
        """remote-store's ``config`` table: its ``known_host_keys`` is that option."""
        if self.config is None:
            return
        extra = sorted(set(self.config) - {"known_host_keys"})
        if extra:
            raise ConfigError(
                f"config.{extra[0]}: unknown key (config holds only known_host_keys)",
                key=f"config.{extra[0]}",
            )
        keys = self.config.get("known_host_keys")
        if keys is None:
            return
        if not isinstance(keys, str):
            raise ConfigError("config.known_host_keys: expected a string", key="config")
        if self.known_host_keys is not None and self.known_host_keys != keys:
            raise ConfigError(
                "known_host_keys and config.known_host_keys are one option "
                "and were given different values",
                key="known_host_keys",
            )
        object.__setattr__(self, "known_host_keys", keys)

    @property
    def channel_timeout(self) -> float:
        """Seconds a request on an open connection may wait (``io_timeout`` or ``timeout``)."""
        return self.io_timeout if self.io_timeout is not None else self.timeout

    @classmethod
    def backend_type(cls) -> str:
        return "sftp"

    def root(self) -> str:
        """``base_path`` without repeated, trailing or ``.`` segments ("" = login folder)."""
        parts = [p for p in self.base_path.split("/") if p not in ("", ".")]
        lead = "/" if self.base_path.startswith("/") else ""
        return lead + "/".join(parts)
