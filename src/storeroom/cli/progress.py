"""When the CLI draws a progress bar, and chunked copies; the bars are ``storeroom.ext.progress``.

A bar is drawn on stderr only for transfers larger than 4 MiB, only when
stderr is a terminal, and never with ``--quiet`` or ``--json``. ``rich`` is
used when installed (``storeroom[cli]``) and imported only when a bar is
actually shown; otherwise ``TextProgress`` draws a small text bar. Bytes are
counted by the library's ``ProgressReader`` (spec CLI-050..053, SYNC-060..063).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol

from storeroom.ext.progress import (
    NullProgress,
    ProgressReader,
    RichProgress,
    TextProgress,
    TransferProgress,
)

if TYPE_CHECKING:
    from storeroom.ext.transfer import FileTransfer

__all__ = [
    "CHUNK_SIZE",
    "PROGRESS_THRESHOLD",
    "ProgressReader",
    "TerminalProgress",
    "copy_stream",
    "open_bar",
    "stderr_is_tty",
    "tracked",
]

#: Bytes per read when the command itself moves data.
CHUNK_SIZE = 1024 * 1024
#: Transfers of more than this many bytes get a bar.
PROGRESS_THRESHOLD = 4 * 1024 * 1024


def stderr_is_tty() -> bool:
    """True when stderr is an interactive terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def open_bar(
    label: str, total: int | None, *, enabled: bool = True, files: int = 1
) -> TransferProgress:
    """A started bar for ``total`` bytes, or a ``NullProgress`` when none is wanted."""
    bar: TransferProgress
    if not enabled or total is None or total <= PROGRESS_THRESHOLD or not stderr_is_tty():
        bar = NullProgress()
    else:
        try:
            from rich.console import Console

            console = Console(file=sys.stderr, force_terminal=True)
            bar = RichProgress(console=console, label=label, files_bar=False)
        except ImportError:
            bar = TextProgress(label)
    bar.start(files, total)
    return bar


class TerminalProgress:
    """A ``TransferProgress`` that picks its bar (or none) once the totals are known."""

    def __init__(self, label: str, enabled: bool) -> None:
        self._label = label
        self._enabled = enabled
        self._bar: TransferProgress = NullProgress()

    def start(self, files: int, total_bytes: int | None) -> None:
        label = f"{self._label} ({files} files)"
        self._bar = open_bar(label, total_bytes, enabled=self._enabled, files=files)

    def advance(self, nbytes: int) -> None:
        self._bar.advance(nbytes)

    def file_done(self, result: FileTransfer) -> None:
        self._bar.file_done(result)

    def close(self) -> None:
        self._bar.close()


class _Unclosed:
    """Lets a ``ProgressReader`` be dropped without closing the stream its opener owns."""

    def __init__(self, raw: IO[bytes] | BinaryIO) -> None:
        self.raw = raw

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)

    def close(self) -> None:
        pass


@contextlib.contextmanager
def tracked(
    stream: IO[bytes] | BinaryIO, label: str, total: int | None, *, enabled: bool = True
) -> Iterator[ProgressReader]:
    """``stream`` wrapped in a ``ProgressReader`` feeding a bar for the block's duration."""
    bar = open_bar(label, total, enabled=enabled)
    try:
        yield ProgressReader(_Unclosed(stream), bar.advance)
    finally:
        bar.close()


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def copy_stream(src: Readable, dst: Writable) -> int:
    """Copy ``src`` to ``dst`` in ``CHUNK_SIZE`` pieces; returns the byte count."""
    total = 0
    read, write = src.read, dst.write
    while True:
        chunk = read(CHUNK_SIZE)
        if not chunk:
            return total
        write(chunk)
        total += len(chunk)
