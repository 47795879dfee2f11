"""Every python block of docs/credentials.md runs: in page order, one namespace, an empty folder.

The S3 part runs against the moto test server, the Azure part against Azurite
(spec 19-credentials.md); both must be configured, as for the backend tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from page_blocks import page_blocks, run_blocks

from services_support import service_env

S3 = service_env("s3", "STOREROOM_TEST_S3_ENDPOINT")
AZURE = service_env("azure", "STOREROOM_TEST_AZURE_CONNECTION_STRING")


@pytest.mark.skipif(S3 is None or AZURE is None, reason="needs the S3 and Azure test servers")
def test_credentials_page_walkthrough_runs(tmp_path: Path) -> None:
    blocks = page_blocks("credentials.md")
    assert len(blocks) >= 6, "the walkthrough lost its blocks"
    work = tmp_path / "work"
    work.mkdir()
    done = run_blocks(blocks, work, page="credentials.md", timeout=120)
    assert done.returncode == 0, f"a block of docs/credentials.md failed:\n{done.stderr}"
    calls = [line for line in done.stdout.splitlines() if line.startswith("provider calls:")]
    assert calls and int(calls[0].split(":")[1]) >= 3  # renewed across expiries
    assert "north,12" in done.stdout  # credential_process from storeroom.toml worked
    assert "written as the role" in done.stdout  # role_arn through moto's STS
    sas = [line for line in done.stdout.splitlines() if line.startswith("SAS tokens issued:")]
    assert sas and int(sas[0].split(":")[1]) >= 2
    for planted in ("example-secret-not-real", "example-session-token", "process-secret"):
        assert planted not in done.stdout  # the printed repr(store) shows no secret
