"""Every python block of docs/settings.md runs: in page order, one namespace, an empty folder.

The blocks run in a fresh interpreter with this tree's ``src`` and an environment
without ``STOREROOM_CONFIG`` or ``STOREROOM__*`` variables, so the page finds its
own ``./storeroom.toml`` and ``.env`` as a user would and its ``os.environ``
changes stay in that process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "settings.md"

_FENCE = re.compile(r"^```(\S*)\s*$")

#: Runs the blocks given as JSON ``[[first line, code], ...]``, each under its page line.
RUNNER = """
import json, sys
ns = {"__name__": "__main__"}
for line, code in json.load(open(sys.argv[1], encoding="utf-8")):
    exec(compile("\\n" * line + code, "docs/settings.md", "exec"), ns)
"""


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line index of the first code line, code)`` of each fenced python block, in order."""
    blocks: list[tuple[int, str]] = []
    lang: str | None = None  # None outside a fence
    start, lines = 0, []
    for number, line in enumerate(text.splitlines()):
        fence = _FENCE.match(line)
        if lang is None and fence:
            lang, start, lines = fence.group(1), number + 1, []
        elif lang is not None and line.rstrip() == "```":
            if lang == "python":
                blocks.append((start, "\n".join(lines) + "\n"))
            lang = None
        elif lang is not None:
            lines.append(line)
    assert lang is None, f"{PAGE.name}: a fenced block is not closed"
    return blocks


def test_settings_page_walkthrough_runs(tmp_path: Path) -> None:
    blocks = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 8, "the walkthrough lost its blocks"
    (tmp_path / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
    (tmp_path / "runner.py").write_text(RUNNER, encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "STOREROOM_CONFIG" and not k.upper().startswith("STOREROOM__")
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH")] if p)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "blocks.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"a block of docs/settings.md failed:\n{done.stderr}"
    assert "storeroom.toml" in done.stdout  # the first block's print ran
    assert "Secret('***')" in done.stdout
    assert (work / "data" / "lake" / "exports" / "x.json").exists()  # and the last block
