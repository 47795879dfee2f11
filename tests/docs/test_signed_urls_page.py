"""docs/signed-urls.md's walkthrough runs against the S3 test server, and prints what it shows.

The page reads the ``STOREROOM_TEST_S3_*`` variables of the moto server (as
a reader who started it would) and uses a bucket the test creates first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from page_blocks import ROOT, page_blocks, run_blocks

BUCKET = "storeroom-docs"


def test_the_walkthrough_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: SIGN-090
    target = sys.modules["storeroom_service_target_s3"]
    if target.ENV is None:
        pytest.fail("the S3 test server is not running (its STOREROOM_TEST_S3_* are unset)")
    target.ensure_bucket(target.ENV, BUCKET)
    monkeypatch.setenv("DOCS_BUCKET", BUCKET)
    blocks = [b for b in page_blocks("signed-urls.md") if b.section == "Walkthrough"]
    assert len(blocks) >= 6  # the opening sketch uses a ``store`` it does not build
    work = tmp_path / "cwd"
    work.mkdir()
    done = run_blocks(blocks, work, page="signed-urls.md", timeout=120)
    assert done.returncode == 0, done.stderr
    page = (ROOT / "docs" / "signed-urls.md").read_text(encoding="utf-8")
    shown = re.findall(r"Prints:\n\n```text\n(.*?)```", page, re.DOTALL)
    assert len(shown) == 5
    position = 0
    for text in shown:  # each printed output appears, in page order
        found = done.stdout.find(text, position)
        assert found >= 0, (text, done.stdout)
        position = found + len(text)
