"""The obstore client of the ``s3`` backend: one ``obstore.store.S3Store`` per process.

Built from the backend's options on first use (spec S3-081) and again after
``close()``. obstore's Rust (tokio) runtime is global and not fork-safe: in a
child forked after obstore was imported, any obstore call hangs, even on a new
store (measured with obstore 0.12.1). ``usable()`` tells that case, and the
backend then serves every call through its botocore lanes (spec S3-086).
Refreshing credentials reach obstore as its ``credential_provider`` callable,
fed by the backend's one ``CredentialSource`` (S3-082).
"""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from storeroom.backends._obstore_common import usable
from storeroom.backends.s3._creds import profile_keys, refreshing
from storeroom.backends.s3.config import S3Options
from storeroom.backends.s3.errors import BACKEND
from storeroom.config.secret import reveal
from storeroom.errors import ConfigError

if TYPE_CHECKING:
    from storeroom.credentials import Credentials, CredentialSource

__all__ = ["OBSTORE_PIP", "ObstoreClient", "store_kwargs", "usable"]

OBSTORE_PIP = 'pip install "storeroom[s3,obstore]"'


def store_kwargs(opts: S3Options) -> dict[str, Any]:
    """Keyword arguments of ``S3Store`` from the options (secrets revealed: never log them).

    Refuses, before any I/O, what obstore cannot take (``tls_ca_bundle``).
    """
    if opts.tls_ca_bundle:
        raise ConfigError(
            "tls_ca_bundle: the obstore engine uses the system's certificate store; "
            "install the CA there or use engine = 's3fs'",
            key="tls_ca_bundle",
            backend=BACKEND,
        )
    client: dict[str, Any] = {"connect_timeout": timedelta(seconds=opts.connect_timeout)}
    if opts.request_timeout is not None:
        client["timeout"] = timedelta(seconds=opts.request_timeout)
    kwargs: dict[str, Any] = {
        "client_options": client,
        # The retry layer owns retrying: one attempt per request (spec S3-024).
        "retry_config": {"max_retries": 0, "retry_timeout": timedelta(seconds=0)},
        "copy_if_not_exists": "multipart",
        "conditional_put": "etag",
    }
    if opts.endpoint_url:
        kwargs["endpoint"] = opts.endpoint_url
        if urlsplit(opts.endpoint_url).scheme == "http":
            client["allow_http"] = True
    if opts.region_name:
        kwargs["region"] = opts.region_name
    if opts.anon:
        kwargs["skip_signature"] = True
    elif opts.key is not None:
        kwargs["access_key_id"] = reveal(opts.key)
        kwargs["secret_access_key"] = reveal(opts.secret)
        if opts.token is not None:
            kwargs["session_token"] = reveal(opts.token)
    elif opts.profile and not refreshing(opts):
        kwargs.update(profile_keys(opts.profile, "access_key_id", "secret_access_key"))
    return kwargs


def _provider(source: CredentialSource[Credentials]) -> Any:
    """obstore's ``credential_provider``: the source's current credentials, as a dict."""

    def provide() -> dict[str, Any]:
        creds = source.current()
        token = creds.session_token
        return {
            "access_key_id": creds.access_key_id,
            "secret_access_key": reveal(creds.secret_access_key),
            "token": reveal(token) if token is not None else None,
            "expires_at": creds.expires_at,
        }

    return provide


class ObstoreClient:
    """A per-process ``obstore.store.S3Store`` over one backend's options."""

    __slots__ = ("_lock", "_pid", "_source", "_store", "opts")

    def __init__(self, opts: S3Options, source: CredentialSource[Credentials] | None) -> None:
        self.opts = opts
        self._source = source
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
                # A child never touches the parent's store (its runtime did not fork).
                self._store = self._build()
                self._pid = pid
            return self._store

    def _build(self) -> Any:
        from obstore.store import S3Store

        kwargs = store_kwargs(self.opts)
        if self._source is not None:
            kwargs["credential_provider"] = _provider(self._source)
        return S3Store(self.opts.bucket, **kwargs)

    def close(self) -> None:
        """Drop the store; the next call builds a new one."""
        with self._lock:
            self._store = None
