"""The remote-store sections of docs/async.md, docs/layers.md and docs/helpers.md run as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from page_blocks import page_blocks, run_blocks

SECTIONS = {
    "async.md": "remote-store's way: `AsyncStore(backend)` and async backends",
    "layers.md": "remote-store's `cache()`, `observe()` and `ProxyStore`",
    "helpers.md": "remote-store's write helpers, `info()` and `from_yaml`",
}


@pytest.mark.parametrize("page", sorted(SECTIONS))
def test_the_section_runs(page: str, tmp_path: Path) -> None:
    """spec: COMPAT-010, COMPAT-011, COMPAT-012, COMPAT-013, ASYNC-001, ASYNC-052"""
    blocks = [b for b in page_blocks(page) if b.section == SECTIONS[page]]
    assert blocks, f"docs/{page} has no python block under '## {SECTIONS[page]}'"
    work = tmp_path / "cwd"
    work.mkdir()
    done = run_blocks(blocks, work, page=page, timeout=120)
    assert done.returncode == 0, done.stderr
    if page == "layers.md":
        assert done.stdout == "deleting q2.csv\n"
    if page == "helpers.md":
        assert done.stdout == "s3 True\n"
