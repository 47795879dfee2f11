"""The ``sql-blob`` backend: files in SQL tables (SQLite or PostgreSQL), chunked."""

from storeroom.backends.sql.backend import SQLBlobBackend
from storeroom.backends.sql.config import SQLBlobOptions

__all__ = ["SQLBlobBackend", "SQLBlobOptions"]
