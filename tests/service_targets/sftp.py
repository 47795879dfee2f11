"""Conformance target ``sftp``: the private sshd of ``scripts/services up sftp``.

Host keys are checked strictly against the known_hosts file the service
script writes; the suite's random ``root_path`` keeps tests apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services_support import service_env
from storeroom.testing.conformance.targets import Target, register_target

ENV_NAMES = (
    "STOREROOM_TEST_SFTP_HOST",
    "STOREROOM_TEST_SFTP_PORT",
    "STOREROOM_TEST_SFTP_USER",
    "STOREROOM_TEST_SFTP_KEY",
    "STOREROOM_TEST_SFTP_BASE_PATH",
    "STOREROOM_TEST_SFTP_KNOWN_HOSTS",
)
ENV = service_env("sftp", *ENV_NAMES)


def sftp_options(env: dict[str, str]) -> dict[str, Any]:
    """Backend options for the test server (strict host key checking)."""
    return {
        "host": env["STOREROOM_TEST_SFTP_HOST"],
        "port": int(env["STOREROOM_TEST_SFTP_PORT"]),
        "username": env["STOREROOM_TEST_SFTP_USER"],
        "key_filename": env["STOREROOM_TEST_SFTP_KEY"],
        "base_path": env["STOREROOM_TEST_SFTP_BASE_PATH"],
        "known_hosts": env["STOREROOM_TEST_SFTP_KNOWN_HOSTS"],
        "host_key_policy": "strict",
        "timeout": 10.0,
    }


if ENV is not None:
    _env = ENV

    def _config(tmp_path: Path) -> dict[str, Any]:
        return {"type": "sftp", "options": sftp_options(_env)}

    register_target(Target("sftp", _config))
