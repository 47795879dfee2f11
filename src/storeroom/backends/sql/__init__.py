"""The ``sql-blob`` backend: files in SQL tables (SQLite or PostgreSQL), chunked.

``SQLBlobBackend`` (which needs SQLAlchemy) is imported on first access, so
validating options does not load the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storeroom.backends.sql.config import SQLBlobOptions

if TYPE_CHECKING:
    from storeroom.backends.sql.backend import SQLBlobBackend

__all__ = ["SQLBlobBackend", "SQLBlobOptions"]


def __getattr__(name: str) -> Any:
    if name == "SQLBlobBackend":
        from storeroom.backends.sql.backend import SQLBlobBackend

        return SQLBlobBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
