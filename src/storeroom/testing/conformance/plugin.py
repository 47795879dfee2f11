"""The pytest plugin of the conformance suite (spec CONF-001..007).

Enable it in the rootdir ``conftest.py``::

    pytest_plugins = ["storeroom.testing.conformance.plugin"]

and collect the suites in a test module::

    from storeroom.testing.conformance import *  # noqa: F403

Every test that uses the ``target`` fixture (directly or through ``store``,
``registry``, ...) is generated once per selected target that meets its
``requires(...)`` conditions. Targets are chosen with ``--storeroom-target``
(repeatable) or the ``storeroom_targets`` ini option; by default every
registered target runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from storeroom.capabilities import Capability
from storeroom.path import normalize_file
from storeroom.registry import Registry
from storeroom.store import GATES, Store
from storeroom.testing.conformance._support import (
    REQUIRES_MARK,
    Profile,
    RegistryFactory,
    Seed,
    install_probe_layer,
    probe_profile,
    random_root,
    requirement_of,
)
from storeroom.testing.conformance.targets import Target, registered_targets

__all__ = [
    "other_store",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_generate_tests",
    "registry",
    "registry_factory",
    "seed",
    "store",
    "target",
    "target_profile",
]

_NOT_APPLICABLE = "storeroom_not_applicable"
_PROFILES = pytest.StashKey[dict[str, Profile]]()
_SELECTED = pytest.StashKey[list[Target]]()
_UNKNOWN = pytest.StashKey[str]()

install_probe_layer()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("storeroom", "storeroom conformance suite")
    group.addoption(
        "--storeroom-target",
        action="append",
        default=[],
        dest="storeroom_targets",
        metavar="NAME",
        help="run the conformance suite against this target (repeatable; default: all)",
    )
    parser.addini(
        "storeroom_targets",
        type="args",
        default=[],
        help="conformance targets to run when --storeroom-target is not given",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{REQUIRES_MARK}(*capabilities, lacks=(), real_folders=None, persistent=None, "
        "cross_process=None, when=None): generate this conformance test only for targets "
        "that meet it",
    )
    config.addinivalue_line(
        "markers", f"{_NOT_APPLICABLE}: no selected target meets this test's requirements"
    )
    config.addinivalue_line("markers", "conformance: the shared backend conformance suite")
    config.stash[_PROFILES] = {}


def _selected(config: pytest.Config) -> list[Target]:
    if _SELECTED in config.stash:
        return config.stash[_SELECTED]
    known = registered_targets()
    names: list[str] = list(config.getoption("storeroom_targets") or [])
    if not names:
        names = [str(n) for n in config.getini("storeroom_targets")]
    if not names:
        chosen = list(known.values())
    else:
        unknown = [n for n in names if n not in known]
        if unknown:
            # Reported once, after collection (see pytest_collection_modifyitems).
            config.stash[_UNKNOWN] = (
                f"unknown storeroom conformance target(s): {', '.join(unknown)} "
                f"(registered: {', '.join(known) or 'none'}; register one with "
                "storeroom.testing.conformance.register_target in conftest.py)"
            )
        chosen = [known[n] for n in dict.fromkeys(names) if n in known]
    config.stash[_SELECTED] = chosen
    return chosen


def _profile(config: pytest.Config, target: Target) -> Profile:
    cache = config.stash[_PROFILES]
    found = cache.get(target.name)
    if found is None:
        try:
            found = probe_profile(target)
        except Exception as exc:
            raise pytest.UsageError(
                f"storeroom conformance target {target.name!r} could not be built: {exc}"
            ) from exc
        cache[target.name] = found
    return found


def _gate_methods(profile: Profile, *, declared: bool) -> list[str]:
    return [m for m, cap in GATES.items() if (cap in profile.capabilities) is declared]


def _uses_our_target(metafunc: pytest.Metafunc) -> bool:
    """True when ``target`` resolves to this plugin's fixture (not a same-named one)."""
    if "target" not in metafunc.fixturenames:
        return False
    defs = getattr(metafunc, "_arg2fixturedefs", {}).get("target")
    if not defs:
        return True
    return getattr(defs[-1].func, "__module__", __name__) == __name__


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not _uses_our_target(metafunc):
        return
    config = metafunc.config
    requirement = requirement_of(metafunc.definition.iter_markers(REQUIRES_MARK))
    extra = [
        name
        for name in ("lacking_gate_method", "declared_gate_method")
        if name in metafunc.fixturenames
    ]
    argnames = ["target", *extra]
    params: list[Any] = []
    for target in _selected(config):
        profile = _profile(config, target)
        if not requirement.satisfied_by(target, profile):
            continue
        if not extra:
            params.append(pytest.param(target, id=target.name))
            continue
        methods = _gate_methods(profile, declared=extra[0] == "declared_gate_method")
        params.extend(pytest.param(target, m, id=f"{target.name}-{m}") for m in methods)
    if not params:
        blank = (None,) * len(argnames)
        mark = getattr(pytest.mark, _NOT_APPLICABLE)
        params = [pytest.param(*blank, marks=mark, id="no-target")]
    metafunc.parametrize(argnames, params, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _UNKNOWN in config.stash:
        raise pytest.UsageError(config.stash[_UNKNOWN])
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker(_NOT_APPLICABLE) is not None:
            dropped.append(item)
            continue
        callspec = getattr(item, "callspec", None)
        target = callspec.params.get("target") if callspec is not None else None
        if isinstance(target, Target):
            # Marks on pytest.param(...) are only visible per item: check again.
            requirement = requirement_of(item.iter_markers(REQUIRES_MARK))
            if not requirement.satisfied_by(target, _profile(config, target)):
                dropped.append(item)
                continue
            item.add_marker(pytest.mark.conformance)
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Target:
    """The conformance target this test runs against."""
    param = getattr(request, "param", None)
    if not isinstance(param, Target):
        raise pytest.UsageError(
            "the 'target' fixture is parametrized by the storeroom conformance plugin; "
            "enable it with pytest_plugins = ['storeroom.testing.conformance.plugin']"
        )
    return param


@pytest.fixture
def target_profile(request: pytest.FixtureRequest, target: Target) -> Profile:
    """What the target really offers (capabilities, real folders), probed once per run."""
    return _profile(request.config, target)


@pytest.fixture
def registry_factory(target: Target, tmp_path: Path) -> Iterator[RegistryFactory]:
    """Builds extra Registries from the target's config; all closed after the test."""
    factory = RegistryFactory(target, tmp_path)
    yield factory
    factory.close()


@pytest.fixture
def registry(registry_factory: RegistryFactory) -> Registry:
    """A Registry with stores ``s`` and ``t`` on one backend, each at a random root."""
    return registry_factory({"s": random_root(), "t": random_root()})


@pytest.fixture
def store(registry: Registry) -> Store:
    """The store under test: a fresh random root of the target backend."""
    return registry.get_store("s")


@pytest.fixture
def other_store(registry: Registry) -> Store:
    """A second store on the same backend instance, at another random root."""
    return registry.get_store("t")


@pytest.fixture
def seed(target: Target) -> Iterator[Seed]:
    """Put test files into a store: through the target's ``seeder`` when it has one
    (read-only backends), else with ``store.write(..., overwrite=True)`` (spec CONF-015).

    Seeded store roots are removed through the seeder after the test.
    """
    seeder = target.seeder
    roots: set[str] = set()

    def put(store: Store, files: Mapping[str, bytes]) -> None:
        if seeder is None:
            if not store.supports(Capability.WRITE):
                raise pytest.UsageError(
                    f"target {target.name!r} has neither WRITE nor a seeder to place test files"
                )
            for path, data in files.items():
                store.write(path, data, overwrite=True)
            return
        root = store.root_path
        roots.add(root)
        for path, data in files.items():
            rel = normalize_file(path)
            seeder.put(f"{root}/{rel}" if root else rel, bytes(data))

    yield put
    for root in sorted(roots):
        if root and seeder is not None:
            seeder.remove(root)


@pytest.fixture
def lacking_gate_method(request: pytest.FixtureRequest) -> str:
    """A gated Store method whose capability the target does not declare."""
    value: str = request.param
    return value


@pytest.fixture
def declared_gate_method(request: pytest.FixtureRequest) -> str:
    """A gated Store method whose capability the target declares."""
    value: str = request.param
    return value
