"""Conditional writes and deletes (``if_match``): the shared error and argument check.

Backends that declare ``CONDITIONAL_WRITE`` compare the caller's etag with
the file's current one and change the file in one atomic step; on a
mismatch or a missing file they raise ``precondition_failed`` (spec COND-*).
"""

from __future__ import annotations

from storeroom.errors import InvalidArgument, PreconditionFailed

__all__ = ["check_etag", "precondition_failed"]


def precondition_failed(
    key: str, backend: str, expected: str, found: str | None, operation: str = "write"
) -> PreconditionFailed:
    """The error for ``if_match=expected`` when the file's etag is ``found``.

    ``found`` is ``None`` for a missing file and ``""`` when the server did not say.
    """
    if found is None:
        message = f"if_match={expected!r} failed: the file does not exist"
    elif not found:
        message = f"if_match={expected!r} failed: the file changed or no longer exists"
    else:
        message = f"if_match={expected!r} failed: the file's etag is now {found!r}"
    return PreconditionFailed(
        message, path=key, backend=backend, operation=operation, expected=expected
    )


def check_etag(etag: object) -> str:
    """``etag`` as given to ``if_match``: a non-empty ``str`` (surrounding quotes dropped)."""
    if not isinstance(etag, str) or not etag.strip('"'):
        raise InvalidArgument(
            f"if_match must be a non-empty etag string, got {etag!r}",
            hint="pass store.head(path).etag of the version you read",
        )
    return etag.strip('"')
