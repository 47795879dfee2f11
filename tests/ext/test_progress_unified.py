"""One progress mechanism: the reader and the bars behave alike after a seek (SYNC-060..062)."""

from __future__ import annotations

import io
import sys

import pytest

from storeroom.cli import progress as cli_progress
from storeroom.ext import progress
from storeroom.ext.streams import ProgressReader


def test_one_reader_everywhere() -> None:
    # spec: SYNC-060
    assert progress.ProgressReader is ProgressReader is cli_progress.ProgressReader


@pytest.mark.parametrize("kind", ["text", "rich"])
def test_a_rewound_upload_moves_no_bar_backwards_nor_past_the_total(kind: str) -> None:
    # spec: SYNC-060, SYNC-061
    sink = io.StringIO()
    bar: progress.TransferProgress
    if kind == "rich":
        pytest.importorskip("rich")
        from rich.console import Console

        bar = progress.RichProgress(
            console=Console(file=sink, force_terminal=False), label="up", files_bar=False
        )
    else:
        bar = progress.TextProgress("up", stream=sink)
    bar.start(1, 10)
    reader = ProgressReader(io.BytesIO(b"0123456789"), bar.advance)
    reader.read(6)
    reader.seek(0)  # the retry layer rewinds
    reader.read()
    bar.close()
    if kind == "rich":
        assert isinstance(bar, progress.RichProgress)
        tasks = bar._progress.tasks
        assert [t.description for t in tasks] == ["up"] and tasks[0].completed == 10
    else:
        out = sink.getvalue()
        assert "100.0%" in out and "10 B / 10 B" in out and "120" not in out


def test_rich_shows_binary_units_and_a_files_bar() -> None:
    # spec: SYNC-061
    pytest.importorskip("rich")
    from rich.console import Console

    sink = io.StringIO()
    bar = progress.rich_progress(console=Console(file=sink, force_terminal=True, width=120))
    bar.start(2, 3 * 1024 * 1024)
    bar.advance(3 * 1024 * 1024)
    bar.close()
    assert [t.description for t in bar._progress.tasks] == ["bytes", "files"]
    assert "MiB" in sink.getvalue()


def test_the_cli_opens_a_bar_only_when_wanted(monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: SYNC-062
    big = cli_progress.PROGRESS_THRESHOLD + 1
    term = cli_progress.TerminalProgress("sync x", enabled=True)
    monkeypatch.setattr(cli_progress, "stderr_is_tty", lambda: False)
    term.start(3, big)
    assert isinstance(term._bar, progress.NullProgress)
    monkeypatch.setattr(cli_progress, "stderr_is_tty", lambda: True)
    monkeypatch.setitem(sys.modules, "rich", None)  # as if rich were not installed
    monkeypatch.setitem(sys.modules, "rich.console", None)
    term = cli_progress.TerminalProgress("sync x", enabled=True)
    term.start(3, big)
    assert isinstance(term._bar, progress.TextProgress)
    term._bar._stream = io.StringIO()
