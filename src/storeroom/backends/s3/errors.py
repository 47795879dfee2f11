"""Error table of the ``s3`` backend: S3 error codes, HTTP statuses and exception types.

``TABLE.map`` decides the storeroom class and the ``retryable`` flag for every
failure the backend meets, in this order: the S3 error code of a botocore
``ClientError`` (``CODES``), then its HTTP status (``STATUSES``), then the
exception's type (``TYPES``, which also covers the ``OSError`` subclasses s3fs
turns ClientErrors into, and errno values of plain ``OSError``). Nothing is
decided from message text, with one exception: pyarrow (the ``pyarrow`` engine)
raises plain ``OSError``s whose only structure is the AWS SDK's error name in a
fixed phrase, ``AWS Error <NAME> [(HTTP status <n>)] during <Op> operation``;
that name (``AWS_ERRORS``) or status is looked up, nothing else of the text.
obstore's exceptions (the ``obstore`` engine) are looked up by class name
(``OBSTORE_ERRORS``), never by their text.
Anything unknown becomes ``UnexpectedError``.
"""

from __future__ import annotations

import asyncio
import errno
import re
from typing import Any

import aiohttp
import botocore.exceptions as bx  # type: ignore[import-untyped]

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

__all__ = [
    "AWS_ERRORS",
    "BACKEND",
    "CODES",
    "ERRNOS",
    "OBSTORE_ERRORS",
    "STATUSES",
    "TABLE",
    "TYPES",
    "Row",
    "S3ErrorTable",
]

BACKEND = "s3"

#: (storeroom error class, retryable, message, hint or None)
Row = ErrorRow

_EXISTS: Row = (AlreadyExists, False, "file already exists", "pass overwrite=True to replace it")
_DENIED = "check the credentials and the bucket policy"
_BUSY: Row = (BackendUnavailable, True, "S3 is unavailable or overloaded", "retry later")

#: S3 error codes (``ClientError.response["Error"]["Code"]``).
CODES: dict[str, Row] = {
    "NoSuchKey": (NotFound, False, "file not found", None),
    "NoSuchVersion": (NotFound, False, "file version not found", None),
    "NoSuchBucket": (NotFound, False, "bucket not found", "create the bucket or fix 'bucket'"),
    "AccessDenied": (PermissionDenied, False, "access denied by S3", _DENIED),
    "AllAccessDisabled": (PermissionDenied, False, "all access to this bucket is disabled", None),
    "AccountProblem": (PermissionDenied, False, "S3 refused the account", _DENIED),
    "InvalidAccessKeyId": (PermissionDenied, False, "S3 does not know the access key", _DENIED),
    "SignatureDoesNotMatch": (PermissionDenied, False, "S3 rejected the secret key", _DENIED),
    "InvalidToken": (PermissionDenied, False, "S3 rejected the session token", _DENIED),
    "ExpiredToken": (PermissionDenied, False, "the session token has expired", "refresh it"),
    "TokenRefreshRequired": (PermissionDenied, False, "the session token must be refreshed", None),
    "RequestTimeTooSkewed": (
        PermissionDenied,
        False,
        "S3 refused the request: this machine's clock is off",
        "synchronise the clock (NTP)",
    ),
    "PreconditionFailed": _EXISTS,
    "ConditionalRequestConflict": (
        BackendUnavailable,
        True,
        "a concurrent conditional write to this key is in progress",
        "retry later",
    ),
    "OperationAborted": (BackendUnavailable, True, "a conflicting operation is in progress", None),
    "SlowDown": _BUSY,
    "Throttling": _BUSY,
    "ThrottlingException": _BUSY,
    "RequestLimitExceeded": _BUSY,
    "ServiceUnavailable": _BUSY,
    "InternalError": _BUSY,
    "RequestTimeout": (BackendUnavailable, True, "S3 timed out waiting for the request", None),
    "KeyTooLongError": (InvalidPath, False, "key too long for S3 (1024 bytes at most)", None),
    "InvalidRange": (InvalidArgument, False, "byte range outside the file", None),
    "MetadataTooLarge": (InvalidArgument, False, "user metadata too large for S3", None),
    "EntityTooLarge": (InvalidArgument, False, "file or part too large for S3", None),
    "EntityTooSmall": (InvalidArgument, False, "multipart part below S3's minimum size", None),
    "InvalidArgument": (InvalidArgument, False, "S3 rejected an argument", None),
    "NoSuchUpload": (
        UnexpectedError,
        False,
        "the multipart upload was aborted while in use",
        "another client or a lifecycle rule aborted it; write again",
    ),
}

#: HTTP statuses, for responses without a known code (HEAD answers have no body).
STATUSES: dict[int, Row] = {
    400: (InvalidArgument, False, "S3 rejected the request", None),
    401: (PermissionDenied, False, "S3 refused the credentials", _DENIED),
    403: (PermissionDenied, False, "access denied by S3", _DENIED),
    404: (NotFound, False, "file not found", None),
    409: (BackendUnavailable, True, "conflicting concurrent request", "retry later"),
    412: _EXISTS,
    416: CODES["InvalidRange"],
    429: _BUSY,
    500: _BUSY,
    502: _BUSY,
    503: _BUSY,
    504: _BUSY,
}

_UNREACHABLE: Row = (
    BackendUnavailable,
    True,
    "could not reach S3",
    "check endpoint_url and the network; retry later",
)
_TIMEOUT: Row = (BackendUnavailable, True, "S3 did not answer in time", "retry later")
_NO_CREDS: Row = (
    PermissionDenied,
    False,
    "no usable AWS credentials",
    "set key/secret, a profile, AWS_* variables or an instance role",
)

#: Exception types, most specific first (``isinstance``).
TYPES: tuple[tuple[type[BaseException], Row], ...] = (
    (bx.ConnectTimeoutError, _TIMEOUT),
    (bx.ReadTimeoutError, _TIMEOUT),
    (bx.EndpointConnectionError, _UNREACHABLE),
    (bx.ConnectionClosedError, _UNREACHABLE),
    (bx.ResponseStreamingError, _UNREACHABLE),
    (bx.IncompleteReadError, _UNREACHABLE),
    (bx.HTTPClientError, _UNREACHABLE),
    (bx.NoCredentialsError, _NO_CREDS),
    (bx.PartialCredentialsError, _NO_CREDS),
    (bx.CredentialRetrievalError, _NO_CREDS),
    (bx.ProfileNotFound, _NO_CREDS),
    (bx.ParamValidationError, (InvalidArgument, False, "invalid request parameters", None)),
    (aiohttp.ClientConnectionError, _UNREACHABLE),
    (aiohttp.ClientPayloadError, _UNREACHABLE),
    (asyncio.TimeoutError, _TIMEOUT),  # also TimeoutError and fsspec's FSTimeoutError
    (ConnectionError, _UNREACHABLE),
    # s3fs's translation of ClientErrors into builtin OSErrors.
    (FileNotFoundError, CODES["NoSuchKey"]),
    (PermissionError, CODES["AccessDenied"]),
    (FileExistsError, _EXISTS),
)

#: errno values of plain ``OSError`` (socket and s3fs failures).
ERRNOS: dict[int, Row] = {
    number: row
    for names, row in (
        (("ENOENT",), CODES["NoSuchKey"]),
        (("EACCES", "EPERM"), CODES["AccessDenied"]),
        (("EEXIST",), _EXISTS),
        (("ETIMEDOUT",), _TIMEOUT),
        (
            (
                "ECONNREFUSED",
                "ECONNRESET",
                "ECONNABORTED",
                "EHOSTUNREACH",
                "ENETUNREACH",
                "ENETDOWN",
                "EPIPE",
                "EAGAIN",
                "EBUSY",
                "EIO",
            ),
            _UNREACHABLE,
        ),
    )
    for name in names
    if (number := getattr(errno, name, None)) is not None
}


#: AWS SDK for C++ error names (``Aws::S3::S3Errors``) as pyarrow prints them.
AWS_ERRORS: dict[str, Row] = {
    "NO_SUCH_KEY": CODES["NoSuchKey"],
    "RESOURCE_NOT_FOUND": CODES["NoSuchKey"],
    "NO_SUCH_BUCKET": CODES["NoSuchBucket"],
    "NO_SUCH_UPLOAD": CODES["NoSuchUpload"],
    "ACCESS_DENIED": CODES["AccessDenied"],
    "INVALID_ACCESS_KEY_ID": CODES["InvalidAccessKeyId"],
    "SIGNATURE_DOES_NOT_MATCH": CODES["SignatureDoesNotMatch"],
    "INVALID_CLIENT_TOKEN_ID": CODES["InvalidToken"],
    "MISSING_AUTHENTICATION_TOKEN": _NO_CREDS,
    "REQUEST_EXPIRED": CODES["ExpiredToken"],
    "REQUEST_TIME_TOO_SKEWED": CODES["RequestTimeTooSkewed"],
    "UNRECOGNIZED_CLIENT": CODES["InvalidAccessKeyId"],
    "NETWORK_CONNECTION": _UNREACHABLE,
    "REQUEST_TIMEOUT": CODES["RequestTimeout"],
    "SLOW_DOWN": _BUSY,
    "THROTTLING": _BUSY,
    "SERVICE_UNAVAILABLE": _BUSY,
    "INTERNAL_FAILURE": _BUSY,
    "INVALID_PARAMETER_VALUE": CODES["InvalidArgument"],
    "INVALID_PARAMETER_COMBINATION": CODES["InvalidArgument"],
    "MISSING_PARAMETER": CODES["InvalidArgument"],
    "VALIDATION": CODES["InvalidArgument"],
}
#: obstore's exception classes (``obstore.exceptions``, engine ``obstore``), by class name:
#: obstore's messages echo URLs and response bodies, so only the class is read.
OBSTORE_ERRORS: dict[str, Row] = {
    "NotFoundError": CODES["NoSuchKey"],
    "AlreadyExistsError": _EXISTS,
    "PreconditionError": _EXISTS,
    "PermissionDeniedError": CODES["AccessDenied"],
    "UnauthenticatedError": _NO_CREDS,
    "InvalidPathError": (InvalidPath, False, "S3 key not representable by obstore", None),
    "NotSupportedError": (InvalidArgument, False, "not supported by the obstore engine", None),
    "UnknownConfigurationKeyError": (InvalidArgument, False, "unknown obstore option", None),
    # Transport failures and HTTP errors without a dedicated class (5xx, 4xx, 416).
    "GenericError": (
        BackendUnavailable,
        True,
        "S3 request failed",
        "check endpoint_url and the network; retry later",
    ),
}
_AWS_PHRASE = re.compile(r"AWS Error ([A-Z_]+)(?: \(HTTP status (\d{3})\))? during \w+ operation")


def _arrow_row(exc: OSError) -> tuple[Row | None, str]:
    """The row of a pyarrow ``OSError``: its AWS error name, else its HTTP status."""
    found = _AWS_PHRASE.search(str(exc))
    if found is None:
        return None, "OSError"
    name, code = found.group(1), found.group(2)
    row = AWS_ERRORS.get(name)
    if row is None and code is not None:
        row = STATUSES.get(int(code)) or (_BUSY if int(code) >= 500 else None)
    return row, f"{name} (HTTP {code})" if code else name


def _client_error_row(exc: bx.ClientError) -> tuple[Row | None, str]:
    response: Any = exc.response or {}
    code = str((response.get("Error") or {}).get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    row = CODES.get(code)
    if row is None and code.isdigit():
        row = STATUSES.get(int(code))
    if row is None and isinstance(status, int):
        row = STATUSES.get(status)
        if row is None and status >= 500:
            row = _BUSY
    detail = f"{code or 'error'} (HTTP {status})" if status else code or "error"
    return row, detail


class S3ErrorTable(ErrorTable):
    """S3 codes, HTTP statuses, exception types, errnos, pyarrow's and obstore's errors."""

    backend = BACKEND
    unknown = "unexpected S3 failure: {detail}"

    def lookup(self, exc: BaseException) -> tuple[Row | None, str]:
        """The table row for ``exc`` (``None`` when unknown) and a short, secret-free detail."""
        if isinstance(exc, bx.ClientError):
            return _client_error_row(exc)
        if type(exc).__module__.startswith("obstore"):
            name = type(exc).__name__
            return OBSTORE_ERRORS.get(name), f"obstore {name}"
        for cls, row in TYPES:
            if isinstance(exc, cls):
                return row, type(exc).__name__
        if isinstance(exc, OSError) and exc.errno is not None:
            return ERRNOS.get(exc.errno), errno.errorcode.get(exc.errno, str(exc.errno))
        if type(exc) is OSError:
            return _arrow_row(exc)
        return None, type(exc).__name__

    def map(
        self,
        exc: BaseException,
        key: str | None,
        *,
        operation: str | None = None,
        bucket: str | None = None,
    ) -> StoreroomError:
        """The storeroom error for ``exc``; raise it ``from exc``.

        The message carries the S3 error code / HTTP status or exception type and
        the ``bucket``, never the SDK's message text (which can echo request details).
        """
        if isinstance(exc, StoreroomError):
            return exc
        row, detail = self.lookup(exc)
        where = f" in bucket {bucket!r}" if bucket else ""
        if row is None:
            return self.unexpected(self.unknown.format(detail=detail) + where, key, operation)
        return self.build(row, key, operation, message=f"{row[2]}: {detail}{where}")


#: The s3 backend's error table (every engine): ``TABLE.map(exc, key, operation=..., bucket=...)``.
TABLE = S3ErrorTable()
