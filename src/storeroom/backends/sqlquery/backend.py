"""The ``sql-query`` backend: configured SQL queries read as Parquet, CSV or Arrow files.

Each query ``name`` appears as one file per format (``name.parquet``,
``name.csv``, ``name.arrow``). Reading one runs the query with bound
parameters only and streams the result through ``_render.ResultStream``
(one batch of rows in memory at a time). Nothing is ever written: every
writing primitive raises ``CapabilityNotSupported``, and queries run in
read-only transactions (PostgreSQL) or with ``PRAGMA query_only`` (SQLite).
Errors come from the table in ``errors.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO, ClassVar

import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
import sqlalchemy as sa
from sqlalchemy import event

from storeroom.backend import Backend, Entry, Source, entry_sort_key, rel_key, unsupported
from storeroom.backends.sqlquery._render import ResultStream
from storeroom.backends.sqlquery.config import (
    CONTENT_TYPES,
    Query,
    SQLQueryOptions,
    parse_queries,
)
from storeroom.backends.sqlquery.errors import BACKEND, TABLE
from storeroom.backends.sqlquery.serializer import SerializedResult
from storeroom.capabilities import Capability
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError, InvalidArgument, InvalidPath, NotFound, StoreroomError
from storeroom.models import FileInfo, FolderEntry, WriteResult

__all__ = ["SQLQueryBackend"]

C = Capability
_DECIMAL = re.compile(r"decimal(128|256)?\((\d+),(\d+)\)")


def _engine(opts: SQLQueryOptions) -> sa.Engine:
    """A pooled engine; SQLite connections are shared across threads and query-only."""
    url = sa.make_url(opts.url.reveal())
    args = {k: v.reveal() if isinstance(v, Secret) else v for k, v in opts.connect_args.items()}
    sqlite = url.get_backend_name() == "sqlite"
    if sqlite:
        args.setdefault("check_same_thread", False)
    elif url.get_backend_name() == "postgresql":
        args.setdefault("connect_timeout", max(1, round(opts.connect_timeout)))
    engine = sa.create_engine(url, echo=opts.echo, connect_args=args)
    if sqlite:

        @event.listens_for(engine, "connect")
        def _query_only(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA query_only = ON")
            finally:
                cur.close()

    return engine


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}", key=key, backend=BACKEND)


class SQLQueryBackend(Backend):
    """Read-only files that are the results of configured SQL queries.

    ``SQLQueryBackend(url="sqlite:///shop.db", queries={"sales": "SELECT ..."})``;
    see ``SQLQueryOptions``. Capabilities: READ, LIST, METADATA (the Store adds GLOB). ``stat``
    runs the query to measure the size; listings do not (size 0, see the spec).
    """

    type_name = BACKEND
    real_folders = False
    capabilities: frozenset[Capability] = frozenset({C.READ, C.LIST, C.METADATA})
    options_class: ClassVar[type[SQLQueryOptions]] = SQLQueryOptions

    def __init__(self, url: str, queries: Mapping[str, Any], **options: Any) -> None:
        self._setup(SQLQueryOptions.parse({"url": url, "queries": queries, **options}))

    def _setup(self, opts: SQLQueryOptions) -> None:
        self.options = opts
        self._where = opts.masked_url
        self._queries = parse_queries(opts.queries)
        self._clauses = {name: self._clause(q) for name, q in self._queries.items()}
        self._types = {name: self._arrow_types(q) for name, q in self._queries.items()}
        self._files = sorted(f"{name}.{fmt}" for name in self._queries for fmt in opts.formats)
        try:
            self._engine = _engine(opts)
        except ImportError as exc:
            raise ConfigError(
                f"url: the database driver for {opts.scheme!r} is not installed ({exc.name})",
                key="url",
                backend=BACKEND,
                hint='pip install "storeroom[sql,arrow]" "psycopg[binary]" for PostgreSQL',
            ) from None
        except (sa.exc.ArgumentError, ValueError) as exc:
            # Not chained: SQLAlchemy's message quotes the whole URL.
            raise ConfigError(
                f"url: not a usable SQLAlchemy URL: {self._where!r} ({type(exc).__name__})",
                key="url",
                backend=BACKEND,
            ) from None
        self._read_options: dict[str, Any] = {"stream_results": True, "yield_per": opts.batch_rows}
        if self._engine.dialect.name == "postgresql":
            self._read_options["postgresql_readonly"] = True

    @staticmethod
    def _clause(q: Query) -> sa.TextClause:
        """The query as a ``text()`` clause with every parameter bound, never interpolated."""
        where = f"queries.{q.name}"
        clause = sa.text(q.sql)
        names = set(clause._bindparams)
        extra = sorted(set(q.params) - names)
        if extra:
            raise _fail(f"{where}.params.{extra[0]}", f"the SQL has no :{extra[0]} parameter")
        missing = sorted(names - set(q.params))
        if missing:
            raise _fail(f"{where}.params", f"no value for the SQL's :{missing[0]} parameter")
        return clause.bindparams(**q.params) if q.params else clause

    @staticmethod
    def _arrow_types(q: Query) -> dict[str, pa.DataType]:
        """Arrow types by column: pyarrow's aliases, plus ``decimal128(p, s)``/``decimal256``."""
        out = {}
        for column, name in q.types.items():
            text = name.strip().lower().replace(" ", "")
            decimal = _DECIMAL.fullmatch(text)
            try:
                if decimal is not None:
                    make = pa.decimal256 if decimal[1] == "256" else pa.decimal128
                    out[column] = make(int(decimal[2]), int(decimal[3]))
                else:
                    out[column] = pa.type_for_alias(text)
            except (ValueError, KeyError):
                raise _fail(
                    f"queries.{q.name}.types.{column}",
                    f"unknown Arrow type {name!r} (e.g. 'int64', 'string', 'timestamp[us]', "
                    "'decimal128(12, 2)')",
                ) from None
        return out

    # -- names ----------------------------------------------------------------------

    def _split(self, key: str) -> tuple[Query, str]:
        """The query and format a file key names; ``NotFound`` or ``InvalidPath`` otherwise."""
        name, dot, fmt = key.rpartition(".")
        query = self._queries.get(name) if dot else None
        if query is None or fmt not in self.options.formats:
            if self.is_folder(key):
                raise InvalidPath("expected a file, found a folder", path=key, backend=BACKEND)
            raise NotFound(
                "no such query file",
                path=key,
                backend=BACKEND,
                hint="files are <query name>.<format> for the configured queries and formats",
            )
        return query, fmt

    def _entry(self, path: str, key: str, size: int) -> FileInfo:
        fmt = key.rpartition(".")[2]
        return FileInfo._fast(path, key.rpartition("/")[2], size, None, None, CONTENT_TYPES[fmt])

    # -- reading --------------------------------------------------------------------

    def _open(
        self, key: str, op: str, skip: int = 0, limit: int | None = None
    ) -> ResultStream | SerializedResult:
        query, fmt = self._split(key)

        def fail(exc: BaseException) -> BaseException:
            if isinstance(exc, StoreroomError):
                return exc
            if isinstance(
                exc,
                sa.exc.SQLAlchemyError | pa.ArrowException | TypeError | ValueError | OverflowError,
            ):
                return TABLE.map(exc, key, operation=op, query=query.name, where=self._where)
            return exc

        conn: sa.Connection | None = None
        try:
            conn = self._engine.connect().execution_options(**self._read_options)
            result = conn.execute(self._clauses[query.name])
            names = list(result.keys())
        except Exception as exc:
            if conn is not None:
                conn.close()
            err = fail(exc)
            if err is exc:
                raise
            raise err from exc
        types = self._types[query.name]
        unknown = sorted(set(types) - set(names))
        if unknown:
            result.close()
            conn.close()
            raise InvalidArgument(
                f"query {query.name!r}: types names a column the query does not return: "
                f"{unknown[0]!r}",
                path=key,
                backend=BACKEND,
                operation=op,
            )

        def release() -> None:
            try:
                result.close()
            finally:
                conn.close()

        if self.options.serializer is not None:  # the caller's encoder: whole results
            try:
                rows = result.fetchall()
                release()
                return SerializedResult(self.options.serializer, rows, names, fmt, skip, limit)
            except Exception as exc:
                release()
                err = fail(exc)
                if err is exc:
                    raise
                raise err from exc
        return ResultStream(
            result.partitions(self.options.batch_rows),
            names,
            fmt,
            types,
            fail=fail,
            release=release,
            skip=skip,
            limit=limit,
        )

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        """Run the query and stream bytes ``[start, end)`` of its result (skipping the rest)."""
        begin = start or 0
        if begin < 0 or (end is not None and end < 0):
            raise InvalidPath("byte offsets must not be negative", path=key, backend=BACKEND)
        limit = None if end is None else max(0, end - begin)
        return self._open(key, "open_read", begin, limit)  # type: ignore[return-value]

    def stat(self, key: str) -> Entry:
        """A query file with its exact size: the query runs once and its bytes are counted.

        A folder is ``NotFound`` here, as on every flat backend.
        """
        if self.is_folder(key):  # folders are implied by names (flat backend): no entry
            raise NotFound("file not found", path=key, backend=BACKEND, operation="stat")
        with self._open(key, "stat") as stream:
            size = stream.count()
        return self._entry(key, key, size)

    def exists(self, key: str) -> bool:
        """From the configuration alone: no query runs."""
        return key in self._files or self.is_folder(key)

    def is_folder(self, key: str) -> bool:
        return not key or any(f.startswith(key + "/") for f in self._files)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        """The query files under ``prefix`` (no query runs: sizes are 0)."""
        below = [f for f in self._files if not prefix or f.startswith(prefix + "/")]
        entries: dict[str, Entry] = {}
        skip = len(prefix) + 1 if prefix else 0
        for key in below:
            parts = key[skip:].split("/")
            depth = len(parts) - 1 if recursive else min(1, len(parts) - 1)
            for i in range(depth):
                folder = "/".join(parts[: i + 1])
                full = f"{prefix}/{folder}" if prefix else folder
                path = rel_key(full, base)
                entries.setdefault(path, FolderEntry._fast(path, parts[i]))
            if recursive or len(parts) == 1:
                path = rel_key(key, base)
                entries[path] = self._entry(path, key, 0)
        return iter(sorted(entries.values(), key=entry_sort_key))

    def ping(self) -> None:
        """Open one connection: the database answers and accepts the login."""
        try:
            with self._engine.connect():
                pass
        except sa.exc.SQLAlchemyError as exc:
            raise TABLE.map(exc, "", operation="ping", where=self._where) from exc

    # -- refused: the backend is read-only --------------------------------------------

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        raise unsupported(C.WRITE, BACKEND, "write").with_context(path=key)

    def delete(self, key: str) -> None:
        raise unsupported(C.DELETE, BACKEND, "delete").with_context(path=key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        raise unsupported(C.COPY, BACKEND, "copy").with_context(path=src)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        raise unsupported(C.MOVE, BACKEND, "move").with_context(path=src)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        raise unsupported(C.DELETE, BACKEND, "remove_folder").with_context(path=key)

    # -- housekeeping -----------------------------------------------------------------

    def describe(self) -> Mapping[str, object]:
        return {"url": self._where, "queries": sorted(self._queries)}

    def close(self) -> None:
        """Dispose of the connection pool; the next read reconnects."""
        self._engine.dispose()
