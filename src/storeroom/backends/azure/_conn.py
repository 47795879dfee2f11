"""Building the SDK service clients of the ``azure`` backend from its options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from storeroom.backends.azure._creds import refreshing_credential
from storeroom.backends.azure.config import AzureOptions
from storeroom.config.secret import reveal

__all__ = ["make_client"]

C = TypeVar("C")


def client_kwargs(o: AzureOptions, extra: Mapping[str, Any]) -> dict[str, Any]:
    """SDK keywords: no SDK retries (the retry layer owns them), timeouts, block sizes."""
    return {
        "retry_total": 0,
        "connection_timeout": o.connect_timeout,
        "read_timeout": o.read_timeout,
        "max_block_size": o.block_size,
        "max_single_put_size": max(o.block_size, 64 * 1024 * 1024),
        "max_single_get_size": o.block_size,
        "max_chunk_get_size": o.block_size,
        **o.client_options,
        **extra,
    }


def credential(o: AzureOptions) -> Any:
    """The SDK credential for the URL form: given object, key, SAS, DefaultAzureCredential."""
    refreshing = refreshing_credential(o)
    if refreshing is not None:
        return refreshing
    if o.credential is not None:
        return o.credential
    if o.account_key is not None:
        if o.account_name:
            return {"account_name": o.account_name, "account_key": reveal(o.account_key)}
        return reveal(o.account_key)
    if o.sas_token is not None:
        from azure.core.credentials import AzureSasCredential

        return AzureSasCredential(str(reveal(o.sas_token)).lstrip("?"))
    if "sig=" in urlsplit(o.account_url or "").query:
        return None  # the SAS in account_url is the credential
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        return None  # anonymous access (public containers)
    return DefaultAzureCredential()


def make_client(cls: type[C], o: AzureOptions, extra: Mapping[str, Any], dfs: bool = False) -> C:
    """A ``BlobServiceClient`` or ``DataLakeServiceClient`` (``dfs``: on the ``.dfs.`` host)."""
    kw = client_kwargs(o, extra)
    if o.connection_string is not None:
        client: C = cls.from_connection_string(str(reveal(o.connection_string)), **kw)  # type: ignore[attr-defined]
        return client
    url = str(o.blob_url())
    if dfs:
        url = url.replace(".blob.", ".dfs.", 1)
    return cls(url, credential=credential(o), **kw)  # type: ignore[call-arg]
