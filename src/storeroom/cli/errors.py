"""Exit codes of the ``storeroom`` command and how errors map onto them.

The table is part of the command's contract (spec CLI-030): scripts branch
on these numbers, so a code never changes meaning.
"""

from __future__ import annotations

import enum
from typing import Any

from storeroom._mask import mask_text
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
)

__all__ = ["EXIT_CODES", "ExitCode", "UsageError", "error_payload", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """Process exit status of ``storeroom``."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    NOT_FOUND = 3
    CONFIG = 4
    ALREADY_EXISTS = 5
    PERMISSION_DENIED = 6
    NOT_SUPPORTED = 7
    UNAVAILABLE = 8
    BROKEN_PIPE = 141
    INTERRUPTED = 130


#: ``(code, meaning)`` rows, in the order ``--help`` prints them.
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (ExitCode.OK, "success"),
    (ExitCode.FAILURE, "backend failure or other storeroom error"),
    (ExitCode.USAGE, "usage error: bad arguments, unknown store, invalid path"),
    (ExitCode.NOT_FOUND, "file or folder not found (remote or local)"),
    (ExitCode.CONFIG, "configuration error (missing file, bad syntax, unknown key, ...)"),
    (ExitCode.ALREADY_EXISTS, "target exists and --overwrite was not given"),
    (ExitCode.PERMISSION_DENIED, "permission denied"),
    (ExitCode.NOT_SUPPORTED, "the store's backend does not support the operation"),
    (ExitCode.UNAVAILABLE, "backend unavailable (network, timeout)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C)"),
    (ExitCode.BROKEN_PIPE, "stdout was closed early (e.g. piped into head)"),
)


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit code 2)."""

    def __init__(self, message: str, *, hint: str | None = None, usage: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.usage = usage

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


# Checked in order: the first matching class decides the code.
_BY_CLASS: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (UsageError, ExitCode.USAGE),
    (ConfigError, ExitCode.CONFIG),
    (NotFound, ExitCode.NOT_FOUND),
    (AlreadyExists, ExitCode.ALREADY_EXISTS),
    (PermissionDenied, ExitCode.PERMISSION_DENIED),
    (CapabilityNotSupported, ExitCode.NOT_SUPPORTED),
    (BackendUnavailable, ExitCode.UNAVAILABLE),
    (InvalidPath, ExitCode.USAGE),
    (InvalidArgument, ExitCode.USAGE),
)


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit code for an error raised while running a command."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return ExitCode.FAILURE


def error_message(exc: BaseException) -> str:
    """One line describing ``exc``, with any known secret value masked."""
    if isinstance(exc, StoreroomError | UsageError):
        text = str(exc)
    else:
        text = f"unexpected {type(exc).__name__}: {exc}"
    return mask_text(" ".join(text.split()))


def error_payload(exc: BaseException, code: int) -> dict[str, Any]:
    """The ``--json`` form of an error: ``{"error": {...}}``."""
    body: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": error_message(exc),
        "path": None,
        "store": None,
        "backend": None,
        "hint": None,
        "exit_code": int(code),
    }
    if isinstance(exc, StoreroomError):
        body["path"] = exc.path
        body["store"] = exc.store
        body["backend"] = exc.backend
        body["hint"] = mask_text(exc.hint) if exc.hint else None
    elif isinstance(exc, UsageError):
        body["hint"] = mask_text(exc.hint) if exc.hint else None
    return {"error": body}
