"""Progress reporting for transfers: a counting reader plus an optional bar.

``ProgressReader`` wraps any readable binary stream and reports the
number of bytes read so far, so the same code tracks uploads (the Store
reads the wrapper), downloads and store-to-store copies (we read it).
A bar is drawn on stderr only for transfers larger than 4 MiB, only when
stderr is a terminal, and never with ``--quiet`` or ``--json``. ``rich`` is
used when installed (``storeroom[cli]``) and imported only when a bar is
actually shown; otherwise a small text bar is drawn (spec CLI-050..053).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, BinaryIO, Protocol

__all__ = [
    "CHUNK_SIZE",
    "PROGRESS_THRESHOLD",
    "Bar",
    "NullBar",
    "ProgressReader",
    "TextBar",
    "copy_stream",
    "open_bar",
    "stderr_is_tty",
    "tracked",
]

#: Bytes per read when the command itself moves data.
CHUNK_SIZE = 1024 * 1024
#: Transfers of more than this many bytes get a bar.
PROGRESS_THRESHOLD = 4 * 1024 * 1024


class ProgressReader(io.RawIOBase):
    """Read-through wrapper that counts bytes and calls ``on_progress(done)``.

    ``done`` is the absolute count, so a rewind by ``seek`` (a retry) moves
    the bar back instead of double counting. Closing the wrapper does not
    close the wrapped stream: its opener owns it.
    """

    def __init__(
        self, raw: IO[bytes] | BinaryIO, on_progress: Callable[[int], None] | None = None
    ) -> None:
        super().__init__()
        self._raw = raw
        self._on_progress = on_progress
        self.bytes_read = 0

    def _advance(self, n: int) -> None:
        if n:
            self.bytes_read += n
            if self._on_progress is not None:
                self._on_progress(self.bytes_read)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._advance(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._advance(n)
        return n

    def seekable(self) -> bool:
        try:
            return bool(self._raw.seekable())
        except (AttributeError, ValueError):
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        pos = int(self._raw.seek(offset, whence))
        self.bytes_read = pos
        if self._on_progress is not None:
            self._on_progress(pos)
        return pos

    def tell(self) -> int:
        return int(self._raw.tell())


class Bar(Protocol):
    """What a transfer reports to: the absolute byte count, then ``close``."""

    def update(self, done: int) -> None: ...

    def close(self) -> None: ...


class NullBar:
    """Draws nothing."""

    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class TextBar:
    """A one-line ``\\r`` bar for terminals without ``rich``; redrawn at most 10x/s."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        self._label = label
        self._total = max(total, 1)
        self._stream = stream if stream is not None else sys.stderr
        self._last = 0.0
        self._done = 0
        self._drawn = False

    def _draw(self) -> None:
        frac = min(self._done / self._total, 1.0)
        filled = int(frac * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(
            f"\r{self._label} [{bar}] {frac * 100:5.1f}% "
            f"{_human(self._done)} / {_human(self._total)}"
        )
        self._stream.flush()
        self._drawn = True

    def update(self, done: int) -> None:
        self._done = done
        now = time.monotonic()
        if now - self._last >= 0.1 or done >= self._total:
            self._last = now
            self._draw()

    def close(self) -> None:
        if self._drawn or self._done:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()


class RichBar:
    """A ``rich.progress`` bar on stderr."""

    def __init__(self, label: str, total: int, stream: IO[str] | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        console = Console(file=stream if stream is not None else sys.stderr, force_terminal=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self._task = self._progress.add_task(label, total=total)
        self._progress.start()

    def update(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        self._progress.stop()


def stderr_is_tty() -> bool:
    """True when stderr is an interactive terminal."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def open_bar(label: str, total: int | None, *, enabled: bool = True) -> Bar:
    """A bar for a transfer of ``total`` bytes, or a ``NullBar`` when none is wanted."""
    if not enabled or total is None or total <= PROGRESS_THRESHOLD or not stderr_is_tty():
        return NullBar()
    try:
        return RichBar(label, total)
    except ImportError:
        return TextBar(label, total)


@contextlib.contextmanager
def tracked(
    stream: IO[bytes] | BinaryIO, label: str, total: int | None, *, enabled: bool = True
) -> Iterator[ProgressReader]:
    """``stream`` wrapped in a ``ProgressReader`` feeding a bar for the block's duration."""
    bar = open_bar(label, total, enabled=enabled)
    try:
        yield ProgressReader(stream, bar.update)
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
