"""Every python block of docs/data-tools.md runs, one tool per fresh working directory.

The page has a ``## Setup`` section and one section per tool; each tool's blocks
run after the setup blocks in a new process (so ``./storeroom.toml`` is found as a
user would find it, and no fsspec state is shared), and a tool without a block fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from page_blocks import Block, page_blocks, python_blocks, run_blocks

PAGE = "data-tools.md"
TOOLS = ["pandas", "polars", "DuckDB", "PyArrow", "Dask", "Zarr"]
SETUP = "Setup"


def sections(blocks: list[Block]) -> dict[str, list[Block]]:
    """``{h2 heading: [block, ...]}`` in page order (``""``: before the first h2)."""
    out: dict[str, list[Block]] = {}
    for block in blocks:
        out.setdefault(block.section, []).append(block)
    return out


SECTIONS = sections(page_blocks(PAGE))
#: The six tools, plus any other section that has python code (it must run too).
RUNNABLE = TOOLS + sorted(set(SECTIONS) - {*TOOLS, SETUP})


def test_the_page_has_setup_and_a_block_per_tool() -> None:
    missing = [name for name in [SETUP, *TOOLS] if not SECTIONS.get(name)]
    assert not missing, f"{PAGE}: no python block under '## {'/'.join(missing)}'"


def test_the_block_parser() -> None:
    page = "intro\n```python\na = 1\n```\n## X\n```bash\n## not a heading\n```\n```python\nb\n```\n"
    assert python_blocks(page) == [Block(2, "", "a = 1\n"), Block(9, "X", "b\n")]


@pytest.mark.parametrize("section", RUNNABLE)
def test_the_snippets_run(section: str, tmp_path: Path) -> None:
    blocks = SECTIONS.get(section)
    assert blocks, f"{PAGE}: no python block under '## {section}'"
    done = run_blocks([*SECTIONS.get(SETUP, []), *blocks], tmp_path, page=PAGE, timeout=120)
    assert done.returncode == 0, f"'## {section}' failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"'## {section}' printed nothing"
    assert (tmp_path / "data" / "lake").is_dir()  # it wrote into the configured store
