"""Every python block of docs/sync.md runs: in page order, one namespace, an empty folder."""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_sync_page_walkthrough_runs(tmp_path: Path) -> None:
    # spec: SYNC-001, SYNC-011, SYNC-040
    blocks = page_blocks("sync.md")
    assert len(blocks) >= 7, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="sync.md")
    assert done.returncode == 0, f"a block of docs/sync.md failed:\n{done.stderr}"
    assert "copy index.html (14 bytes, missing)" in done.stdout  # the first block's print
    assert "update index.html (14 bytes, newer)" in done.stdout
    assert (work / "data" / "web" / "public" / "big.bin").stat().st_size == 100_000  # the last
