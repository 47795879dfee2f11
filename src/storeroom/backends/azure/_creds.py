"""Refreshing credentials of the ``azure`` backend: token and SAS providers.

A plain callable given as ``credential`` returns bearer tokens (``Token``): it is
wrapped as an azure-core token credential, and the SDK's own
``BearerTokenCredentialPolicy`` asks it again at ``refresh_on`` (the source's
margin before expiry). ``sas_token_provider`` returns SAS tokens (``Token``): the
SDK's ``AzureSasCredentialPolicy`` reads ``signature`` on every request, which
here answers from the shared source (renewed before expiry). One source per
backend options object, shared by its blob and data-lake clients.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from typing import Any

from storeroom.backends.azure.config import AzureOptions, is_sdk_credential
from storeroom.credentials import CredentialSource, Token

__all__ = ["TokenProviderCredential", "refreshing_credential"]

_SHARED: dict[int, Any] = {}
_LOCK = threading.Lock()
#: ``expires_on`` handed to the SDK for a token without expiry (year 9999).
_FOREVER = int(dt.datetime(9999, 1, 1, tzinfo=dt.UTC).timestamp())


class TokenProviderCredential:
    """An azure-core token credential over a bearer ``Token`` provider (scopes ignored)."""

    def __init__(self, source: CredentialSource[Token]) -> None:
        self._source = source

    def __repr__(self) -> str:
        return f"TokenProviderCredential({self._source!r})"

    def _times(self, token: Token) -> tuple[int, int | None]:
        if token.expires_at is None:
            return _FOREVER, None
        # Like botocore's advisory and mandatory refresh: the SDK renews from
        # ``refresh_on`` (margin before expiry, plus its jitter) and must by
        # ``expires_on``, which is told half a margin early so no request
        # carries a token in its last seconds.
        end, margin = token.expires_at.timestamp(), self._source.margin()
        now = int(time.time())
        return max(now + 1, int(end - margin / 2)), max(now, int(end - margin))

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        token = self._source.current()
        return AccessToken(token.value.reveal(), self._times(token)[0])

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        token = self._source.current()
        expires, refresh_on = self._times(token)
        return AccessTokenInfo(token.value.reveal(), expires, refresh_on=refresh_on)

    def close(self) -> None:
        """Nothing to release (the SDK may close credentials it was given)."""

    def __enter__(self) -> TokenProviderCredential:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


def _sas_credential(source: CredentialSource[Token]) -> Any:
    from azure.core.credentials import AzureSasCredential

    class RefreshingSasCredential(AzureSasCredential):
        """``AzureSasCredential`` whose signature comes fresh from the source on each read."""

        def __init__(self) -> None:
            super().__init__("pending")  # replaced on every read of ``signature``

        def __repr__(self) -> str:
            return f"RefreshingSasCredential({source!r})"

        @property
        def signature(self) -> str:
            return source.current().value.reveal().lstrip("?")

    return RefreshingSasCredential()


def refreshing_credential(o: AzureOptions) -> Any:
    """The shared refreshing credential of ``o`` (token or SAS provider), else ``None``."""
    if o.sas_token_provider is not None:
        provider, make, what = o.sas_token_provider, _sas_credential, "sas_token_provider"
    elif o.credential is not None and not is_sdk_credential(o.credential):
        provider, make, what = o.credential, TokenProviderCredential, "credential"
    else:
        return None
    key = id(o)
    with _LOCK:
        cred = _SHARED.get(key)
        if cred is None:
            source = CredentialSource(provider, Token, margin=o.refresh_margin, what=what)
            cred = _SHARED[key] = make(source)
            weakref.finalize(o, _SHARED.pop, key, None)
    return cred
