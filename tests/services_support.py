"""Where the test servers started by ``scripts/services up`` are, and what is expected.

``scripts/services up`` prints ``export STOREROOM_TEST_*`` lines that
``make test`` evaluates before running pytest. A target module under
``tests/service_targets/`` calls :func:`service_env` with the variables its
server needs; when they are all set it registers its conformance target(s).
``tests/test_services.py`` then fails, rather than skips, for every service
whose variables are missing, so CI cannot go green without a server. Set
``STOREROOM_TEST_NO_SERVICES=1`` to run only the server-less tests on purpose.
"""

from __future__ import annotations

import os

#: service name -> the environment variables it needs, filled as targets load.
REQUIRED: dict[str, tuple[str, ...]] = {}


def services_disabled() -> bool:
    """True when the developer asked to run without test servers."""
    return os.environ.get("STOREROOM_TEST_NO_SERVICES", "") not in ("", "0")


def service_env(service: str, *names: str) -> dict[str, str] | None:
    """The values of ``names`` for ``service``, or ``None`` if any is unset.

    Records the requirement so ``test_services.py`` can fail loudly for it.
    """
    REQUIRED[service] = names
    if services_disabled():
        return None
    values = {name: os.environ.get(name, "") for name in names}
    if not all(values.values()):
        return None
    return values


def missing_vars(service: str) -> list[str]:
    """The variables of ``service`` that are not set in the environment."""
    return [name for name in REQUIRED.get(service, ()) if not os.environ.get(name)]
