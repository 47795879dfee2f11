"""Error table of the ``http`` backend: HTTP status codes and socket/TLS exceptions.

One table per kind of failure decides the storeroom class and the
``retryable`` flag: ``STATUS_TABLE`` by exact status code (with a fallback by
status class, 4xx/5xx), ``EXCEPTION_TABLE`` by exception type (the first
entry found along the exception's MRO). Nothing is classified by message
text. A 429 or 5xx answer carries the server's ``Retry-After`` hint, in
seconds, as ``retry_after``: the backend never retries, the retry layer
waits at least that long before its next attempt.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from email.utils import parsedate_to_datetime

from storeroom.backends._errtable import ErrorRow, ErrorTable
from storeroom.errors import (
    BackendUnavailable,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

__all__ = [
    "BACKEND",
    "EXCEPTION_TABLE",
    "STATUS_TABLE",
    "TABLE",
    "HTTPErrorTable",
    "HTTPStatusError",
    "parse_retry_after",
]

BACKEND = "http"

Row = ErrorRow


class HTTPStatusError(Exception):
    """An error answer from the server: its ``status`` and raw ``Retry-After`` header."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


#: status -> (storeroom class, retryable, message, hint or None).
STATUS_TABLE: dict[int, Row] = {
    400: (InvalidPath, False, "the server rejected the request for this path (400)", None),
    401: (
        PermissionDenied,
        False,
        "the server requires authentication (401)",
        "set the credentials in the backend's headers option",
    ),
    403: (PermissionDenied, False, "the server refused access (403)", None),
    404: (NotFound, False, "file not found (404)", None),
    405: (UnexpectedError, False, "the server does not allow this method (405)", None),
    408: (BackendUnavailable, True, "the server timed out waiting for the request (408)", None),
    410: (NotFound, False, "file gone (410)", None),
    414: (InvalidPath, False, "the URL is too long for the server (414)", None),
    429: (
        BackendUnavailable,
        True,
        "the server is rate limiting requests (429)",
        "the retry layer waits for the server's Retry-After",
    ),
    500: (BackendUnavailable, True, "internal server error (500)", None),
    501: (UnexpectedError, False, "the server does not implement this method (501)", None),
    502: (BackendUnavailable, True, "bad gateway (502)", None),
    503: (BackendUnavailable, True, "service unavailable (503)", None),
    504: (BackendUnavailable, True, "gateway timeout (504)", None),
}

#: Fallback by status class for codes missing from ``STATUS_TABLE``.
_CLASS_ROWS: dict[int, Row] = {
    4: (UnexpectedError, False, "the server refused the request", None),
    5: (BackendUnavailable, True, "the server failed to answer", None),
}

_UNREACHABLE = "check that the server is running and base_url is right; retry later"

#: exception type -> row; looked up along ``type(exc).__mro__``, most specific first.
EXCEPTION_TABLE: dict[type[BaseException], Row] = {
    ssl.SSLCertVerificationError: (
        BackendUnavailable,
        False,
        "the server's TLS certificate could not be verified",
        "trust its CA with the ca_bundle option (verify_tls=false only for tests)",
    ),
    ssl.SSLError: (BackendUnavailable, True, "TLS connection failed", None),
    ConnectionRefusedError: (BackendUnavailable, True, "connection refused", _UNREACHABLE),
    ConnectionResetError: (BackendUnavailable, True, "connection reset by the server", None),
    ConnectionAbortedError: (BackendUnavailable, True, "connection aborted", None),
    BrokenPipeError: (BackendUnavailable, True, "connection closed by the server", None),
    TimeoutError: (BackendUnavailable, True, "the server did not answer in time", _UNREACHABLE),
    socket.gaierror: (BackendUnavailable, True, "the host name could not be resolved", None),
    http.client.IncompleteRead: (
        BackendUnavailable,
        True,
        "the response ended before all its bytes arrived",
        None,
    ),
    http.client.HTTPException: (
        BackendUnavailable,
        True,
        "the server sent a malformed or no response",
        None,
    ),
    OSError: (BackendUnavailable, True, "network error", _UNREACHABLE),
}


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date).

    Returns ``None`` for a missing or malformed value; a date in the past gives 0.
    """
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class HTTPErrorTable(ErrorTable):
    """Error answers by status (``HTTPStatusError``), socket/TLS/protocol errors by type."""

    backend = BACKEND
    unknown = "unexpected {detail} talking to the server"

    def lookup(self, exc: BaseException) -> tuple[Row | None, str]:
        """The row of an error answer's status or of the exception type (along its MRO)."""
        if isinstance(exc, HTTPStatusError):
            row = STATUS_TABLE.get(exc.status) or _CLASS_ROWS.get(exc.status // 100)
            if row is None:
                row = (UnexpectedError, False, "unexpected answer from the server", None)
            if exc.status not in STATUS_TABLE:
                row = (row[0], row[1], f"{row[2]} ({exc.status})", row[3])
            return row, str(exc.status)
        for kind in type(exc).__mro__:
            row = EXCEPTION_TABLE.get(kind)
            if row is not None:
                return row, type(exc).__name__
        return None, type(exc).__name__

    def map(
        self, exc: BaseException, key: str | None, *, operation: str | None = None
    ) -> StoreroomError:
        """The storeroom error for ``exc``; a retryable error answer keeps its Retry-After."""
        err = super().map(exc, key, operation=operation)
        if isinstance(exc, HTTPStatusError) and err.retryable:
            err.retry_after = parse_retry_after(exc.retry_after)
        return err


#: The http backend's error table: ``TABLE.map(exc, key, operation=...)``.
TABLE = HTTPErrorTable()
