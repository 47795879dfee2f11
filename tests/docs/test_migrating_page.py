"""docs/migrating-from-remote-store.md: its walkthrough runs, and the README says the same.

The python blocks run in page order, in one namespace, in an empty folder
(``page_blocks.run_blocks``). The README's "Coming from remote-store" section is
the page's "In short" section, word for word (spec COMPAT-120).
"""

from __future__ import annotations

from pathlib import Path

from page_blocks import ROOT, page_blocks, run_blocks

PAGE = "migrating-from-remote-store.md"


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n") + len(heading) + 1
    end = text.index("\n## ", start)
    return " ".join(text[start:end].split())


def test_migrating_page_walkthrough_runs(tmp_path: Path) -> None:
    """spec: COMPAT-120"""
    blocks = page_blocks(PAGE)
    assert len(blocks) >= 5, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page=PAGE)
    assert done.returncode == 0, f"a block of docs/{PAGE} failed:\n{done.stderr}"
    lines = done.stdout.splitlines()
    assert lines[0] == "19 True"  # on_progress saw every byte; the download matches
    assert lines[1] == "('archive/report.csv',) ['missing.csv'] False 2"
    assert lines[2] == "{'in/report.csv': True, 'archive/report.csv': False}"
    assert lines[3] == "sha256 64"
    assert (
        lines[4]
        == "year=2026/month=03/part-0.parquet {'year': '2026', 'month': '03'} part-0.parquet"
    )
    assert lines[6] == "5 0.5 60.0 1.0"  # remote-store's defaults for the names not written
    assert (work / "data" / "reports" / "q1.csv").read_bytes() == b"a,b\n"


def test_readme_promise_matches_the_page_word_for_word() -> None:
    """spec: COMPAT-120"""
    page = (ROOT / "docs" / PAGE).read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    promise = _section(readme, "## Coming from remote-store")
    assert promise == _section(page, "## In short")
    assert "load with the same meaning" in promise and "unchanged" not in promise
