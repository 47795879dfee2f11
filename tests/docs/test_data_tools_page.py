"""Every python block of docs/data-tools.md runs, one tool per fresh working directory.

The page has a ``## Setup`` section and one section per tool; each tool's blocks
run after the setup blocks in a new process (so ``./storeroom.toml`` is found as a
user would find it, and no fsspec state is shared), and a tool without a block fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "data-tools.md"
TOOLS = ["pandas", "polars", "DuckDB", "PyArrow", "Dask", "Zarr"]
SETUP = "Setup"

_HEADING = re.compile(r"^## (.+?)\s*$")
_FENCE = re.compile(r"^```(\S*)\s*$")


def python_blocks(text: str) -> dict[str, list[str]]:
    """``{h2 heading: [python block, ...]}`` in page order (``""``: before the first h2)."""
    sections: dict[str, list[str]] = {}
    heading, lang, lines = "", None, []  # lang is None outside a fence
    for line in text.splitlines():
        fence = _FENCE.match(line)
        if lang is None and fence:
            lang, lines = fence.group(1), []
        elif lang is not None and line.rstrip() == "```":
            if lang == "python":
                sections.setdefault(heading, []).append("\n".join(lines) + "\n")
            lang = None
        elif lang is not None:
            lines.append(line)
        elif match := _HEADING.match(line):
            heading = match.group(1)
    assert lang is None, f"{PAGE.name}: a fenced block is not closed"
    return sections


SECTIONS = python_blocks(PAGE.read_text(encoding="utf-8"))
#: The six tools, plus any other section that has python code (it must run too).
RUNNABLE = TOOLS + sorted(set(SECTIONS) - {*TOOLS, SETUP})


def run_snippet(code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a script (``__name__ == "__main__"``) in ``cwd``, with this tree's src."""
    script = cwd / "snippet.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ)
    env.pop("STOREROOM_CONFIG", None)  # the page relies on ./storeroom.toml
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(ROOT / "src"), env.get("PYTHONPATH", "")] if p
    )
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_page_has_setup_and_a_block_per_tool() -> None:
    missing = [name for name in [SETUP, *TOOLS] if not SECTIONS.get(name)]
    assert not missing, f"{PAGE.name}: no python block under '## {'/'.join(missing)}'"


def test_the_block_parser() -> None:
    page = "intro\n```python\na = 1\n```\n## X\n```bash\n## not a heading\n```\n```python\nb\n```\n"
    assert python_blocks(page) == {"": ["a = 1\n"], "X": ["b\n"]}


@pytest.mark.parametrize("section", RUNNABLE)
def test_the_snippets_run(section: str, tmp_path: Path) -> None:
    blocks = SECTIONS.get(section)
    assert blocks, f"{PAGE.name}: no python block under '## {section}'"
    code = "\n".join([*SECTIONS.get(SETUP, []), *blocks])
    done = run_snippet(code, tmp_path)
    assert done.returncode == 0, f"'## {section}' failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"'## {section}' printed nothing"
    assert (tmp_path / "data" / "lake").is_dir()  # it wrote into the configured store
