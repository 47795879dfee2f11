"""Signed URLs of the ``azure`` backend: blob SAS (spec SIGN-060..065).

With an account key (``connection_string`` holding ``AccountKey``, or
``account_key``) the SAS is signed locally with that key. With a token
credential (``credential=...`` or ``DefaultAzureCredential``) it is a *user
delegation* SAS: signed with a user delegation key asked of the service
(``Get User Delegation Key``), kept and reused while it outlives the URL. A
SAS-token or anonymous backend has nothing to sign with: no SIGNED_URL.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import threading
from collections.abc import Callable
from typing import Any

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from storeroom.backends.azure.config import AzureOptions
from storeroom.backends.azure.errors import BACKEND, TABLE
from storeroom.capabilities import Capability
from storeroom.config.secret import reveal
from storeroom.errors import CapabilityNotSupported, ConfigError

__all__ = ["Signer", "can_sign"]

#: Clock skew allowed for: a delegation key starts this long before now.
_SKEW = dt.timedelta(minutes=5)
#: A new delegation key lives at least this long, so one key serves many URLs.
_KEY_LIFETIME = dt.timedelta(hours=1)
_KEY_MAX = dt.timedelta(days=7)  # the service's limit


def can_sign(o: AzureOptions) -> bool:
    """Whether the backend's credential can sign a SAS (an account key or a token credential)."""
    if o.connection_string is not None:
        parts = (
            p.partition("=")[0].strip().lower() for p in str(reveal(o.connection_string)).split(";")
        )
        return "accountkey" in parts
    if o.account_key is not None:
        return True
    if o.credential is not None:
        return hasattr(o.credential, "get_token") or hasattr(o.credential, "named_key")
    if o.sas_token is not None or "sig=" in (o.account_url or ""):
        return False
    return importlib.util.find_spec("azure.identity") is not None  # DefaultAzureCredential


def _permission(method: str) -> BlobSasPermissions:
    if method == "PUT":
        return BlobSasPermissions(create=True, write=True)
    return BlobSasPermissions(read=True)


class Signer:
    """Signs blob URLs for one backend; keeps its current user delegation key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None
        self._key_expiry: dt.datetime | None = None

    def url(
        self,
        service: Callable[[], BlobServiceClient],
        container: str,
        key: str,
        expires: int,
        method: str,
    ) -> str:
        """The blob URL of ``key`` with a SAS allowing ``method`` for ``expires`` seconds."""
        try:
            svc = service()
        except ValueError as exc:  # the SDK takes a token credential only over HTTPS
            raise ConfigError(
                f"azure: cannot build the client to sign with: {exc}",
                key="account_url",
                hint="use an https:// account_url with a token credential",
            ) from exc
        now = dt.datetime.now(dt.UTC)
        expiry = now + dt.timedelta(seconds=expires)
        cred = svc.credential
        signing: dict[str, Any]
        if getattr(cred, "account_key", None):
            signing = {"account_key": cred.account_key}
        elif hasattr(cred, "get_token"):
            signing = {"user_delegation_key": self._delegation_key(svc, key, now, expiry)}
        else:
            raise CapabilityNotSupported(
                "this azure backend's credential cannot sign URLs (a SAS token or anonymous)",
                capability=Capability.SIGNED_URL.value,
                backend=BACKEND,
                operation="signed_url",
                path=key,
                hint="sign with an account key, or a token credential (user delegation SAS)",
            )
        sas = generate_blob_sas(
            str(svc.account_name),
            container,
            key,
            permission=_permission(method),
            expiry=expiry,
            **signing,
        )
        return f"{svc.get_blob_client(container, key).url}?{sas}"

    def _delegation_key(
        self, svc: BlobServiceClient, key: str, now: dt.datetime, expiry: dt.datetime
    ) -> Any:
        """A user delegation key valid until at least ``expiry`` (one request when none is)."""
        with self._lock:
            if (
                self._key is not None
                and self._key_expiry is not None
                and self._key_expiry >= expiry
            ):
                return self._key
            until = min(max(expiry, now + _KEY_LIFETIME), now + _KEY_MAX)
            try:
                found = svc.get_user_delegation_key(now - _SKEW, until)
            except AzureError as exc:
                raise TABLE.map(exc, key, operation="signed_url") from exc
            except ValueError as exc:  # the SDK sends a token only over HTTPS
                raise ConfigError(
                    f"azure: cannot ask for a user delegation key: {exc}",
                    key="account_url",
                    hint="use an https:// account_url with a token credential",
                ) from exc
            self._key, self._key_expiry = found, until
            return found
