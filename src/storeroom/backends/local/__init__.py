"""The ``local`` backend: files in a folder on a local or mounted filesystem."""

from storeroom.backends.local.backend import LocalBackend
from storeroom.backends.local.config import LocalOptions

__all__ = ["LocalBackend", "LocalOptions"]
