"""Errno table of the local backend: OS error numbers to storeroom errors.

One table decides the storeroom class and the ``retryable`` flag for every
``OSError`` the backend meets. Classification uses ``errno`` only, never the
text of the message. Numbers missing from the table become
``storeroom.errors.UnexpectedError``.
"""

from __future__ import annotations

import errno

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

__all__ = ["BACKEND", "ERRNO_TABLE", "TABLE", "LocalErrorTable"]

BACKEND = "local"

#: errno -> (storeroom error class, retryable, message, hint or None).
ERRNO_TABLE: dict[int, ErrorRow] = {}


def _add(
    names: tuple[str, ...],
    cls: type[StoreroomError],
    retryable: bool,
    message: str,
    hint: str | None = None,
) -> None:
    # Some errno names exist only on some platforms (EDQUOT, ESTALE, ...).
    for name in names:
        number = getattr(errno, name, None)
        if number is not None and number not in ERRNO_TABLE:
            ERRNO_TABLE[number] = (cls, retryable, message, hint)


_add(("ENOENT",), NotFound, False, "file or folder not found")
_add(("EEXIST",), AlreadyExists, False, "file already exists", "pass overwrite=True to replace it")
_add(("EACCES", "EPERM"), PermissionDenied, False, "permission denied by the filesystem")
_add(("EROFS",), PermissionDenied, False, "the filesystem is read-only")
_add(("ENOTDIR",), InvalidPath, False, "a parent of this path is a file, not a folder")
_add(("EISDIR",), InvalidPath, False, "expected a file, found a folder")
_add(("ENAMETOOLONG",), InvalidPath, False, "path or name too long for the filesystem")
_add(("ELOOP",), InvalidPath, False, "too many levels of symbolic links")
_add(("EINVAL", "EILSEQ"), InvalidPath, False, "the filesystem rejected this name")
_add(("ENOTEMPTY",), DirectoryNotEmpty, False, "folder is not empty")
_add(
    ("ENOSPC", "EDQUOT"),
    StoreroomError,
    False,
    "disk full: no space or quota left on the filesystem",
    "free some space or raise the quota, then write again",
)
_add(
    ("EIO", "EAGAIN", "EWOULDBLOCK", "ETIMEDOUT", "EBUSY", "ESTALE", "EINTR", "ENOLCK"),
    BackendUnavailable,
    True,
    "the filesystem did not answer the request",
    "the disk or network mount may be failing; retry later",
)
_add(
    ("EMFILE", "ENFILE", "ENOMEM"),
    BackendUnavailable,
    True,
    "the system ran out of file handles or memory",
)
_add(
    ("EXDEV", "EMLINK", "ENOTSUP", "EOPNOTSUPP"),
    UnexpectedError,
    False,
    "the filesystem does not support this operation here",
)


class LocalErrorTable(ErrorTable):
    """``OSError`` by ``errno``; messages name the store key, never the absolute path."""

    backend = BACKEND
    unknown = "unexpected filesystem error: {detail}"

    def lookup(self, exc: BaseException) -> tuple[ErrorRow | None, str]:
        """The row of ``exc``'s errno, and its ``strerror`` (or type name) as detail."""
        number = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        row = ERRNO_TABLE.get(number) if isinstance(number, int) else None
        strerror = exc.strerror if isinstance(exc, OSError) else None
        return row, strerror or type(exc).__name__


#: The local backend's error table: ``TABLE.map(exc, key, operation=...)``.
TABLE = LocalErrorTable()
