"""Every remote backend's test server must be present: a missing one fails, never skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services_support import REQUIRED, missing_vars, services_disabled

SERVICE_FILES = sorted(
    p.stem for p in (Path(__file__).parents[1] / "scripts" / "services.d").glob("[a-z]*.sh")
)

pytestmark = pytest.mark.skipif(
    services_disabled(), reason="STOREROOM_TEST_NO_SERVICES is set: server tests not run"
)


@pytest.mark.parametrize("service", sorted(REQUIRED))
def test_service_variables_are_set(service: str) -> None:
    missing = missing_vars(service)
    assert not missing, (
        f"test server {service!r} is expected but {', '.join(missing)} is not set; "
        'run `eval "$(scripts/services up)"` first (or `make test`)'
    )


@pytest.mark.parametrize("service", SERVICE_FILES)
def test_every_service_script_has_targets(service: str) -> None:
    assert service in REQUIRED, (
        f"scripts/services.d/{service}.sh starts a server but no module in "
        "tests/service_targets/ declares its variables with service_env()"
    )


def test_services_listed_by_up_are_known() -> None:
    listed = os.environ.get("STOREROOM_TEST_SERVICES", "").split()
    unknown = sorted(set(listed) - set(SERVICE_FILES))
    assert not unknown, f"STOREROOM_TEST_SERVICES names unknown services: {unknown}"
