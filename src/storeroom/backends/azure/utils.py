"""``AzureUtils``: account probes without building a backend, under remote-store's names.

The Azure SDK is imported inside each helper, so importing this module needs no
SDK (spec AZURE-050..).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

from storeroom.config.secret import Secret
from storeroom.errors import ConfigError

__all__ = ["AzureUtils"]

#: ``AzureOptions`` needs a container; the account probe never uses it.
_NO_CONTAINER = "account-probe"


def _secret(value: str | Secret | None) -> Secret | None:
    return Secret(value) if isinstance(value, str) else value


class AzureUtils:
    """Helpers for Azure Storage accounts, as ``remote_store.backends.AzureUtils`` has them."""

    @staticmethod
    def detect_hns(
        *,
        account_name: str | None = None,
        account_url: str | None = None,
        account_key: str | Secret | None = None,
        sas_token: str | Secret | None = None,
        connection_string: str | Secret | None = None,
        credential: Any | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> bool:
        """True when the account has a hierarchical namespace (ADLS Gen2), False when flat.

        One ``GetAccountInfo`` request, credentials as for ``AzureBackend``; the answer
        is the value for its ``hns`` option. A failed probe raises a storeroom error.
        """
        from azure.core.exceptions import AzureError
        from azure.storage.blob import BlobServiceClient

        from storeroom.backends.azure._conn import make_client
        from storeroom.backends.azure.config import AzureOptions
        from storeroom.backends.azure.errors import TABLE

        opts = AzureOptions(
            container=_NO_CONTAINER,
            account_name=account_name,
            account_url=account_url,
            account_key=_secret(account_key),
            sas_token=_secret(sas_token),
            connection_string=_secret(connection_string),
            credential=credential,
            client_options=dict(client_options or {}),
        )
        client: Any = None
        try:
            client = make_client(BlobServiceClient, opts, {})
            info = client.get_account_information()
        except AzureError as exc:
            raise TABLE.map(exc, "", operation="detect_hns") from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"detect_hns: the account probe failed ({type(exc).__name__})",
                backend="azure",
                hint="check account_url / connection_string and the credential",
            ) from None  # not chained: the SDK's message may quote the connection string
        finally:
            if client is not None:
                # a credential made here (DefaultAzureCredential) holds sessions; the caller's not
                made = None if credential is not None else getattr(client, "credential", None)
                with contextlib.suppress(Exception):
                    client.close()
                close = getattr(made, "close", None)
                if close is not None:
                    with contextlib.suppress(Exception):
                        close()
        return bool(info.get("is_hns_enabled", False))

    @staticmethod
    async def adetect_hns(
        *,
        account_name: str | None = None,
        account_url: str | None = None,
        account_key: str | Secret | None = None,
        sas_token: str | Secret | None = None,
        connection_string: str | Secret | None = None,
        credential: Any | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> bool:
        """``detect_hns`` for async code: the same probe, run in a worker thread."""
        return await asyncio.to_thread(
            AzureUtils.detect_hns,
            account_name=account_name,
            account_url=account_url,
            account_key=account_key,
            sas_token=sas_token,
            connection_string=connection_string,
            credential=credential,
            client_options=client_options,
        )
