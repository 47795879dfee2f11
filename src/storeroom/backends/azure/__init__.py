"""The ``azure`` backend: Azure Blob Storage (flat, or hierarchical namespace).

``AzureBackend`` is imported on first access, so validating a configuration
(which loads ``AzureOptions``) does not import the Azure SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storeroom.backends.azure.config import AzureOptions

if TYPE_CHECKING:
    from storeroom.backends.azure.backend import AzureBackend

__all__ = ["AzureBackend", "AzureOptions"]


def __getattr__(name: str) -> Any:
    if name == "AzureBackend":
        from storeroom.backends.azure.backend import AzureBackend

        return AzureBackend
    raise AttributeError(f"module 'storeroom.backends.azure' has no attribute {name!r}")
