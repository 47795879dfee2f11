"""Conformance target ``azure``: Azurite (flat namespace) from ``scripts/services up azure``.

One container per test session; the suite's random ``root_path`` keeps
tests apart inside it. The account key is registered as a secret so the
suite checks it never shows up in messages or reprs.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from services_support import service_env
from storeroom.testing.conformance import Target, register_target

ENV = service_env("azure", "STOREROOM_TEST_AZURE_CONNECTION_STRING")

#: The container every azure test of this session uses (created on first use).
CONTAINER = f"storeroom-{uuid.uuid4().hex[:12]}"


def account_key(connection_string: str) -> str:
    """The ``AccountKey`` field of a connection string."""
    fields = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    return fields["AccountKey"]


def _config(tmp_path: Path) -> dict[str, Any]:
    assert ENV is not None
    return {
        "type": "azure",
        "options": {
            "container": CONTAINER,
            "connection_string": ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"],
            "create_container": True,
        },
    }


if ENV is not None:
    register_target(
        Target(
            "azure",
            _config,
            secrets=(account_key(ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]),),
        )
    )


def _obstore_config(tmp_path: Path) -> dict[str, Any]:
    config = _config(tmp_path)
    config["options"]["engine"] = "obstore"
    return config


if ENV is not None:
    # The same container and Azurite through the obstore engine (spec AZURE-080..089).
    register_target(
        Target(
            "azure-obstore",
            _obstore_config,
            secrets=(account_key(ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]),),
        )
    )
