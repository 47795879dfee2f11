"""Conformance target ``local+crypt``: the local backend under the rclone-compatible crypt layer.

The whole suite must pass unchanged through encryption (spec CRYPT-007); the
password is declared secret, so the suite also checks it never shows.
No server is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storeroom.testing.conformance import Target, register_target

PASSWORD = "conformance-crypt-password"


def _config(tmp_path: Path) -> Mapping[str, Any]:
    return {
        "type": "local",
        "options": {"root": str(tmp_path)},
        "layers": [{"type": "crypt", "password": PASSWORD, "password2": "conformance-salt"}],
    }


register_target(Target("local+crypt", _config, secrets=(PASSWORD, "conformance-salt")))
