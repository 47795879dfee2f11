"""The ``sftp`` package's shape (SFTP-090): roles work on one ``SFTPCore``, never on the backend.

Against the private sshd of ``scripts/services``: every role module is driven
with a bare core (no ``SFTPBackend`` built), and the modules are read to check
none reaches into another class's private members.
"""

from __future__ import annotations

import ast
import re
import sys
import uuid
from pathlib import Path

import pytest

from storeroom.errors import AlreadyExists, NotFound
from storeroom.models import FileInfo, FolderEntry

pytest.importorskip("paramiko")

from storeroom.backends.sftp import _delete, _list, _read, _write
from storeroom.backends.sftp._core import SFTPCore
from storeroom.backends.sftp.config import SFTPOptions

PACKAGE = Path(_read.__file__).parent
_target = sys.modules["storeroom_service_target_sftp"]
ENV: dict[str, str] | None = _target.ENV
needs_server = pytest.mark.skipif(ENV is None, reason="sftp test server not running")


@needs_server
def test_role_modules_work_on_a_bare_core() -> None:
    """SFTP-090: write, stat, read, list, move and remove through the core alone."""
    # spec: SFTP-090
    assert ENV is not None
    core = SFTPCore(SFTPOptions.parse(_target.sftp_options(ENV)))
    top = f"t-{uuid.uuid4().hex}"
    try:
        made = _write.write(core, f"{top}/a/b.txt", lambda c: [b"hel", b"lo"], False, "write")
        assert made.size == 5 and str(made.path) == f"{top}/a/b.txt"
        with pytest.raises(AlreadyExists):
            _write.write(core, f"{top}/a/b.txt", lambda c: [b"x"], False, "write")
        info = _read.stat(core, f"{top}/a/b.txt")
        assert isinstance(info, FileInfo) and info.size == 5
        assert _read.exists(core, f"{top}/a/b.txt") and not _read.exists(core, f"{top}/zz")
        assert _read.is_folder(core, f"{top}/a") and not _read.is_folder(core, f"{top}/a/b.txt")
        with _read.open_read(core, f"{top}/a/b.txt", 1, 4) as stream:
            assert stream.read() == b"ell"
        _write.move(core, f"{top}/a/b.txt", f"{top}/c/d.txt", False)
        listed = list(_list.walk(core, top, True, len(top) + 1))
        assert [(type(e), str(e.path)) for e in listed] == [
            (FolderEntry, "a"),
            (FolderEntry, "c"),
            (FileInfo, "c/d.txt"),
        ]
        _delete.delete(core, f"{top}/c/d.txt")
        with pytest.raises(NotFound):
            _read.stat(core, f"{top}/c/d.txt")
        core.ping()
        assert not core.orphans
        assert len(core.pool._idle) <= core.options.pool_size
    finally:
        try:
            _delete.remove_folder(core, top, True)
        finally:
            gone = not _read.exists(core, top)
            core.close()
    assert gone


def test_modules_never_reach_into_the_backend_and_stay_small() -> None:
    """SFTP-090: helper modules depend on the core, not on ``SFTPBackend``; all under 500 lines."""
    # spec: SFTP-090
    modules = sorted(PACKAGE.glob("*.py"))
    assert {"_core.py", "_read.py", "_write.py", "_delete.py", "_list.py"} <= {
        m.name for m in modules
    }
    for module in modules:
        text = module.read_text()
        assert text.count("\n") < 500, module.name
        if module.name in ("backend.py", "__init__.py"):
            continue
        assert "backend._" not in text, module.name
        imported = {
            node.module for node in ast.walk(ast.parse(text)) if isinstance(node, ast.ImportFrom)
        }
        assert "storeroom.backends.sftp.backend" not in imported, module.name
    routes = (PACKAGE / "backend.py").read_text()
    assert "import paramiko" not in routes  # requests are sent by the role modules
    assert re.search(r"\bc(onn)?\.sftp\b", routes) is None
