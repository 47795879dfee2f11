"""Error table of the ``azure`` backend: Azure SDK failures to storeroom errors.

One lookup decides the storeroom class and the ``retryable`` flag: first the
service's ``x-ms-error-code`` (``BlobNotFound``, ``AuthorizationFailure``,
...), then the HTTP status, then the ``azure.core`` exception type (for
failures with no HTTP answer at all: refused connections, timeouts). Nothing
is decided from message text. This module does not import the SDK: it works
on the attributes of the exception it is given, and on type names along its
class hierarchy.
"""

from __future__ import annotations

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

__all__ = ["BACKEND", "map_azure_error"]

BACKEND = "azure"

Row = tuple[type[StoreroomError], bool, str, str | None]
_CREDS = "check account_key / sas_token / connection_string and the account's access rules"

#: ``x-ms-error-code`` -> (class, retryable, message, hint).
ERROR_CODES: dict[str, Row] = {
    "BlobNotFound": (NotFound, False, "file not found", None),
    "PathNotFound": (NotFound, False, "file or folder not found", None),
    "SourcePathNotFound": (NotFound, False, "source file not found", None),
    "CannotVerifyCopySource": (NotFound, False, "copy source not found", None),
    "ContainerNotFound": (
        NotFound,
        False,
        "the container does not exist",
        "create it, or set create_container = true",
    ),
    "FilesystemNotFound": (NotFound, False, "the file system does not exist", None),
    "BlobAlreadyExists": (
        AlreadyExists,
        False,
        "file already exists",
        "pass overwrite=True to replace it",
    ),
    "PathAlreadyExists": (
        AlreadyExists,
        False,
        "file already exists",
        "pass overwrite=True to replace it",
    ),
    "DirectoryNotEmpty": (DirectoryNotEmpty, False, "folder is not empty", None),
    "PathConflict": (InvalidPath, False, "a file or folder is in the way", None),
    "ParentNotFound": (NotFound, False, "the parent folder does not exist", None),
    "InvalidResourceName": (InvalidPath, False, "Azure rejected this name", None),
    "InvalidUri": (InvalidPath, False, "Azure rejected this name", None),
    "AuthenticationFailed": (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    "AuthorizationFailure": (PermissionDenied, False, "Azure refused access", _CREDS),
    "AuthorizationPermissionMismatch": (PermissionDenied, False, "Azure refused access", _CREDS),
    "AuthorizationResourceTypeMismatch": (PermissionDenied, False, "Azure refused access", _CREDS),
    "InsufficientAccountPermissions": (PermissionDenied, False, "Azure refused access", _CREDS),
    "AccountIsDisabled": (PermissionDenied, False, "the storage account is disabled", None),
    "ServerBusy": (BackendUnavailable, True, "Azure is busy (throttled)", None),
    "OperationTimedOut": (BackendUnavailable, True, "Azure timed out", None),
    "InternalError": (BackendUnavailable, True, "Azure reported an internal error", None),
    "InvalidBlockList": (
        BackendUnavailable,
        True,
        "the staged blocks vanished before the commit",
        "write again",
    ),
    # Every conditional request this backend sends, except reads, is
    # create-only (If-None-Match: *): a failed condition means "exists".
    "ConditionNotMet": (
        AlreadyExists,
        False,
        "file already exists",
        "pass overwrite=True to replace it",
    ),
}

#: Overrides while a download is running: its later chunks are fetched with
#: If-Match on the first chunk's etag, so a failed condition means "changed".
READ_CODES: dict[str, Row] = {
    "ConditionNotMet": (
        BackendUnavailable,
        True,
        "the file changed while it was being read",
        "read it again",
    ),
}

#: HTTP status -> row, for answers without a known error code.
STATUSES: dict[int, Row] = {
    401: (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    403: (PermissionDenied, False, "Azure refused access", _CREDS),
    404: (NotFound, False, "not found", None),
    409: (AlreadyExists, False, "file already exists", "pass overwrite=True to replace it"),
    412: (AlreadyExists, False, "file already exists", "pass overwrite=True to replace it"),
    408: (BackendUnavailable, True, "Azure timed out", None),
    429: (BackendUnavailable, True, "Azure throttled the request", None),
    500: (BackendUnavailable, True, "Azure reported a server error", None),
    502: (BackendUnavailable, True, "bad gateway in front of Azure", None),
    503: (BackendUnavailable, True, "Azure is unavailable", None),
    504: (BackendUnavailable, True, "gateway timeout in front of Azure", None),
}

#: ``azure.core.exceptions`` class name -> row (failures without an HTTP answer).
EXCEPTION_TYPES: dict[str, Row] = {
    "ServiceRequestError": (BackendUnavailable, True, "cannot reach Azure", None),
    "ServiceRequestTimeoutError": (BackendUnavailable, True, "connecting to Azure timed out", None),
    "ServiceResponseError": (BackendUnavailable, True, "Azure's answer was cut off", None),
    "ServiceResponseTimeoutError": (BackendUnavailable, True, "Azure did not answer in time", None),
    "IncompleteReadError": (BackendUnavailable, True, "the download was cut off", None),
    "ClientAuthenticationError": (PermissionDenied, False, "Azure refused the credentials", _CREDS),
    "ConnectionError": (BackendUnavailable, True, "cannot reach Azure", None),
    "TimeoutError": (BackendUnavailable, True, "Azure did not answer in time", None),
}


def error_code(exc: BaseException) -> str | None:
    """The service error code of ``exc`` as a plain string (SDK enums included)."""
    code = getattr(exc, "error_code", None)
    if code is None:
        return None
    return str(getattr(code, "value", code))


def _row(exc: BaseException, reading: bool) -> Row | None:
    code = error_code(exc)
    if reading and code is not None and code in READ_CODES:
        return READ_CODES[code]
    if code is not None and code in ERROR_CODES:
        return ERROR_CODES[code]
    status = getattr(exc, "status_code", None)
    if reading and status == 412:
        return READ_CODES["ConditionNotMet"]
    if isinstance(status, int) and status in STATUSES:
        return STATUSES[status]
    if isinstance(status, int) and status >= 500:
        return STATUSES[500]
    for klass in type(exc).__mro__:
        if klass.__name__ in EXCEPTION_TYPES:
            return EXCEPTION_TYPES[klass.__name__]
    return None


def map_azure_error(
    exc: BaseException, key: str, *, operation: str | None = None, reading: bool = False
) -> StoreroomError:
    """Translate ``exc`` into the storeroom error for ``key``; raise it ``from exc``.

    ``reading``: the failure happened while downloading (see ``READ_CODES``).
    """
    row = _row(exc, reading)
    if row is None:
        status = getattr(exc, "status_code", None)
        what = f"HTTP {status} {error_code(exc) or ''}".strip() if status else type(exc).__name__
        return UnexpectedError(
            f"unexpected Azure error: {what}", path=key, backend=BACKEND, operation=operation
        )
    cls, retryable, message, hint = row
    return cls(
        message, path=key, backend=BACKEND, operation=operation, retryable=retryable, hint=hint
    )
