"""The ``memory`` package is shaped by role around ``MemoryCore`` (spec MEM-030)."""

from __future__ import annotations

import ast
from pathlib import Path

import storeroom.backends.memory as memory_pkg
from storeroom.backends.memory import MemoryBackend
from storeroom.backends.memory._core import MemoryCore

PACKAGE = Path(memory_pkg.__file__).parent
ROLES = ["_core", "_read", "_write", "_list", "_delete", "_txn"]


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_roles_depend_on_the_core_not_on_the_backend() -> None:
    # spec: MEM-030 (function-level imports count too: no hidden import circle)
    for module in ROLES:
        imported = _imports(module)
        assert "storeroom.backends.memory.backend" not in imported, module
        assert not any("MemoryBackend" in name for name in imported), module
    for module in ROLES[1:]:
        assert "storeroom.backends.memory._core" in _imports(module), module


def test_every_module_stays_under_500_lines() -> None:
    # spec: MEM-030
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert {f"{m}.py" for m in ROLES} <= set(sizes)
    assert max(sizes.values()) < 500, sizes


def test_a_backend_keeps_its_state_in_one_core_of_its_own() -> None:
    # spec: MEM-030, MEM-001
    a, b = MemoryBackend(), MemoryBackend()
    assert isinstance(a._core, MemoryCore) and a._core is not b._core
    assert a._core.options is a.options
    a.write("x/f", b"1")
    txn = a.begin_transaction()
    txn.write("x/g", b"2", overwrite=False, metadata=None)
    assert set(a._core.index) == {"", "x", "x/f"}  # staged, not published
    txn.commit()
    assert set(a._core.index) == {"", "x", "x/f", "x/g"}
    assert set(b._core.index) == {""}
