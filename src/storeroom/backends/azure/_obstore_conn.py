"""The obstore client of the ``azure`` backend: one ``obstore.store.AzureStore`` per process.

Built from the backend's options on first use (spec AZURE-081) and again after
``close()`` or in a new process. A forked child of a process that had imported
obstore never builds one (``_obstore_common.usable``): the backend serves it
through the SDK (AZURE-086). Credentials the SDK would take as objects (token
credentials, refreshing token or SAS providers, ``DefaultAzureCredential``)
reach obstore as its ``credential_provider`` callable.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from storeroom.backends.azure._creds import refreshing_credential
from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import BACKEND
from storeroom.config.secret import reveal
from storeroom.errors import ConfigError

__all__ = ["OBSTORE_PIP", "ObstoreClient", "store_kwargs"]

OBSTORE_PIP = 'pip install "storeroom[azure,obstore]"'
#: The scope of a bearer token for Azure Storage.
_SCOPE = "https://storage.azure.com/.default"
#: How long obstore keeps a SAS from a provider before asking again (the source caches).
_SAS_REASK = dt.timedelta(seconds=60)


def _fields(connection_string: str) -> dict[str, str]:
    parts = (p.partition("=") for p in connection_string.split(";") if "=" in p)
    return {name.strip().lower(): value.strip() for name, _, value in parts}


def _from_connection_string(text: str) -> dict[str, Any]:
    """``AzureStore`` keywords from a connection string (account, key or SAS, endpoint)."""
    f = _fields(text)
    if f.get("usedevelopmentstorage", "").lower() == "true":
        return {"use_emulator": True}
    out: dict[str, Any] = {}
    if "accountname" in f:
        out["account_name"] = f["accountname"]
    if "accountkey" in f:
        out["account_key"] = f["accountkey"]
    if "sharedaccesssignature" in f:
        out["sas_key"] = f["sharedaccesssignature"].lstrip("?")
    endpoint = f.get("blobendpoint")
    if not endpoint and "accountname" in f:
        proto = f.get("defaultendpointsprotocol", "https")
        suffix = f.get("endpointsuffix", "core.windows.net")
        endpoint = f"{proto}://{f['accountname']}.blob.{suffix}"
    if endpoint:
        out["endpoint"] = endpoint.rstrip("/")
    return out


def _from_url(opts: AzureOptions) -> dict[str, Any]:
    """``AzureStore`` keywords from ``account_url`` / ``account_name`` (a SAS query is the key)."""
    out: dict[str, Any] = {}
    url = opts.blob_url()
    if url:
        parts = urlsplit(url)
        if parts.query and "sig=" in parts.query:
            out["sas_key"] = parts.query
        out["endpoint"] = urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")
        host = parts.hostname or ""
        name = opts.account_name or (host.split(".")[0] if ".blob." in host else None)
        if not name and parts.path.strip("/"):  # path style (emulators): /<account>
            name = parts.path.strip("/").split("/")[0]
        if name:
            out["account_name"] = name
    if opts.account_key is not None:
        out["account_key"] = reveal(opts.account_key)
    if opts.sas_token is not None:
        out["sas_key"] = str(reveal(opts.sas_token)).lstrip("?")
    return out


def store_kwargs(opts: AzureOptions) -> dict[str, Any]:
    """Keyword arguments of ``AzureStore`` from the options (secrets revealed: never log them)."""
    if opts.connection_string is not None:
        kwargs = _from_connection_string(str(reveal(opts.connection_string)))
    else:
        kwargs = _from_url(opts)
    client: dict[str, Any] = {
        "connect_timeout": dt.timedelta(seconds=opts.connect_timeout),
        "read_timeout": dt.timedelta(seconds=opts.read_timeout),
    }
    if urlsplit(kwargs.get("endpoint", "")).scheme == "http" or kwargs.get("use_emulator"):
        client["allow_http"] = True
    kwargs["client_options"] = client
    # The retry layer owns retrying: one attempt per request (spec AZURE-005).
    kwargs["retry_config"] = {"max_retries": 0, "retry_timeout": dt.timedelta(seconds=0)}
    if "account_name" not in kwargs and not kwargs.get("use_emulator"):
        raise ConfigError(
            "engine: the obstore engine needs the account name; give account_name, "
            "or an account_url on <account>.blob.<suffix>",
            key="account_name",
            backend=BACKEND,
        )
    return kwargs


def _token_provider(cred: Any) -> Callable[[], dict[str, Any]]:
    """obstore's provider over an azure-core token credential (bearer tokens)."""

    def provide() -> dict[str, Any]:
        token = cred.get_token(_SCOPE)
        expires = dt.datetime.fromtimestamp(token.expires_on, tz=dt.UTC)
        return {"token": token.token, "expires_at": expires}

    return provide


def _sas_provider(cred: Any) -> Callable[[], dict[str, Any]]:
    """obstore's provider over a (refreshing) SAS credential; asked again every minute."""

    def provide() -> dict[str, Any]:
        until = dt.datetime.now(dt.UTC) + _SAS_REASK
        return {"sas_token": str(cred.signature).lstrip("?"), "expires_at": until}

    return provide


def credential_provider(opts: AzureOptions) -> Callable[[], dict[str, Any]] | None:
    """The ``credential_provider`` for credentials given as objects or providers, else None."""
    cred = refreshing_credential(opts)
    if cred is None and opts.credential is not None:
        cred = opts.credential
    if cred is None:
        if opts.connection_string or opts.account_key or opts.sas_token:
            return None
        if "sig=" in urlsplit(opts.account_url or "").query:
            return None
        try:
            from azure.identity import DefaultAzureCredential
        except ImportError:
            return None  # anonymous (public containers): obstore skips the signature
        cred = DefaultAzureCredential()
    named = getattr(cred, "named_key", None)
    if named is not None:  # AzureNamedKeyCredential: a static key, read now
        key = named.key

        def provide_key() -> dict[str, Any]:
            return {"access_key": key, "expires_at": None}

        return provide_key
    if hasattr(cred, "get_token"):
        return _token_provider(cred)
    return _sas_provider(cred)


class ObstoreClient:
    """A per-process ``obstore.store.AzureStore`` over one backend's options."""

    __slots__ = ("_lock", "_pid", "_store", "opts", "prepare")

    def __init__(self, opts: AzureOptions, prepare: Callable[[], None]) -> None:
        self.opts = opts
        #: Run before the first store of a process is built (creates the container).
        self.prepare = prepare
        self._lock = threading.Lock()
        self._store: Any = None
        self._pid = os.getpid()
        store_kwargs(opts)  # refuse bad options at construction, before any I/O

    def store(self) -> Any:
        """The store of this process: built on first use, again after a fork or ``close``."""
        pid = os.getpid()
        store = self._store
        if store is not None and self._pid == pid:
            return store
        with self._lock:
            if self._store is None or self._pid != pid:
                self.prepare()
                self._store = self._build()
                self._pid = pid
            return self._store

    def _build(self) -> Any:
        from obstore.store import AzureStore

        kwargs = store_kwargs(self.opts)
        provider = credential_provider(self.opts)
        if provider is not None:
            kwargs["credential_provider"] = provider
            if named := getattr(self.opts.credential, "named_key", None):
                kwargs.setdefault("account_name", named.name)
        elif not any(k in kwargs for k in ("account_key", "sas_key", "use_emulator")):
            kwargs["skip_signature"] = True
        return AzureStore(self.opts.container, **kwargs)

    def has_account_key(self) -> bool:
        """Whether the store signs with an account key (obstore signs URLs with nothing else)."""
        kwargs = store_kwargs(self.opts)
        return "account_key" in kwargs or bool(kwargs.get("use_emulator"))

    def close(self) -> None:
        """Drop the store; the next call builds a new one."""
        with self._lock:
            self._store = None
