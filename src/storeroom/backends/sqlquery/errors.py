"""Error table of the ``sql-query`` backend: database and Arrow errors to storeroom errors.

Classification looks at the PostgreSQL SQLSTATE (exact code, then its class),
libpq's facts for a refused login (which has no SQLSTATE), the SQLite result
code (extended, then primary), and the SQLAlchemy exception type along the
MRO — never at message text. Every message names the query and the masked
URL; the database's own one-line reason is added after scrubbing, so it
never shows a password. No SQLAlchemy import here.
"""

from __future__ import annotations

from storeroom import _mask
from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    BackendUnavailable,
    ConfigError,
    InvalidArgument,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

__all__ = [
    "BACKEND",
    "SQLITE_CODES",
    "SQLSTATE",
    "SQLSTATE_CLASS",
    "TABLE",
    "TYPES",
    "SQLQueryErrorTable",
]

BACKEND = "sql-query"

_FIX = "fix the query's SQL in the configuration"
_DOWN: ErrorRow = (
    BackendUnavailable,
    True,
    "the database server is unreachable or went away",
    None,
)
_AUTH: ErrorRow = (PermissionDenied, False, "the database server refused the login", None)
_BUSY: ErrorRow = (BackendUnavailable, True, "the database is busy (locked by a writer)", None)
_BAD_SQL: ErrorRow = (InvalidArgument, False, "the database rejected the query", _FIX)
_WRITES: ErrorRow = (
    PermissionDenied,
    False,
    "the query tried to change the database; sql-query runs queries read-only",
    "read with a SELECT; change data through another connection",
)

#: PostgreSQL SQLSTATE codes.
SQLSTATE: dict[str, ErrorRow] = {
    "28P01": (PermissionDenied, False, "the database refused the credentials", None),
    "28000": (PermissionDenied, False, "the database refused this user", None),
    "25006": _WRITES,  # read_only_sql_transaction
    "42501": (PermissionDenied, False, "the database user may not run this query", None),
    "3D000": (ConfigError, False, "the database named in the url does not exist", None),
    "42P01": (InvalidArgument, False, "the query names a table that does not exist", _FIX),
    "42703": (InvalidArgument, False, "the query names a column that does not exist", _FIX),
    "42601": (InvalidArgument, False, "the query has a SQL syntax error", _FIX),
    "57014": (BackendUnavailable, True, "the query was cancelled (statement timeout)", None),
    "40001": (BackendUnavailable, True, "the query conflicted with another transaction", None),
    "40P01": (BackendUnavailable, True, "the query was chosen as a deadlock victim", None),
    "53300": (BackendUnavailable, True, "the database server has too many connections", None),
}
#: PostgreSQL SQLSTATE classes (first two characters), when the code is not listed.
SQLSTATE_CLASS: dict[str, ErrorRow] = {
    "08": _DOWN,
    "28": (PermissionDenied, False, "the database refused the credentials", None),
    "22": (InvalidArgument, False, "the query failed on a data value", _FIX),
    "42": _BAD_SQL,
    "53": (BackendUnavailable, True, "the database server ran out of resources", None),
    "57": (BackendUnavailable, True, "the database server stopped the query", None),
    "58": (BackendUnavailable, True, "the database server had a system error", None),
}
#: SQLite result codes: extended first, then primary (code & 0xFF).
SQLITE_CODES: dict[int, ErrorRow] = {
    1: _BAD_SQL,  # SQLITE_ERROR: syntax error, no such table or column
    3: (PermissionDenied, False, "access to the SQLite database was denied", None),
    5: _BUSY,
    6: _BUSY,
    8: _WRITES,  # SQLITE_READONLY: PRAGMA query_only refused a change
    10: (BackendUnavailable, True, "SQLite had a disk I/O error", None),
    11: (UnexpectedError, False, "the SQLite database file is corrupt", None),
    14: (BackendUnavailable, False, "the SQLite database file cannot be opened", None),
    23: (PermissionDenied, False, "SQLite refused the query", None),
    26: (UnexpectedError, False, "the file is not a SQLite database", None),
}
#: SQLAlchemy exception class names, most specific first (walked along the MRO).
TYPES: dict[str, ErrorRow] = {
    "DisconnectionError": _DOWN,
    "TimeoutError": (BackendUnavailable, True, "no database connection free in time", None),
    "InterfaceError": _DOWN,
    "OperationalError": _DOWN,
    "ProgrammingError": _BAD_SQL,
    "DataError": (InvalidArgument, False, "the query failed on a data value", _FIX),
    "StatementError": _BAD_SQL,  # e.g. a value missing for a bound parameter
    "DatabaseError": (UnexpectedError, False, "unexpected database error", None),
}


def _row(exc: BaseException) -> ErrorRow | None:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state:
        found = SQLSTATE.get(state) or SQLSTATE_CLASS.get(state[:2])
        if found is not None:
            return found
    pgconn = getattr(orig, "pgconn", None)
    if (
        state is None
        and getattr(pgconn, "used_password", False) is True
        and getattr(pgconn, "server_version", None) == 0
    ):
        # libpq gives no SQLSTATE for a failed login: the password was sent and
        # the connection never started, so authentication refused it.
        return _AUTH
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        found = SQLITE_CODES.get(code) or SQLITE_CODES.get(code & 0xFF)
        if found is not None:
            return found
    if getattr(exc, "connection_invalidated", False):
        return _DOWN
    for cls in type(exc).__mro__:
        found = TYPES.get(cls.__name__)
        if found is not None and cls.__module__.startswith("sqlalchemy"):
            return found
    return None


def _reason(exc: BaseException) -> str:
    """The database's first message line, scrubbed of URLs and known secrets."""
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return _mask.mask_text(first[:300])


_UNKNOWN: ErrorRow = (UnexpectedError, False, "unexpected database error", None)


class SQLQueryErrorTable(ErrorTable):
    """Database errors by SQLSTATE, SQLite code and SQLAlchemy type; Arrow conversion errors."""

    backend = BACKEND

    def lookup(self, exc: BaseException) -> tuple[ErrorRow | None, str]:
        """The row of a database error ``exc`` and its scrubbed one-line reason."""
        return _row(exc), _reason(exc)

    def map(
        self,
        exc: BaseException,
        key: str | None,
        *,
        operation: str | None = None,
        query: str | None = None,
        where: str = "",
    ) -> StoreroomError:
        """The storeroom error for ``exc`` raised while running query ``query`` for ``key``.

        ``query`` is ``None`` for a connection check that runs no query; ``where`` is
        the masked URL. A SQLAlchemy error is a database failure; anything else
        (Arrow, ``TypeError``, ``ValueError``...) is a result value that cannot be
        converted. Raise the result ``from exc``; the Store scrubs the cause chain.
        """
        if isinstance(exc, StoreroomError):
            return exc
        if not _is_database_error(exc):
            return _conversion_error(exc, key, query=query, operation=operation)
        found, reason = self.lookup(exc)
        row = found or _UNKNOWN
        head = f"query {query!r}: " if query is not None else ""
        message = f"{head}{row[2]} ({where})" + (f": {reason}" if reason else "")
        return self.build(row, key, operation, message=message)


def _is_database_error(exc: BaseException) -> bool:
    """True for a SQLAlchemy error (matched by module, no SQLAlchemy import here)."""
    return any(cls.__module__.startswith("sqlalchemy") for cls in type(exc).__mro__)


def _conversion_error(
    exc: BaseException, key: str | None, *, query: str | None, operation: str | None
) -> StoreroomError:
    """A result value Arrow cannot convert (or that breaks the schema of the first batch)."""
    reason = _mask.mask_text(str(exc).strip().splitlines()[0][:300]) if str(exc).strip() else ""
    return InvalidArgument(
        f"query {query!r}: a result value cannot be converted to Arrow"
        + (f": {reason}" if reason else ""),
        path=key,
        backend=BACKEND,
        operation=operation,
        hint="cast the column in SQL, or give its Arrow type in the query's types table",
    )


#: The sql-query backend's error table: ``TABLE.map(exc, key, operation=, query=, where=)``.
TABLE = SQLQueryErrorTable()
