"""docs/telemetry.md's walkthrough runs: every ```python block, in order, in one namespace.

The blocks run in a fresh interpreter (OpenTelemetry lets a process set its
global providers only once, and the page sets them) in an empty folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "telemetry.md"


def python_blocks(markdown: str) -> list[str]:
    """The bodies of the page's ```python fenced blocks, in order."""
    return re.findall(r"^```python\n(.*?)^```$", markdown, flags=re.DOTALL | re.MULTILINE)


def test_the_walkthrough_runs(tmp_path: Path) -> None:
    # spec: OTEL-080
    blocks = python_blocks(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    script = tmp_path / "walkthrough.py"
    script.write_text("\n\n".join(blocks), encoding="utf-8")
    work = tmp_path / "cwd"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    env.pop("STOREROOM_CONFIG", None)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    shown = PAGE.read_text(encoding="utf-8").split("Prints:\n\n```text\n", 1)[1].split("```", 1)[0]
    assert shown in done.stdout  # the output printed on the page is the real one
