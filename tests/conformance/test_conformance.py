"""The shipped conformance suite, run against the built-in ``local`` and ``memory`` targets.

Targets are registered by ``storeroom.testing.conformance.targets``; pick one
with ``pytest --storeroom-target=memory``.
"""

from storeroom.testing.conformance import *  # noqa: F403
