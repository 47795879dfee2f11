"""Root conftest of storeroom's own tests.

Enables the shipped conformance plugin and loads every module in
``tests/service_targets/``: each registers the conformance target(s) of one
remote backend when its test server's variables are set (see
``services_support.py``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

pytest_plugins = ["storeroom.testing.conformance.plugin"]


def _load_service_targets() -> None:
    for path in sorted((Path(__file__).parent / "service_targets").glob("[a-z]*.py")):
        name = f"storeroom_service_target_{path.stem}"
        if name in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)


_load_service_targets()
