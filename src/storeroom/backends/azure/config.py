"""Options of the ``azure`` backend (names as in API.md §2)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from storeroom._mask import protect_url
from storeroom.config.frozen import FrozenDict
from storeroom.config.options import BackendOptions, code_object
from storeroom.config.secret import Secret, reveal
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["AzureOptions"]

MiB = 1024 * 1024
#: Engines of the ``azure`` backend: ``sdk`` (azure-storage-blob) and ``obstore``.
ENGINES = ("sdk", "obstore")


@dataclasses.dataclass(frozen=True)
class AzureOptions(BackendOptions):
    r"""Options of the ``azure`` backend.

    ``container``: the blob container (an ADLS Gen2 file system on
    hierarchical-namespace accounts). Credentials: either
    ``connection_string``, or ``account_url`` (or ``account_name``, which gives
    ``https://<name>.blob.core.windows.net``) with ``account_key`` or
    ``sas_token``; with neither, ``azure-identity``'s
    ``DefaultAzureCredential`` is used when installed. ``hns``: ``True`` for
    a hierarchical-namespace account, ``False`` for flat; ``None`` asks the
    account once on first use. ``retry``: retry options; the Registry
    wraps the backend in that retry layer (the SDK's own retries are off).
    ``connect_timeout``/``read_timeout`` (seconds) bound every request.
    ``block_size``: size of the staged blocks of a streamed write and of the
    ranged reads of a streamed download. ``create_container``: create the
    container on first use when it is missing. ``credential``: an SDK
    credential object such as ``DefaultAzureCredential()`` (from code only).
    ``client_options``: extra keywords for the SDK service clients.
    ``max_concurrency``: parallel connections of one upload or download.
    ``reject_write_under_file_ancestor``: on flat accounts, refuse writing
    ``a/b`` while ``a`` is a file (one request per parent; HNS refuses natively).
    Refreshing credentials (spec CRED-040..): ``credential`` may also be a
    callable returning bearer tokens (``storeroom.credentials.Token``), and
    ``sas_token_provider`` a callable returning SAS tokens (``Token``); both renew
    ``refresh_margin`` seconds before expiry (default as for S3).
    ``engine``: what serves the requests of a flat-namespace account, ``"sdk"``
    (azure-storage-blob, the default) or ``"obstore"`` (Rust object_store; extra
    ``obstore``; spec AZURE-080..).
    """

    container: str
    account_name: str | None = None
    account_url: str | None = None
    account_key: Secret | None = None
    sas_token: Secret | None = None
    connection_string: Secret | None = None
    hns: bool | None = None
    retry: Mapping[str, Any] | RetryOptions | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    block_size: int = 4 * MiB
    create_container: bool = False
    credential: Any = dataclasses.field(
        default=None,
        metadata=code_object(
            "an Azure credential object or a callable returning storeroom.credentials.Token",
            "AzureBackend(container=..., account_url=..., credential=DefaultAzureCredential())",
            secret=True,
        ),
    )
    sas_token_provider: Any = dataclasses.field(
        default=None,
        metadata=code_object(
            "a callable returning storeroom.credentials.Token (a SAS token)",
            "AzureBackend(container=..., account_url=..., sas_token_provider=my_provider)",
        ),
    )
    refresh_margin: float | None = None
    client_options: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    max_concurrency: int = 1
    reject_write_under_file_ancestor: bool = False
    engine: str = "sdk"

    def __post_init__(self) -> None:
        # A SAS query or user information in account_url is a credential, and so
        # are the key and signature inside a connection string: the scrubber
        # learns them all (AZURE-002).
        if isinstance(self.account_url, str):
            protect_url(self.account_url)
        if self.connection_string is not None:
            for part in str(reveal(self.connection_string)).split(";"):
                name, _, value = part.partition("=")
                if name.strip().lower() in ("accountkey", "sharedaccesssignature"):
                    Secret(value)
                    protect_url("?" + value.lstrip("?"))
        name = self.container
        if not name or not name.strip() or "/" in name:
            raise ConfigError(
                "container: must be a container name without '/', e.g. 'data'", key="container"
            )
        if self.connection_string is None and not (self.account_url or self.account_name):
            raise ConfigError(
                "azure: give connection_string, or account_url / account_name",
                key="account_url",
            )
        if self.connection_string is not None and (self.account_key or self.sas_token):
            raise ConfigError(
                "azure: connection_string already holds the credential; "
                "do not also give account_key or sas_token",
                key="connection_string",
            )
        if self.credential is not None and (
            self.connection_string is not None or self.account_key or self.sas_token
        ):
            raise ConfigError(
                "credential: give one credential (credential, account_key, sas_token "
                "or connection_string)",
                key="credential",
            )
        _check_refreshing(self)
        if self.engine not in ENGINES:
            raise ConfigError(
                f"engine: expected one of {', '.join(map(repr, ENGINES))}, got {self.engine!r}",
                key="engine",
            )
        if self.max_concurrency < 1:
            raise ConfigError("max_concurrency: must be at least 1", key="max_concurrency")
        if self.account_key is not None and self.sas_token is not None:
            raise ConfigError("azure: give account_key or sas_token, not both", key="sas_token")
        if self.account_key is not None and not self.account_name and not self.account_url:
            raise ConfigError("account_key: needs account_name or account_url", key="account_key")
        for field in ("connect_timeout", "read_timeout"):
            if not getattr(self, field) > 0:
                raise ConfigError(f"{field}: expected a number of seconds > 0", key=field)
        if not 64 * 1024 <= self.block_size <= 4000 * MiB:
            raise ConfigError("block_size: expected 64 KiB to 4000 MiB", key="block_size")
        if self.retry is not None:
            RetryOptions.coerce(self.retry, where="retry")  # the Registry builds the layer

    @classmethod
    def backend_type(cls) -> str:
        return "azure"

    def blob_url(self) -> str | None:
        """Blob endpoint from ``account_url`` / ``account_name``; None for a connection string."""
        if self.account_url:
            return self.account_url.rstrip("/")
        if self.account_name:
            return f"https://{self.account_name}.blob.core.windows.net"
        return None


def is_sdk_credential(value: Any) -> bool:
    """True for azure-core credential objects (token, SAS, named key), which the SDK takes."""
    return any(hasattr(value, n) for n in ("get_token", "get_token_info", "signature", "named_key"))


def _check_refreshing(o: AzureOptions) -> None:
    """Validate ``sas_token_provider``, a callable ``credential`` and ``refresh_margin``."""
    p = o.sas_token_provider
    if p is not None:
        if not callable(p):
            raise ConfigError(
                "sas_token_provider: expected a callable returning storeroom.credentials."
                f"Token, got {type(p).__name__}",
                key="sas_token_provider",
            )
        if o.credential is not None or o.connection_string is not None or o.account_key:
            raise ConfigError(
                "sas_token_provider: give one credential (it replaces credential, "
                "account_key, sas_token and connection_string)",
                key="sas_token_provider",
            )
    if o.sas_token is not None and p is not None:
        raise ConfigError("sas_token: give sas_token or sas_token_provider", key="sas_token")
    c = o.credential
    sdk = c is not None and is_sdk_credential(c)
    if c is not None and not sdk and not callable(c):
        raise ConfigError(
            "credential: expected an Azure credential object or a callable returning "
            f"storeroom.credentials.Token, got {type(c).__name__}",
            key="credential",
        )
    if o.refresh_margin is not None:
        if p is None and (c is None or sdk):
            raise ConfigError(
                "refresh_margin: only applies with sas_token_provider or a callable credential",
                key="refresh_margin",
            )
        if not o.refresh_margin > 0:
            raise ConfigError("refresh_margin: expected seconds > 0", key="refresh_margin")
