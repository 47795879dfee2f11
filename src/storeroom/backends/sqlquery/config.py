"""Options of the ``sql-query`` backend (no SQLAlchemy or pyarrow import here)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from storeroom import _mask
from storeroom.config.frozen import FrozenDict
from storeroom.config.options import BackendOptions, code_object
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.path import is_store_key

__all__ = ["CONTENT_TYPES", "FORMATS", "Query", "SQLQueryOptions", "parse_queries"]

#: File formats a query can be read in, by file extension.
FORMATS = ("arrow", "csv", "parquet")
CONTENT_TYPES = {
    "arrow": "application/vnd.apache.arrow.stream",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}
_PARAM_TYPES = (str, int, float, bool, datetime.date, datetime.time, type(None))


@dataclasses.dataclass(frozen=True)
class Query:
    """One configured query: SQL text, its bound parameter values, Arrow type overrides."""

    name: str
    sql: str
    params: Mapping[str, Any]
    types: Mapping[str, str]


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}", key=where)


def _query(name: Any, value: Any) -> Query:
    where = f"queries.{name}"
    if not isinstance(name, str) or not is_store_key(name):
        raise _fail(
            where, "a query name must be a store path like 'sales' or 'reports/sales' (no '..')"
        )
    if isinstance(value, str):
        value = {"sql": value}
    if not isinstance(value, Mapping):
        raise _fail(
            where, f"expected SQL text or a table {{sql = ...}}, got {type(value).__name__}"
        )
    unknown = sorted(set(value) - {"sql", "params", "types"})
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", "unknown key (known: sql, params, types)")
    sql = value.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise _fail(f"{where}.sql", "expected the SQL text of the query")
    params = value.get("params") or {}
    types = value.get("types") or {}
    if not isinstance(params, Mapping):
        raise _fail(f"{where}.params", "expected a table of parameter values")
    for pname, pvalue in params.items():
        if not isinstance(pname, str) or not pname.isidentifier():
            raise _fail(f"{where}.params", f"invalid parameter name {pname!r}")
        if not isinstance(pvalue, _PARAM_TYPES):
            raise _fail(
                f"{where}.params.{pname}",
                f"expected a string, number, boolean, date or time, got {type(pvalue).__name__}",
            )
    if not isinstance(types, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in types.items()
    ):
        raise _fail(f"{where}.types", "expected a table of column = 'arrow type name'")
    # Plain values: a ``${VAR}`` string arrives as a ``str`` subclass drivers need not know.
    plain = {k: str(v) if isinstance(v, str) else v for k, v in params.items()}
    return Query(name, str(sql), FrozenDict(plain), FrozenDict(types))


def parse_queries(queries: Mapping[str, Any]) -> dict[str, Query]:
    """The validated queries by name; ``ConfigError`` naming the first bad entry."""
    if not isinstance(queries, Mapping):
        raise _fail("queries", "expected a table of name = SQL text")
    if not queries:
        raise _fail("queries", "expected at least one query")
    return {q.name: q for q in (_query(name, value) for name, value in queries.items())}


@dataclasses.dataclass(frozen=True)
class SQLQueryOptions(BackendOptions):
    """Options of the ``sql-query`` backend.

    ``url``: a SQLAlchemy URL, kept as a ``Secret`` and shown masked.
    ``queries``: name → SQL text, or name → ``{sql, params, types}``; each is
    read as ``<name>.<format>``. ``formats``: the formats offered (default all
    of ``arrow``, ``csv``, ``parquet``). ``batch_rows``: rows fetched and
    converted per batch (also the Parquet row group size). ``connect_args``:
    passed to the database driver. ``connect_timeout``: seconds to reach a
    server. ``echo``: log every statement (SQLAlchemy's echo). ``serializer``:
    a ``ResultSerializer`` object (from code only) that encodes whole results
    instead of the built-in streaming encoder.
    """

    url: Secret
    queries: Mapping[str, Any]
    formats: tuple[str, ...] = FORMATS
    batch_rows: int = 10_000
    connect_args: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    connect_timeout: float = 10.0
    echo: bool = False
    serializer: Any = dataclasses.field(
        default=None,
        metadata=code_object(
            "a ResultSerializer (an object with serialize(rows, columns, format))",
            "SQLQueryBackend(url, queries, serializer=MySerializer())",
        ),
    )

    def __post_init__(self) -> None:
        if self.serializer is not None and not callable(
            getattr(self.serializer, "serialize", None)
        ):
            raise _fail(
                "serializer",
                f"expected an object with a serialize(rows, columns, format) method, "
                f"got {type(self.serializer).__name__}",
            )
        if isinstance(self.url, str):  # direct construction with a plain string
            object.__setattr__(self, "url", Secret(self.url))
        raw = self.url.reveal().strip()
        _mask.protect_url(raw)  # the scrubber knows the password from now on
        if "://" not in raw:
            raise _fail(
                "url", f"expected a SQLAlchemy URL like 'sqlite:///file.db', got {mask(raw)!r}"
            )
        parse_queries(self.queries)
        object.__setattr__(self, "formats", tuple(self.formats))
        if (
            not self.formats
            or len(set(self.formats)) != len(self.formats)
            or not set(self.formats) <= set(FORMATS)
        ):
            raise _fail("formats", f"expected a non-empty list of {', '.join(FORMATS)}")
        if isinstance(self.batch_rows, bool) or not 1 <= self.batch_rows <= 1_000_000:
            raise _fail("batch_rows", "expected an integer from 1 to 1000000")
        if isinstance(self.connect_timeout, bool) or not self.connect_timeout > 0:
            raise _fail("connect_timeout", "expected a number of seconds above 0")
        if not isinstance(self.connect_args, Mapping):
            raise _fail("connect_args", "expected a table of driver arguments")

    @property
    def masked_url(self) -> str:
        """The URL with its password masked."""
        return mask(self.url.reveal())

    @property
    def scheme(self) -> str:
        """Dialect part of the URL: ``sqlite``, ``postgresql``, ..."""
        return unquote(self.url.reveal().split("://", 1)[0]).split("+", 1)[0].lower()

    @classmethod
    def backend_type(cls) -> str:
        return "sql-query"


def mask(url: str) -> str:
    """``url`` with its password and credential parameters masked (the one masking routine)."""
    return _mask.mask_url(url, sql=True)
