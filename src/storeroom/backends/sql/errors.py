"""Error table of the ``sql-blob`` backend: database errors to storeroom errors.

Classification looks, in this order, at the PostgreSQL SQLSTATE of the
driver error (psycopg's ``sqlstate``; exact code, then its two-character
class), libpq's connection facts for a failed login (no SQLSTATE exists
there: ``used_password`` set and startup never completed), the SQLite
result code (``sqlite_errorcode``; extended, then primary), and finally
the SQLAlchemy exception type. Never at message text.
Anything not in the tables becomes ``UnexpectedError``. No SQLAlchemy import
here: types are matched by name along the exception's MRO.
"""

from __future__ import annotations

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidArgument,
    InvalidPath,
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
    "SQLErrorTable",
]

BACKEND = "sql-blob"

#: (storeroom class, retryable, message)
Row = tuple[type[StoreroomError], bool, str]

_DOWN: Row = (BackendUnavailable, True, "the database server is unreachable or went away")
_AUTH: Row = (PermissionDenied, False, "the database server refused the login")
_BUSY: Row = (BackendUnavailable, True, "the database is busy (locked by another writer)")

#: PostgreSQL SQLSTATE codes.
SQLSTATE: dict[str, Row] = {
    "23505": (AlreadyExists, False, "file already exists"),
    "28P01": (PermissionDenied, False, "the database refused the credentials"),
    "28000": (PermissionDenied, False, "the database refused the connection for this user"),
    "42501": (PermissionDenied, False, "the database user lacks a privilege on the tables"),
    "25006": (PermissionDenied, False, "the database connection is read-only"),
    "3D000": (ConfigError, False, "the database named in the url does not exist"),
    "42P01": (ConfigError, False, "the storeroom tables do not exist in this database"),
    "40001": (BackendUnavailable, True, "the transaction conflicted with another one"),
    "40P01": (BackendUnavailable, True, "the transaction was chosen as a deadlock victim"),
    "55P03": (BackendUnavailable, True, "a lock could not be obtained in time"),
    "57014": (BackendUnavailable, True, "the statement was cancelled (statement timeout)"),
    "57P01": _DOWN,
    "57P02": _DOWN,
    "57P03": (BackendUnavailable, True, "the database server is starting up or shutting down"),
    "53300": (BackendUnavailable, True, "the database server has too many connections"),
    "53100": (StoreroomError, False, "the database server's disk is full"),
    "54000": (InvalidArgument, False, "a database limit was exceeded (value too large)"),
}
#: PostgreSQL SQLSTATE classes (first two characters), used when the code is not listed.
SQLSTATE_CLASS: dict[str, Row] = {
    "08": _DOWN,  # connection exception
    "28": (PermissionDenied, False, "the database refused the credentials"),
    "53": (BackendUnavailable, True, "the database server ran out of resources"),
    "57": (BackendUnavailable, True, "the database server stopped the operation"),
    "58": (BackendUnavailable, True, "the database server had a system error"),
    "40": (BackendUnavailable, True, "the transaction was rolled back by the server"),
}

#: SQLite result codes: extended codes first, then primary codes (code & 0xFF).
SQLITE_CODES: dict[int, Row] = {
    2067: (AlreadyExists, False, "file already exists"),  # SQLITE_CONSTRAINT_UNIQUE
    1555: (AlreadyExists, False, "file already exists"),  # SQLITE_CONSTRAINT_PRIMARYKEY
    3: (PermissionDenied, False, "access to the SQLite database was denied"),  # SQLITE_PERM
    5: _BUSY,  # SQLITE_BUSY
    6: _BUSY,  # SQLITE_LOCKED
    7: (BackendUnavailable, True, "SQLite ran out of memory"),  # SQLITE_NOMEM
    8: (PermissionDenied, False, "the SQLite database is read-only"),  # SQLITE_READONLY
    10: (BackendUnavailable, True, "SQLite had a disk I/O error"),  # SQLITE_IOERR
    11: (UnexpectedError, False, "the SQLite database file is corrupt"),  # SQLITE_CORRUPT
    13: (StoreroomError, False, "disk full: SQLite cannot grow the database"),  # SQLITE_FULL
    14: (BackendUnavailable, False, "the SQLite database file cannot be opened"),  # CANTOPEN
    18: (InvalidArgument, False, "the value is too large for SQLite"),  # SQLITE_TOOBIG
    23: (PermissionDenied, False, "SQLite refused the operation"),  # SQLITE_AUTH
    26: (UnexpectedError, False, "the file is not a SQLite database"),  # SQLITE_NOTADB
}

#: SQLAlchemy exception class names, most specific first (walked along the MRO).
TYPES: dict[str, Row] = {
    "DisconnectionError": _DOWN,
    "TimeoutError": (BackendUnavailable, True, "no database connection free in the pool in time"),
    "InterfaceError": _DOWN,
    "OperationalError": _DOWN,
    "IntegrityError": (UnexpectedError, False, "the database rejected the change"),
    "DataError": (InvalidArgument, False, "the database rejected a value"),
    "NoSuchTableError": (ConfigError, False, "the storeroom tables do not exist"),
    "ProgrammingError": (UnexpectedError, False, "the database rejected a statement"),
    "DatabaseError": (UnexpectedError, False, "unexpected database error"),
}


def _row(exc: BaseException) -> Row | None:
    invalidated = bool(getattr(exc, "connection_invalidated", False))
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and state:
        found = SQLSTATE.get(state) or SQLSTATE_CLASS.get(state[:2])
        if found is not None:
            return found
    pgconn = getattr(orig, "pgconn", None)
    if (
        state is None
        and pgconn is not None
        and getattr(pgconn, "used_password", False) is True
        and getattr(pgconn, "server_version", None) == 0
    ):
        # libpq reports no SQLSTATE for a failed connection. A connection
        # that sent the password and never completed startup was refused
        # by authentication (or the database named in the url is missing).
        return _AUTH
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        found = SQLITE_CODES.get(code) or SQLITE_CODES.get(code & 0xFF)
        if found is not None:
            return found
    if invalidated:
        return _DOWN
    for cls in type(exc).__mro__:
        found = TYPES.get(cls.__name__)
        if found is not None and cls.__module__.startswith("sqlalchemy"):
            return found
    return None


class SQLErrorTable(ErrorTable):
    """SQLSTATE, libpq login facts, SQLite result codes, SQLAlchemy types; never message text."""

    backend = BACKEND
    unknown = "unexpected database error ({detail})"

    def lookup(self, exc: BaseException) -> tuple[ErrorRow | None, str]:
        """The row of ``exc`` (with the hint its class gets) and its type name."""
        found = _row(exc)
        if found is None:
            return None, type(exc).__name__
        cls, retryable, message = found
        hint = "pass overwrite=True to replace it" if cls is AlreadyExists else None
        return (cls, retryable, message, hint), type(exc).__name__

    def map(
        self,
        exc: BaseException,
        key: str | None,
        *,
        operation: str | None = None,
        where: str = "",
    ) -> StoreroomError:
        """Translate ``exc`` (a SQLAlchemy error, or a driver's ``UnicodeEncodeError``).

        ``where`` is the masked URL, added to connection failures so the message
        says which database; it never holds a password. Raise the result
        ``from exc`` so the original stays as ``__cause__``.
        """
        if isinstance(exc, StoreroomError):
            return exc
        if isinstance(exc, UnicodeEncodeError):
            return _unencodable(key, operation)
        row, detail = self.lookup(exc)
        if row is None:
            return self.unexpected(self.unknown.format(detail=detail), key, operation)
        cls, retryable, message, hint = row
        if cls in (BackendUnavailable, PermissionDenied, ConfigError) and where:
            message = f"{message} ({where})"
            if cls is ConfigError:
                hint = "check the url, or set create_table = true"
        return self.build((cls, retryable, message, hint), key, operation)


def _unencodable(key: str | None, operation: str | None) -> InvalidPath:
    """The error for a name the database driver cannot encode (a lone surrogate).

    The Store refuses such paths first (PATH-014); this covers direct backend use.
    """
    return InvalidPath(
        "the database cannot store this name: it is not valid Unicode text",
        path=None if key is None else key.encode("utf-8", "backslashreplace").decode("utf-8"),
        backend=BACKEND,
        operation=operation,
        hint="names must be encodable as UTF-8",
    )


#: The sql-blob backend's error table: ``TABLE.map(exc, key, operation=..., where=...)``.
TABLE = SQLErrorTable()
