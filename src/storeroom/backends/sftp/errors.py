"""Error tables of the ``sftp`` backend: native failures to storeroom errors.

Three tables, all keyed by types or numbers, never by message text:

* ``STATUS_TABLE``: SFTP status codes (``SSH_FX_*``) to storeroom classes.
* ``FAILURE_TABLE``: the bare ``SSH_FX_FAILURE`` status ("Failure") covers
  ``EEXIST``, ``EISDIR``, ``ENOTEMPTY``, ``ENOSPC`` and more. The backend
  follows it with a ``stat`` of the path and looks up (operation, what the
  stat found) here.
* ``EXCEPTION_TABLE``: exception types (paramiko, socket, OS) to classes,
  the first matching row wins.
"""

from __future__ import annotations

import errno
import socket
from typing import Literal

import paramiko

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

__all__ = [
    "BACKEND",
    "EXCEPTION_TABLE",
    "FAILURE_TABLE",
    "STATUS_TABLE",
    "TABLE",
    "HostKeyRejected",
    "SFTPErrorTable",
    "SFTPStatusError",
    "is_connection_error",
]

BACKEND = "sftp"

# SFTP version 3 status codes (draft-ietf-secsh-filexfer-02).
FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE = 1, 2, 3, 4
FX_BAD_MESSAGE, FX_NO_CONNECTION, FX_CONNECTION_LOST, FX_OP_UNSUPPORTED = 5, 6, 7, 8

Found = Literal["file", "folder", "missing", "other"]
Row = ErrorRow


class SFTPStatusError(IOError):
    """An SFTP status reply, keeping its numeric ``code`` (paramiko drops it)."""

    _ERRNO = {FX_NO_SUCH_FILE: errno.ENOENT, FX_PERMISSION_DENIED: errno.EACCES}

    def __init__(self, code: int, text: str) -> None:
        super().__init__(self._ERRNO.get(code, errno.EIO), text)
        self.code = code


class HostKeyRejected(paramiko.SSHException):
    """The server's host key is not among the trusted keys (policy ``strict``)."""


#: SFTP status code -> row. ``FX_FAILURE`` is resolved through FAILURE_TABLE.
STATUS_TABLE: dict[int, Row] = {
    FX_NO_SUCH_FILE: (NotFound, False, "file or folder not found", None),
    FX_PERMISSION_DENIED: (
        PermissionDenied,
        False,
        "permission denied by the SFTP server",
        "check the file modes and the login user",
    ),
    FX_BAD_MESSAGE: (InvalidPath, False, "the SFTP server rejected this name", None),
    FX_NO_CONNECTION: (BackendUnavailable, True, "the SFTP server has no connection", None),
    FX_CONNECTION_LOST: (BackendUnavailable, True, "the SFTP connection was lost", None),
    FX_OP_UNSUPPORTED: (
        UnexpectedError,
        False,
        "the SFTP server does not support this operation",
        "an OpenSSH-compatible server is needed (posix-rename, hardlink extensions)",
    ),
}

_EXISTS_HINT = "pass overwrite=True to replace it"
#: (operation, what a follow-up stat found) -> row, for a bare SSH_FX_FAILURE.
FAILURE_TABLE: dict[tuple[str, Found], Row] = {
    ("write", "file"): (AlreadyExists, False, "file already exists", _EXISTS_HINT),
    ("write", "folder"): (InvalidPath, False, "a folder exists at this path", None),
    ("move", "file"): (AlreadyExists, False, "file already exists", _EXISTS_HINT),
    ("move", "folder"): (InvalidPath, False, "a folder exists at this path", None),
    ("copy", "file"): (AlreadyExists, False, "file already exists", _EXISTS_HINT),
    ("copy", "folder"): (InvalidPath, False, "a folder exists at this path", None),
    ("open_read", "folder"): (InvalidPath, False, "expected a file, found a folder", None),
    ("delete", "folder"): (InvalidPath, False, "expected a file, found a folder", None),
    ("remove_folder", "folder"): (
        DirectoryNotEmpty,
        False,
        "folder is not empty",
        "pass recursive=True to delete it with its content",
    ),
    ("remove_folder", "file"): (InvalidPath, False, "expected a folder, found a file", None),
    ("mkdir", "file"): (InvalidPath, False, "a parent of this path is a file, not a folder", None),
}
for _op in ("open_read", "delete", "remove_folder", "stat"):
    FAILURE_TABLE.setdefault((_op, "missing"), (NotFound, False, "file or folder not found", None))

_UNAVAILABLE = "the SFTP server could not be reached or dropped the connection"
#: Exception type -> row; the first row whose type matches wins (subclasses first).
EXCEPTION_TABLE: tuple[tuple[type[BaseException], Row], ...] = (
    (
        HostKeyRejected,
        (
            PermissionDenied,
            False,
            "the server's host key is not trusted (not in known_hosts)",
            "add it with `ssh-keyscan -p PORT HOST >> ~/.ssh/known_hosts`, point the "
            "known_hosts option at a file holding it, or set host_key_policy = 'auto_add'",
        ),
    ),
    (
        paramiko.BadHostKeyException,
        (
            PermissionDenied,
            False,
            "the server's host key does not match known_hosts",
            "the server was reinstalled or someone intercepts the connection; "
            "verify the key before updating known_hosts",
        ),
    ),
    (
        paramiko.PasswordRequiredException,
        (ConfigError, False, "the private key is encrypted", "set the passphrase option"),
    ),
    (
        paramiko.AuthenticationException,
        (
            PermissionDenied,
            False,
            "SSH authentication failed",
            "check username, password or key, and the server's authorized_keys",
        ),
    ),
    (paramiko.ChannelException, (BackendUnavailable, True, "the server refused a channel", None)),
    (socket.timeout, (BackendUnavailable, True, "the SFTP server did not answer in time", None)),
    (EOFError, (BackendUnavailable, True, "the SFTP connection was closed", None)),
    (paramiko.SSHException, (BackendUnavailable, True, _UNAVAILABLE, None)),
    (ConnectionError, (BackendUnavailable, True, _UNAVAILABLE, None)),
    (socket.gaierror, (BackendUnavailable, True, "the SFTP host name does not resolve", None)),
)

_NET_ERRNOS = frozenset(
    getattr(errno, n)
    for n in ("ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "EHOSTDOWN", "ETIMEDOUT", "EPIPE")
    if hasattr(errno, n)
)


def _row_for(exc: BaseException) -> Row | None:
    if isinstance(exc, StoreroomError):
        return None
    if isinstance(exc, SFTPStatusError):
        return STATUS_TABLE.get(exc.code)
    for cls, row in EXCEPTION_TABLE:
        if isinstance(exc, cls):
            return row
    if isinstance(exc, OSError) and exc.errno in _NET_ERRNOS:
        return (BackendUnavailable, True, _UNAVAILABLE, None)
    return None


def is_connection_error(exc: BaseException) -> bool:
    """True when ``exc`` means the connection itself is broken (discard it)."""
    row = _row_for(exc)
    if isinstance(exc, SFTPStatusError):
        return exc.code in (FX_NO_CONNECTION, FX_CONNECTION_LOST)
    return row is not None and row[0] is BackendUnavailable


#: Any failure on a connection that is no longer alive: paramiko then raises
#: plain ``OSError("Socket is closed")`` and the like, so the state decides.
LOST_ROW: Row = (BackendUnavailable, True, "the SFTP connection was lost", None)


class SFTPErrorTable(ErrorTable):
    """SFTP status codes, a bare ``SSH_FX_FAILURE`` explained by a stat, exception types."""

    backend = BACKEND
    unknown = "unexpected SFTP {detail}"

    def lookup(self, exc: BaseException) -> tuple[Row | None, str]:
        """The row of ``exc`` and what it is (a server failure or the exception's type)."""
        what = "server failure" if isinstance(exc, SFTPStatusError) else type(exc).__name__
        return _row_for(exc), what

    def map(
        self,
        exc: BaseException,
        key: str | None,
        *,
        operation: str | None = None,
        lost: bool = False,
        found: Found | None = None,
    ) -> StoreroomError:
        """Translate ``exc`` (raise the result ``from exc``); unknown ones become UnexpectedError.

        ``lost``: the connection the failure happened on is dead (its transport is
        no longer active), which makes any failure a retryable ``BackendUnavailable``.
        ``found``: what a stat of ``key`` found after a bare ``SSH_FX_FAILURE``; the
        (operation, found) pair is looked up in ``FAILURE_TABLE``. A bare failure
        without it is reported as an unexpected server failure.
        """
        if isinstance(exc, StoreroomError):
            return exc
        if found is not None:
            row = FAILURE_TABLE.get((operation or "", found))
            if row is None:
                return self.unexpected(_FAILURE, key, operation)
            return self.build(row, key, operation)
        row, what = self.lookup(exc)
        if lost and (row is None or row[0] is not BackendUnavailable):
            row = LOST_ROW
        if row is None:
            return self.unexpected(self.unknown.format(detail=what), key, operation)
        return self.build(row, key, operation)


_FAILURE = "the SFTP server reported a failure (disk full, quota, or a server limit)"

#: The sftp backend's error table: ``TABLE.map(exc, key, operation=..., lost=..., found=...)``.
TABLE = SFTPErrorTable()
