"""Progress reporting for ``transfer``: the protocol, a callback adapter, tqdm and rich bars.

A transfer calls ``start`` once with the totals, ``advance(n)`` as bytes
move, ``file_done(result)`` as each file ends and ``close`` at the end; the
calls are serialised (never concurrent), so an implementation needs no lock
(spec EXT-070..073). ``tqdm`` and ``rich`` are imported only when their
adapter is built; a missing one is a ``ConfigError`` saying what to install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from storeroom.errors import ConfigError

if TYPE_CHECKING:
    from storeroom.ext.transfer import FileTransfer

__all__ = [
    "CallbackProgress",
    "RichProgress",
    "TqdmProgress",
    "TransferProgress",
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
    """A rich display with a bytes bar and a files bar (rich comes with ``storeroom[cli]``)."""

    def __init__(self, *, console: Any = None, transient: bool = False) -> None:
        try:
            from rich import progress as rp
        except ImportError:
            raise _missing("rich", '"storeroom[cli]"') from None
        self._progress = rp.Progress(
            rp.TextColumn("{task.description}"),
            rp.BarColumn(),
            rp.DownloadColumn(),
            rp.TransferSpeedColumn(),
            rp.TimeRemainingColumn(),
            console=console,
            transient=transient,
        )
        self._bytes: Any = None
        self._files: Any = None

    def start(self, files: int, total_bytes: int | None) -> None:
        self._progress.start()
        self._bytes = self._progress.add_task("bytes", total=total_bytes)
        self._files = self._progress.add_task("files", total=files)

    def advance(self, nbytes: int) -> None:
        if self._bytes is not None:
            self._progress.advance(self._bytes, nbytes)

    def file_done(self, result: FileTransfer) -> None:
        if self._files is not None:
            self._progress.advance(self._files, 1)

    def close(self) -> None:
        self._progress.stop()


def tqdm_progress(**tqdm_kwargs: Any) -> TqdmProgress:
    """A ready-made tqdm adapter (``pip install tqdm``); keyword arguments go to ``tqdm``."""
    return TqdmProgress(**tqdm_kwargs)


def rich_progress(*, console: Any = None, transient: bool = False) -> RichProgress:
    """A ready-made rich adapter (``pip install "storeroom[cli]"``)."""
    return RichProgress(console=console, transient=transient)
