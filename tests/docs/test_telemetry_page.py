"""docs/telemetry.md's walkthrough runs: every ```python block, in order, in one namespace.

The blocks run in a fresh interpreter (OpenTelemetry lets a process set its
global providers only once, and the page sets them) in an empty folder, and the
output the page shows is the output they print.
"""

from __future__ import annotations

from pathlib import Path

from page_blocks import ROOT, page_blocks, run_blocks


def test_the_walkthrough_runs(tmp_path: Path) -> None:
    # spec: OTEL-080
    blocks = page_blocks("telemetry.md")
    assert len(blocks) >= 6
    work = tmp_path / "cwd"
    work.mkdir()
    done = run_blocks(blocks, work, page="telemetry.md", timeout=120)
    assert done.returncode == 0, done.stderr
    page = (ROOT / "docs" / "telemetry.md").read_text(encoding="utf-8")
    shown = page.split("Prints:\n\n```text\n", 1)[1].split("```", 1)[0]
    assert shown in done.stdout  # the output printed on the page is the real one
