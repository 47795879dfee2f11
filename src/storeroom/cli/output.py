"""Where the command writes: results on stdout, diagnostics on stderr.

Text mode prints short human lines; ``--json`` prints exactly one JSON
document per command on stdout (errors as one JSON document on stderr).
``--quiet`` drops status lines and progress, never results or errors.
Secret values are masked everywhere (spec CLI-024, CLI-040..042).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import IO, Any, BinaryIO

from storeroom._mask import mask_text, mask_url
from storeroom.cli.errors import error_message, error_payload
from storeroom.config.secret import Secret
from storeroom.models import FileInfo, FolderEntry

__all__ = ["Output", "entry_record", "mask", "masked_repr"]

_MASK = "Secret('***')"  # what Secret's own repr shows


def _secret_url(value: Secret) -> str | None:
    """A secret that is a URL, shown with only its credential parts masked."""
    text = value.reveal()
    if "://" not in text:
        return None
    masked = mask_url(text)
    return masked if masked.partition("://")[2] not in ("", "***") else None


def mask(value: Any) -> Any:
    """Plain JSON-able data with every ``Secret`` shown as ``Secret('***')``.

    URLs (also inside a ``Secret``) are shown through the shared mask: user
    information, passwords and credential parameters as ``***``.
    """
    if isinstance(value, Secret):
        return _secret_url(value) or _MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {str(k): mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def masked_repr(value: Any) -> str:
    """A Python-literal style rendering of ``value`` with secrets masked."""
    if isinstance(value, Secret):
        url = _secret_url(value)
        return repr(url) if url is not None else _MASK
    if isinstance(value, str):
        return repr(mask_text(value))
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k!s}: {masked_repr(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(masked_repr(v) for v in value) + "]"
    return repr(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def entry_record(entry: FileInfo | FolderEntry) -> dict[str, Any]:
    """The JSON shape of one listing entry."""
    if isinstance(entry, FileInfo):
        return {
            "path": str(entry.path),
            "name": entry.name,
            "type": "file",
            "size": entry.size,
            "modified_at": _iso(entry.modified_at),
        }
    return {
        "path": str(entry.path),
        "name": entry.name,
        "type": "folder",
        "size": None,
        "modified_at": None,
    }


class Output:
    """Writes results, status lines and errors for one command run."""

    def __init__(self, *, json_mode: bool = False, quiet: bool = False) -> None:
        self.json_mode = json_mode
        self.quiet = quiet

    # Looked up on every call so redirected sys.stdout / sys.stderr are honoured.
    @property
    def stdout(self) -> IO[str]:
        return sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return sys.stderr

    def binary_stdout(self) -> BinaryIO:
        """The raw byte stream behind stdout (for ``cat`` and ``get -``)."""
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is None:  # pragma: no cover - exotic replacement streams
            raise OSError("stdout does not accept bytes")
        out: BinaryIO = buffer
        return out

    @property
    def show_status(self) -> bool:
        """Whether informational lines are wanted (text mode, not quiet)."""
        return not (self.json_mode or self.quiet)

    @property
    def progress_allowed(self) -> bool:
        return not (self.json_mode or self.quiet)

    def line(self, text: str = "") -> None:
        """A result line on stdout (printed even with ``--quiet``)."""
        self.stdout.write(text + "\n")

    def status(self, text: str) -> None:
        """An informational line on stdout; dropped by ``--quiet`` and ``--json``."""
        if self.show_status:
            self.stdout.write(text + "\n")

    def note(self, text: str) -> None:
        """A diagnostic line on stderr; dropped by ``--quiet`` and ``--json``."""
        if self.show_status:
            self.stderr.write(f"storeroom: {text}\n")

    def json(self, data: Any) -> None:
        """One JSON document on stdout."""
        self.stdout.write(json.dumps(mask(data), indent=2, sort_keys=False) + "\n")

    def json_array(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Stream a JSON array on stdout item by item; returns the count."""
        write = self.stdout.write
        count = 0
        write("[")
        for item in items:
            write(",\n  " if count else "\n  ")
            write(json.dumps(mask(item)))
            count += 1
        write("\n]\n" if count else "]\n")
        return count

    def error(self, exc: BaseException, code: int) -> None:
        """Report a failure on stderr: one line, or one JSON document with ``--json``."""
        self.stdout.flush()
        usage = getattr(exc, "usage", None)
        if self.json_mode:
            self.stderr.write(json.dumps(error_payload(exc, code)) + "\n")
            return
        if usage:
            self.stderr.write(usage if usage.endswith("\n") else usage + "\n")
        self.stderr.write(f"storeroom: error: {error_message(exc)}\n")
