"""Every python block of docs/settings.md runs: in page order, one namespace, an empty folder.

The page finds its own ``./storeroom.toml`` and ``.env`` as a user would, and its
``os.environ`` changes stay in the fresh interpreter (``page_blocks.run_blocks``).
"""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_settings_page_walkthrough_runs(tmp_path: Path) -> None:
    blocks = page_blocks("settings.md")
    assert len(blocks) >= 8, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="settings.md")
    assert done.returncode == 0, f"a block of docs/settings.md failed:\n{done.stderr}"
    assert "storeroom.toml" in done.stdout  # the first block's print ran
    assert "Secret('***')" in done.stdout
    assert (work / "data" / "lake" / "exports" / "x.json").exists()  # and the last block
