"""The ``http`` backend: read-only files under a base URL (standard library only)."""

from storeroom.backends.http.backend import HTTPBackend
from storeroom.backends.http.config import HTTPOptions

__all__ = ["HTTPBackend", "HTTPOptions"]
