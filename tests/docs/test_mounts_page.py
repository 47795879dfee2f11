"""Every python block of docs/mounts.md runs: in page order, one namespace, an empty folder."""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_mounts_page_walkthrough_runs(tmp_path: Path) -> None:
    blocks = page_blocks("mounts.md")
    assert len(blocks) >= 9, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="mounts.md")
    assert done.returncode == 0, f"a block of docs/mounts.md failed:\n{done.stderr}"
    out = done.stdout
    assert "the mounts form a cycle" in out
    assert 'archive/2025.csv - mount "archive/"' in out and "read-only" in out
    assert 'under mount "raw/" → lake:raw, a memory backend' in out
    assert "False False" in out  # the tiers delete reached every tier
    assert (work / "cache" / "model.bin").exists() is False  # deleted from the cache too
    assert "report.txt" in out and "raw/" in out  # the command's listing
    copied = work / "disk" / "notes" / "report-copy.txt"
    assert copied.read_bytes() == b"written through the mount\n"
