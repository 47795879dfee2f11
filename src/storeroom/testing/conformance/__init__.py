"""The storeroom backend conformance suite, shipped as a pytest plugin.

Enable the plugin in the rootdir ``conftest.py`` and collect the suites in
one test module::

    # conftest.py
    pytest_plugins = ["storeroom.testing.conformance.plugin"]

    # tests/test_conformance.py
    from storeroom.testing.conformance import *  # noqa: F403

The star import binds ``TestReadWrite``, ``TestPaths``, ... (the suite
classes under pytest's ``Test*`` names); the suite classes themselves are
named ``*Suite`` so importing them elsewhere does not collect them twice.

A third-party backend adds its configuration as a target in ``conftest.py``::

    from storeroom.testing.conformance import Target, register_target

    register_target(Target("mystore", lambda tmp_path: {"type": "mystore", "options": {}}))

and picks it with ``pytest --storeroom-target=mystore`` (or the
``storeroom_targets`` ini option). Requires pytest and hypothesis.
"""

from __future__ import annotations

from storeroom.testing.conformance._support import Profile as Profile
from storeroom.testing.conformance._support import Requirement as Requirement
from storeroom.testing.conformance._support import requires as requires
from storeroom.testing.conformance._support import requires_flat as requires_flat
from storeroom.testing.conformance._support import requires_real_folders as requires_real_folders
from storeroom.testing.conformance.suite_capabilities import CapabilitySuite
from storeroom.testing.conformance.suite_conditional import ConditionalSuite
from storeroom.testing.conformance.suite_errors import ErrorSuite
from storeroom.testing.conformance.suite_listing import GlobSuite, ListingSuite
from storeroom.testing.conformance.suite_metadata import MetadataSuite
from storeroom.testing.conformance.suite_mutation import DeleteSuite, MoveCopySuite
from storeroom.testing.conformance.suite_paths import PathSuite
from storeroom.testing.conformance.suite_property import PropertySuite
from storeroom.testing.conformance.suite_readonly import ReadOnlySuite
from storeroom.testing.conformance.suite_readwrite import (
    AtomicSuite,
    OverwriteSuite,
    ReadWriteSuite,
)
from storeroom.testing.conformance.suite_runtime import ConcurrencySuite, PickleSuite
from storeroom.testing.conformance.suite_stateful import StatefulSuite
from storeroom.testing.conformance.suite_stateful import make_store_machine as make_store_machine
from storeroom.testing.conformance.targets import LOCAL as LOCAL
from storeroom.testing.conformance.targets import MEMORY as MEMORY
from storeroom.testing.conformance.targets import Seeder as Seeder
from storeroom.testing.conformance.targets import Target as Target
from storeroom.testing.conformance.targets import get_target as get_target
from storeroom.testing.conformance.targets import register_target as register_target
from storeroom.testing.conformance.targets import registered_targets as registered_targets
from storeroom.testing.conformance.targets import unregister_target as unregister_target

#: Every suite class, in a stable order.
SUITES = (
    ReadWriteSuite,
    PathSuite,
    OverwriteSuite,
    ListingSuite,
    GlobSuite,
    MoveCopySuite,
    DeleteSuite,
    AtomicSuite,
    MetadataSuite,
    ErrorSuite,
    CapabilitySuite,
    ConcurrencySuite,
    PickleSuite,
    PropertySuite,
    StatefulSuite,
    ReadOnlySuite,
    ConditionalSuite,
)

# pytest collects classes named Test*: these aliases are what `import *` brings in.
TestReadWrite = ReadWriteSuite
TestPaths = PathSuite
TestOverwrite = OverwriteSuite
TestListing = ListingSuite
TestGlob = GlobSuite
TestMoveCopy = MoveCopySuite
TestDelete = DeleteSuite
TestAtomic = AtomicSuite
TestMetadata = MetadataSuite
TestErrors = ErrorSuite
TestCapabilities = CapabilitySuite
TestConcurrency = ConcurrencySuite
TestPickle = PickleSuite
TestProperties = PropertySuite
TestStateful = StatefulSuite
TestReadOnly = ReadOnlySuite
TestConditional = ConditionalSuite

__all__ = [
    "TestAtomic",
    "TestCapabilities",
    "TestConcurrency",
    "TestConditional",
    "TestDelete",
    "TestErrors",
    "TestGlob",
    "TestListing",
    "TestMetadata",
    "TestMoveCopy",
    "TestOverwrite",
    "TestPaths",
    "TestPickle",
    "TestProperties",
    "TestReadOnly",
    "TestReadWrite",
    "TestStateful",
]
