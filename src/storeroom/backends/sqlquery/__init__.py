"""The ``sql-query`` backend: named SQL queries read as Parquet, CSV or Arrow files.

``SQLQueryBackend`` (which needs SQLAlchemy and pyarrow) is imported on first
access, so naming it loads neither and validating options never loads pyarrow
(masking the url uses SQLAlchemy's URL parser when it is installed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storeroom.backends.sqlquery.config import SQLQueryOptions

if TYPE_CHECKING:
    from storeroom.backends.sqlquery.backend import SQLQueryBackend

__all__ = ["SQLQueryBackend", "SQLQueryOptions"]


def __getattr__(name: str) -> Any:
    if name == "SQLQueryBackend":
        from storeroom.backends.sqlquery.backend import SQLQueryBackend

        return SQLQueryBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
