"""The row type of the backends' error tables and the one way to turn a row into an error.

Each backend's ``errors.py`` maps native errors (errno, HTTP status, error
code, exception type) to a row; building the storeroom error from it is the
same everywhere, so it lives here.
"""

from __future__ import annotations

from storeroom.errors import StoreroomError

__all__ = ["ErrorRow", "from_row"]

#: (storeroom error class, retryable, message, hint or ``None``).
ErrorRow = tuple[type[StoreroomError], bool, str, str | None]


def from_row(
    row: ErrorRow,
    *,
    backend: str,
    key: str,
    operation: str | None,
    message: str | None = None,
) -> StoreroomError:
    """The error a table row describes, for ``key``; ``message`` overrides the row's text."""
    cls, retryable, text, hint = row
    return cls(
        text if message is None else message,
        path=key,
        backend=backend,
        operation=operation,
        retryable=retryable,
        hint=hint,
    )
