"""docs/transactions.md's walkthrough runs on a local folder and prints what the page shows."""

from __future__ import annotations

import re
from pathlib import Path

from page_blocks import ROOT, page_blocks, run_blocks


def test_transactions_page_walkthrough_runs(tmp_path: Path) -> None:
    # spec: TXN-001, TXN-002, TXN-004, TXN-005, TXN-006, TXN-011
    blocks = [b for b in page_blocks("transactions.md") if b.section == "Walkthrough"]
    assert len(blocks) >= 5, "the walkthrough lost its blocks"
    done = run_blocks(blocks, tmp_path, page="transactions.md", timeout=120)
    assert done.returncode == 0, f"a block of docs/transactions.md failed:\n{done.stderr}"
    page = (ROOT / "docs" / "transactions.md").read_text(encoding="utf-8")
    shown = re.findall(r"Prints:\n\n```text\n(.*?)```", page, re.DOTALL)
    assert len(shown) == 5
    position = 0
    for text in shown:  # each printed output appears, in page order
        found = done.stdout.find(text, position)
        assert found >= 0, (text, done.stdout)
        position = found + len(text)
    assert not any((tmp_path / "data" / ".~storeroom-747800000000.tmp").iterdir())
