"""Shared fixtures of the pydantic-settings tests: a clean environment in a temp folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """cwd is ``tmp_path``; no ``STOREROOM_CONFIG`` and no ``STOREROOM__*`` variables."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name == "STOREROOM_CONFIG" or name.upper().startswith("STOREROOM__"):
            monkeypatch.delenv(name)
    yield tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


LOCAL_TOML = """
[backends.lake]
type = "local"
options = {{ root = "{root}" }}

[stores.reports]
backend = "lake"
root_path = "reports"
"""
