"""Every python block of docs/crypt.md runs: in page order, one namespace, an empty folder."""

from __future__ import annotations

from pathlib import Path

from page_blocks import page_blocks, run_blocks


def test_crypt_page_walkthrough_runs(tmp_path: Path) -> None:
    # spec: CRYPT-001, CRYPT-016, CRYPT-017
    blocks = page_blocks("crypt.md")
    assert len(blocks) >= 6, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="crypt.md")
    assert done.returncode == 0, f"a block of docs/crypt.md failed:\n{done.stderr}"
    assert "region,total" in done.stdout
    assert "refused: cannot decrypt: chunk 1 failed authentication" in done.stdout
    assert "not found with the wrong password" in done.stdout
    assert "correct horse" not in done.stdout
