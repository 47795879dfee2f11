"""Every python block of docs/conditional-writes.md runs: in page order, one namespace."""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_conditional_writes_page_walkthrough_runs(tmp_path: Path) -> None:
    # spec: COND-001, COND-002, COND-020
    blocks = page_blocks("conditional-writes.md")
    assert len(blocks) >= 5, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="conditional-writes.md")
    assert done.returncode == 0, f"a block of docs/conditional-writes.md failed:\n{done.stderr}"
    assert "PreconditionFailed counter.txt True" in done.stdout
    assert "kept: True" in done.stdout and "deleted: True" in done.stdout
    assert "201" in done.stdout
    assert (work / "data" / "jobs").is_dir()
