"""The notebooks in ``notebooks/`` run top to bottom, and are committed without outputs.

No Jupyter kernel is needed: a fresh interpreter, started in an empty temporary
directory, executes the code cells in order in one namespace and, like IPython,
evaluates and prints a cell's trailing expression (so what a cell displays is
computed too). A failure names the cell.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from page_blocks import ROOT, reader_env

NOTEBOOKS = ["quickstart.ipynb", "data-tools.ipynb"]

_RUNNER = r"""
import ast, json, sys

cells = [c for c in json.load(open(sys.argv[1], encoding="utf-8"))["cells"]
         if c["cell_type"] == "code"]
namespace = {"__name__": "__main__"}
for number, cell in enumerate(cells, 1):
    source = "".join(cell["source"])
    print(f"--- code cell {number}: {source.splitlines()[0] if source else ''}", flush=True)
    tree = ast.parse(source, filename=f"<code cell {number}>")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"<code cell {number}>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"<code cell {number}>", "eval"),
                     namespace)
        if value is not None:
            print(repr(value))
"""


def code_cells(notebook: dict[str, object]) -> list[dict[str, object]]:
    cells = notebook["cells"]
    assert isinstance(cells, list)
    return [c for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_is_committed_without_outputs(name: str) -> None:
    notebook = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    cells = code_cells(notebook)
    assert cells, f"{name} has no code cell"
    for cell in cells:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_notebook_runs(name: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(ROOT / "notebooks" / name)],
        cwd=tmp_path,
        env=reader_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    assert list(tmp_path.iterdir()) == []  # the notebooks work in their own temp folder
