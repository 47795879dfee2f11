"""Run the python blocks of a docs page as a reader would: one shared extractor and runner.

Every page test under ``tests/docs`` uses these two functions, so a page's
walkthrough is parsed and executed the same way everywhere: blocks run in a
fresh interpreter with this tree's ``src`` first on the path, in an empty working
folder, without ``STOREROOM_CONFIG`` or ``STOREROOM__*`` variables (the page
finds its own ``./storeroom.toml`` as a user would), and a failure points at the
page's own line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]

_HEADING = re.compile(r"^## (.+?)\s*$")
_FENCE = re.compile(r"^```(\S*)\s*$")

#: Runs blocks given as JSON ``[[first line index, code], ...]`` in one namespace.
_RUNNER = """
import json, sys
ns = {"__name__": "__main__"}
page, blocks = sys.argv[1], json.load(open(sys.argv[2], encoding="utf-8"))
for line, code in blocks:
    exec(compile("\\n" * line + code, page, "exec"), ns)
"""


class Block(NamedTuple):
    """One fenced python block: the index of its first code line, its h2 section, its code."""

    line: int
    section: str
    code: str


def python_blocks(text: str, name: str = "page") -> list[Block]:
    """The fenced python blocks of a Markdown text, in page order."""
    blocks: list[Block] = []
    heading, lang, start, lines = "", None, 0, []  # lang is None outside a fence
    for number, line in enumerate(text.splitlines()):
        fence = _FENCE.match(line)
        if lang is None and fence:
            lang, start, lines = fence.group(1), number + 1, []
        elif lang is not None and line.rstrip() == "```":
            if lang == "python":
                blocks.append(Block(start, heading, "\n".join(lines) + "\n"))
            lang = None
        elif lang is not None:
            lines.append(line)
        elif match := _HEADING.match(line):
            heading = match.group(1)
    assert lang is None, f"{name}: a fenced block is not closed"
    return blocks


def page_blocks(relative: str) -> list[Block]:
    """The python blocks of ``docs/<relative>``."""
    return python_blocks((ROOT / "docs" / relative).read_text(encoding="utf-8"), relative)


def reader_env() -> dict[str, str]:
    """This process's environment as a reader's: no storeroom config variables, our ``src``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "STOREROOM_CONFIG" and not k.upper().startswith("STOREROOM__")
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(ROOT / "src"), env.get("PYTHONPATH")] if p)
    return env


def run_blocks(
    blocks: list[Block], cwd: Path, *, page: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``blocks`` in order, in one namespace, in a fresh interpreter inside ``cwd``."""
    scratch = cwd.parent / f".{cwd.name}-blocks"
    scratch.mkdir(exist_ok=True)
    (scratch / "blocks.json").write_text(
        json.dumps([[b.line, b.code] for b in blocks]), encoding="utf-8"
    )
    (scratch / "runner.py").write_text(_RUNNER, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(scratch / "runner.py"), f"docs/{page}", str(scratch / "blocks.json")],
        cwd=cwd,
        env=reader_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
