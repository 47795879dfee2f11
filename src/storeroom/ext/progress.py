"""Progress reporting, the one mechanism for the library and the CLI.

A transfer or sync calls ``start`` once with the totals, ``advance(n)`` as
bytes move, ``file_done(result)`` as each file ends and ``close`` at the end;
the calls are serialised (never concurrent), so an implementation needs no
lock (spec EXT-070..073). Bytes are counted by ``ProgressReader``, which
reports each byte once: after a ``seek`` back (a retried upload) only bytes
past the furthest point already reported count, so no bar moves backwards or
counts twice (SYNC-060). ``TextProgress`` (no dependency), ``RichProgress``
and ``TqdmProgress`` draw bars; ``tqdm`` and ``rich`` are imported only when
their adapter is built, a missing one is a ``ConfigError`` saying what to
install. The CLI only decides when to draw (a terminal, a big enough
transfer) and draws these (SYNC-061..063).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol

from storeroom.errors import ConfigError
from storeroom.ext.streams import ProgressReader

if TYPE_CHECKING:
    from storeroom.ext.transfer import FileTransfer

__all__ = [
    "CallbackProgress",
    "NullProgress",
    "ProgressReader",
    "RichProgress",
    "TextProgress",
    "TqdmProgress",
    "TransferProgress",
    "human_bytes",
    "rich_progress",
    "tqdm_progress",
]


class TransferProgress(Protocol):
    """What a transfer reports to."""

    def start(self, files: int, total_bytes: int | None) -> None: ...

    def advance(self, nbytes: int) -> None: ...

    def file_done(self, result: FileTransfer) -> None: ...

    def close(self) -> None: ...


class CallbackProgress:
    """Adapts plain callbacks: ``on_bytes(n)`` per chunk, ``on_file(result)`` per file."""

    def __init__(
        self,
        on_bytes: Callable[[int], object] | None = None,
        on_file: Callable[[FileTransfer], object] | None = None,
    ) -> None:
        self._on_bytes = on_bytes
        self._on_file = on_file

    def start(self, files: int, total_bytes: int | None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        if self._on_bytes is not None:
            self._on_bytes(nbytes)

    def file_done(self, result: FileTransfer) -> None:
        if self._on_file is not None:
            self._on_file(result)

    def close(self) -> None:
        pass


def _missing(package: str, install: str) -> ConfigError:
    return ConfigError(
        f"the {package} progress adapter needs {package!r}, which is not installed",
        hint=f"pip install {install}",
    )


class TqdmProgress:
    """A tqdm byte bar; the postfix shows files done / total."""

    def __init__(self, **tqdm_kwargs: Any) -> None:
        import importlib

        try:
            self._tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError:
            raise _missing("tqdm", "tqdm") from None
        self._kwargs = tqdm_kwargs
        self._bar: Any = None
        self._files = 0
        self._total_files = 0

    def start(self, files: int, total_bytes: int | None) -> None:
        opts: dict[str, Any] = {"unit": "B", "unit_scale": True, "unit_divisor": 1024}
        opts.update(self._kwargs)
        self._total_files = files
        self._bar = self._tqdm(total=total_bytes, **opts)

    def advance(self, nbytes: int) -> None:
        if self._bar is not None:
            self._bar.update(nbytes)

    def file_done(self, result: FileTransfer) -> None:
        self._files += 1
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._files}/{self._total_files} files", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class RichProgress:
    """A rich display: a bytes bar (titled ``label``) and, optionally, a files bar.

    rich comes with ``storeroom[cli]``; sizes are shown in binary units (KiB, MiB).
    """

    def __init__(
        self,
        *,
        console: Any = None,
        transient: bool = False,
        label: str = "bytes",
        files_bar: bool = True,
    ) -> None:
        try:
            from rich import progress as rp
        except ImportError:
            raise _missing("rich", '"storeroom[cli]"') from None
        self._progress = rp.Progress(
            rp.TextColumn("{task.description}"),
            rp.BarColumn(),
            rp.DownloadColumn(binary_units=True),
            rp.TransferSpeedColumn(),
            rp.TimeRemainingColumn(),
            console=console,
            transient=transient,
        )
        self._label = label
        self._files_bar = files_bar
        self._bytes: Any = None
        self._files: Any = None

    def start(self, files: int, total_bytes: int | None) -> None:
        self._progress.start()
        self._bytes = self._progress.add_task(self._label, total=total_bytes)
        if self._files_bar:
            self._files = self._progress.add_task("files", total=files)

    def advance(self, nbytes: int) -> None:
        if self._bytes is not None:
            self._progress.advance(self._bytes, nbytes)

    def file_done(self, result: FileTransfer) -> None:
        if self._files is not None:
            self._progress.advance(self._files, 1)

    def close(self) -> None:
        self._progress.stop()


class NullProgress:
    """Reports to nothing."""

    def start(self, files: int, total_bytes: int | None) -> None:
        pass

    def advance(self, nbytes: int) -> None:
        pass

    def file_done(self, result: FileTransfer) -> None:
        pass

    def close(self) -> None:
        pass


def human_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class TextProgress:
    """A one-line ``\\r`` byte bar needing no package; redrawn at most 10 times a second."""

    WIDTH = 30

    def __init__(self, label: str = "", *, stream: IO[str] | None = None) -> None:
        self._label = label
        self._stream = stream
        self._total = 1
        self._done = 0
        self._last = 0.0
        self._drawn = False

    def _draw(self) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        frac = min(self._done / self._total, 1.0)
        filled = int(frac * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        stream.write(
            f"\r{self._label} [{bar}] {frac * 100:5.1f}% "
            f"{human_bytes(self._done)} / {human_bytes(self._total)}"
        )
        stream.flush()
        self._drawn = True

    def start(self, files: int, total_bytes: int | None) -> None:
        self._total = max(total_bytes or 0, 1)

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        now = time.monotonic()
        if now - self._last >= 0.1 or self._done >= self._total:
            self._last = now
            self._draw()

    def file_done(self, result: FileTransfer) -> None:
        pass

    def close(self) -> None:
        if self._drawn or self._done:
            self._draw()
            stream = self._stream if self._stream is not None else sys.stderr
            stream.write("\n")
            stream.flush()


def tqdm_progress(**tqdm_kwargs: Any) -> TqdmProgress:
    """A ready-made tqdm adapter (``pip install tqdm``); keyword arguments go to ``tqdm``."""
    return TqdmProgress(**tqdm_kwargs)


def rich_progress(
    *, console: Any = None, transient: bool = False, label: str = "bytes", files_bar: bool = True
) -> RichProgress:
    """A ready-made rich adapter (``pip install "storeroom[cli]"``)."""
    return RichProgress(console=console, transient=transient, label=label, files_bar=files_bar)
