"""Error table of the ``azure`` backend: Azure SDK failures to storeroom errors.

One lookup decides the storeroom class and the ``retryable`` flag: first the
service's ``x-ms-error-code`` (``BlobNotFound``, ``AuthorizationFailure``,
...), then the HTTP status, then the ``azure.core`` exception type (for
failures with no HTTP answer at all: refused connections, timeouts). Nothing
is decided from message text. This module does not import the SDK: it works
on the attributes of the exception it is given, and on type names along its
class hierarchy. obstore's exceptions (``engine = "obstore"``) are looked up by
class name (``OBSTORE_ERRORS``): their text echoes URLs and response bodies.

``TABLE.map(exc, key, operation=...)`` is the one entry point;
"""

from __future__ import annotations

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
)

__all__ = ["BACKEND", "OBSTORE_ERRORS", "TABLE", "AzureErrorTable"]

BACKEND = "azure"

Row = ErrorRow
_CREDS = "check account_key / sas_token / connection_string and the account's access rules"

_GONE: Row = (NotFound, False, "file or folder not found", None)
_TAKEN: Row = (AlreadyExists, False, "file already exists", "pass overwrite=True to replace it")
_DENIED: Row = (PermissionDenied, False, "Azure refused access", _CREDS)
_BAD_NAME: Row = (InvalidPath, False, "Azure rejected this name", None)
_BUSY: Row = (BackendUnavailable, True, "Azure is busy or failed internally", None)

#: ``x-ms-error-code`` -> (class, retryable, message, hint). Every conditional
#: request this backend sends, except reads, is create-only (If-None-Match: *),
#: so ``ConditionNotMet`` means "exists".
ERROR_CODES: dict[str, Row] = {
    **dict.fromkeys(("BlobNotFound", "PathNotFound", "SourcePathNotFound"), _GONE),
    **dict.fromkeys(("CannotVerifyCopySource", "ParentNotFound"), _GONE),
    "ContainerNotFound": (NotFound, False, "the container does not exist", "create it first"),
    "FilesystemNotFound": (NotFound, False, "the file system does not exist", None),
    **dict.fromkeys(("BlobAlreadyExists", "PathAlreadyExists", "ConditionNotMet"), _TAKEN),
    "DirectoryNotEmpty": (DirectoryNotEmpty, False, "folder is not empty", None),
    "PathConflict": (InvalidPath, False, "a file or folder is in the way", None),
    **dict.fromkeys(("InvalidResourceName", "InvalidUri"), _BAD_NAME),
    "AuthenticationFailed": (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    **dict.fromkeys(
        (
            "AuthorizationFailure",
            "AuthorizationPermissionMismatch",
            "AuthorizationResourceTypeMismatch",
            "InsufficientAccountPermissions",
            "AccountIsDisabled",
        ),
        _DENIED,
    ),
    **dict.fromkeys(("ServerBusy", "OperationTimedOut", "InternalError"), _BUSY),
    "InvalidBlockList": (BackendUnavailable, True, "staged blocks vanished", "write again"),
}

#: Overrides while a download is running: its later chunks are fetched with
#: If-Match on the first chunk's etag, so a failed condition means "changed".
_CHANGED: Row = (BackendUnavailable, True, "the file changed while being read", "read again")
READ_CODES: dict[str, Row] = {"ConditionNotMet": _CHANGED}

#: HTTP status -> row, for answers without a known error code (other 5xx: as 500).
STATUSES: dict[int, Row] = {
    401: (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    403: _DENIED,
    404: _GONE,
    409: _TAKEN,
    412: _TAKEN,
    **dict.fromkeys((408, 429, 500, 502, 503, 504), _BUSY),
}

_DOWN: Row = (BackendUnavailable, True, "cannot reach Azure, or it did not answer in time", None)
#: ``azure.core.exceptions`` class name -> row (failures without an HTTP answer);
#: their timeout subclasses are found along the MRO.
EXCEPTION_TYPES: dict[str, Row] = {
    **dict.fromkeys(("ServiceRequestError", "ServiceResponseError", "IncompleteReadError"), _DOWN),
    **dict.fromkeys(("ConnectionError", "TimeoutError"), _DOWN),
    "ClientAuthenticationError": (PermissionDenied, False, "Azure refused the credentials", _CREDS),
}


#: obstore's exception classes (engine ``obstore``) by name; ``FileNotFoundError`` is
#: its "not found". ``PreconditionError`` answers If-Match and If-None-Match alike:
#: create-only writes read it as "exists", ``write_if_match`` decides for itself.
OBSTORE_ERRORS: dict[str, Row] = {
    "FileNotFoundError": _GONE,
    "NotFoundError": _GONE,
    "AlreadyExistsError": _TAKEN,
    "PreconditionError": _TAKEN,
    "PermissionDeniedError": _DENIED,
    "UnauthenticatedError": (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    "InvalidPathError": (InvalidPath, False, "blob name not representable by obstore", None),
    "NotSupportedError": (InvalidArgument, False, "not supported by the obstore engine", None),
    "UnknownConfigurationKeyError": (InvalidArgument, False, "unknown obstore option", None),
    # Transport failures and HTTP errors without a class of their own (5xx, 416, ...).
    "GenericError": (
        BackendUnavailable,
        True,
        "Azure request failed",
        "check the endpoint and the network; retry later",
    ),
}


def _obstore_row(exc: BaseException) -> Row | None:
    """The row of an obstore exception (by class name), else ``None``."""
    name = type(exc).__name__
    if type(exc).__module__.startswith("obstore") or name == "FileNotFoundError":
        return OBSTORE_ERRORS.get(name)
    return None


def error_code(exc: BaseException) -> str | None:
    """The service error code of ``exc`` as a plain string (SDK enums included)."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))


def _row(exc: BaseException, reading: bool) -> Row | None:
    found = _obstore_row(exc)
    if found is not None:
        return found
    code = error_code(exc)
    if reading and code is not None and code in READ_CODES:
        return READ_CODES[code]
    if code is not None and code in ERROR_CODES:
        return ERROR_CODES[code]
    status = getattr(exc, "status_code", None)
    if reading and status == 412:
        return _CHANGED
    if isinstance(status, int) and status in STATUSES:
        return STATUSES[status]
    if isinstance(status, int) and status >= 500:
        return STATUSES[500]
    for klass in type(exc).__mro__:
        if klass.__name__ in EXCEPTION_TYPES:
            return EXCEPTION_TYPES[klass.__name__]
    return None


class AzureErrorTable(ErrorTable):
    """The azure backend's one error table: SDK and obstore failures to storeroom errors."""

    backend = BACKEND
    unknown = "unexpected Azure error: {detail}"

    def lookup(self, exc: BaseException, reading: bool = False) -> tuple[Row | None, str]:
        """The row of ``exc`` and a short detail (HTTP status and code, or the type name)."""
        status = getattr(exc, "status_code", None)
        code = error_code(exc) or ""
        what = f"HTTP {status} {code}".strip() if status else type(exc).__name__
        return _row(exc, reading), what

    def map(
        self,
        exc: BaseException,
        key: str | None,
        *,
        operation: str | None = None,
        reading: bool = False,
    ) -> StoreroomError:
        """Translate ``exc`` into the storeroom error for ``key``; raise it ``from exc``.

        ``reading``: the failure happened while downloading (see ``READ_CODES``).
        A storeroom error (a credential provider's) is returned as it is.
        """
        if isinstance(exc, StoreroomError):
            return exc
        row, detail = self.lookup(exc, reading)
        if row is None:
            return self.unexpected(self.unknown.format(detail=detail), key, operation)
        return self.build(row, key, operation)


TABLE = AzureErrorTable()
