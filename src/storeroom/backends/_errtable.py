"""The error-table API every backend shares: ``TABLE.map(exc, key, operation=...)``.

Each backend's ``errors.py`` exposes ``TABLE``, an ``ErrorTable`` subclass
instance whose ``lookup`` finds the row for a native error (errno, HTTP
status, error code, exception type); turning a row into the storeroom error
is the same everywhere, so it lives here (spec BACKEND-030..).
"""

from __future__ import annotations

from typing import ClassVar

from storeroom.errors import StoreroomError, UnexpectedError

__all__ = ["ErrorRow", "ErrorTable", "from_row"]

#: (storeroom error class, retryable, message, hint or ``None``).
ErrorRow = tuple[type[StoreroomError], bool, str, str | None]


def from_row(
    row: ErrorRow,
    *,
    backend: str,
    key: str | None,
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


class ErrorTable:
    """One backend's native-error table; ``map`` is its single entry point.

    Subclasses set ``backend`` and ``unknown`` and implement ``lookup``; a
    backend with extra context (a bucket, a masked URL) adds keyword-only
    arguments to ``map`` and keeps the call shape ``map(exc, key, operation=)``.
    """

    #: The backend type name the errors carry.
    backend: ClassVar[str] = ""
    #: Message for an error no row knows; ``{detail}`` is ``lookup``'s detail.
    unknown: ClassVar[str] = "unexpected failure: {detail}"

    def lookup(self, exc: BaseException) -> tuple[ErrorRow | None, str]:
        """The row for ``exc`` (``None`` when unknown) and a short, secret-free detail."""
        raise NotImplementedError

    def map(
        self, exc: BaseException, key: str | None, *, operation: str | None = None
    ) -> StoreroomError:
        """The storeroom error for native ``exc`` about ``key``; raise it ``from exc``.

        A storeroom error passes through unchanged; anything the table does not
        know becomes ``UnexpectedError``. Messages never echo the native text.
        """
        if isinstance(exc, StoreroomError):
            return exc
        row, detail = self.lookup(exc)
        if row is None:
            return self.unexpected(self.unknown.format(detail=detail), key, operation)
        return self.build(row, key, operation)

    def build(
        self, row: ErrorRow, key: str | None, operation: str | None, message: str | None = None
    ) -> StoreroomError:
        """The error ``row`` describes for ``key`` (``message`` replaces the row's text)."""
        return from_row(row, backend=self.backend, key=key, operation=operation, message=message)

    def unexpected(self, message: str, key: str | None, operation: str | None) -> StoreroomError:
        """An ``UnexpectedError`` for a failure no row describes."""
        return UnexpectedError(message, path=key, backend=self.backend, operation=operation)
