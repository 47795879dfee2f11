"""Conformance targets: which backend configurations the suite runs against.

A ``Target`` names one backend configuration. The suite turns it into a
``RegistryConfig`` with a random ``root_path`` per test, so every test goes
through the same config → Registry → Store path as an application (spec
CONF-002). ``register_target`` adds a target; the built-in ``local`` and
``memory`` targets are registered on import.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from storeroom.capabilities import Capability, capability_set

__all__ = [
    "LOCAL",
    "MEMORY",
    "ConfigFactory",
    "Seeder",
    "Target",
    "get_target",
    "register_target",
    "registered_targets",
    "unregister_target",
]

#: Builds a backend table (``{"type": ..., "options": {...}}``) for one test;
#: the argument is a fresh, empty directory owned by that test.
ConfigFactory = Callable[[Path], Mapping[str, Any]]


@runtime_checkable
class Seeder(Protocol):
    """A side door that puts files where a target's backend reads them (spec CONF-015).

    For read-only backends (``http``), whose Store cannot write its own test
    data. Keys are backend keys: the store's ``root_path`` joined with the
    store-relative path. ``put`` creates or replaces one file; ``remove``
    deletes everything below a prefix (missing is fine).
    """

    def put(self, key: str, data: bytes) -> None: ...

    def remove(self, prefix: str) -> None: ...


@dataclasses.dataclass(frozen=True)
class Target:
    """One backend configuration the conformance suite is run against.

    ``name`` is the test id and the value of ``--storeroom-target``.
    ``config`` returns the backend table for a test, given a private empty
    directory (local-disk backends put their root there; remote backends
    usually ignore it and rely on the suite's random ``root_path``).

    ``capabilities``, when given, is the exact set ``store.capabilities`` must
    report (the Store's derived capabilities included); ``None`` skips that
    check. Tests are always selected from what the store really reports.

    ``persistent``: a second Registry, or an unpickled Store, built from the
    same configuration sees the same files (false for ``memory``, whose
    unpickled copy starts empty). ``cross_process``: that also holds in another
    process (spawned workers get the data); the backend type must then be
    importable in a fresh interpreter (built in, or registered through the
    ``storeroom.backends`` entry point group rather than in ``conftest.py``).

    ``secrets``: plain strings that must never appear in an error message, a
    ``repr`` or a resolution plan (passwords and keys used by ``config``).

    ``seeder``: for targets without WRITE, a ``Seeder`` through which the
    ``seed`` fixture places test files; all reads still go through the
    backend. Targets with WRITE need none (``seed`` then writes through the
    Store).
    """

    name: str
    config: ConfigFactory
    capabilities: frozenset[Capability] | None = None
    persistent: bool = True
    cross_process: bool = True
    secrets: tuple[str, ...] = ()
    seeder: Seeder | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError("Target.name must be a non-empty string")
        if not callable(self.config):
            raise TypeError("Target.config must be callable: (tmp_path) -> backend table")
        if self.capabilities is not None:
            caps: Iterable[Capability | str] = self.capabilities
            object.__setattr__(self, "capabilities", capability_set(caps))
        object.__setattr__(self, "secrets", tuple(self.secrets))
        if self.seeder is not None and not isinstance(self.seeder, Seeder):
            raise TypeError("Target.seeder must have put(key, data) and remove(prefix)")

    def backend_table(self, tmp_path: Path) -> dict[str, Any]:
        """The backend config table for one test, checked for shape."""
        table = dict(self.config(tmp_path))
        if not isinstance(table.get("type"), str):
            raise TypeError(f"target {self.name!r}: config() must return a table with a 'type'")
        return table

    def __repr__(self) -> str:
        return f"Target({self.name!r})"


_TARGETS: dict[str, Target] = {}
_LOCK = threading.Lock()


def register_target(target: Target, *, replace: bool = False) -> Target:
    """Make ``target`` available to the suite (call it in your ``conftest.py``).

    A second target with the same name is an error unless ``replace=True``.
    Returns ``target`` so it can be used as an expression.
    """
    if not isinstance(target, Target):
        raise TypeError(f"register_target() needs a Target, got {type(target).__name__}")
    with _LOCK:
        if not replace and target.name in _TARGETS and _TARGETS[target.name] != target:
            raise ValueError(
                f"a conformance target named {target.name!r} is already registered; "
                "pass replace=True to override it"
            )
        _TARGETS[target.name] = target
    return target


def unregister_target(name: str) -> None:
    """Remove a registered target (no error if it is not registered)."""
    with _LOCK:
        _TARGETS.pop(name, None)


def registered_targets() -> dict[str, Target]:
    """A snapshot of every registered target, in registration order."""
    with _LOCK:
        return dict(_TARGETS)


def get_target(name: str) -> Target:
    """The registered target called ``name``; ``KeyError`` lists the known names."""
    with _LOCK:
        try:
            return _TARGETS[name]
        except KeyError:
            known = ", ".join(_TARGETS) or "none"
            raise KeyError(f"no conformance target {name!r} (registered: {known})") from None


def _local_config(tmp_path: Path) -> Mapping[str, Any]:
    return {"type": "local", "options": {"root": str(tmp_path / "local-root")}}


def _memory_config(tmp_path: Path) -> Mapping[str, Any]:
    return {"type": "memory", "options": {}}


#: The local filesystem backend, rooted in the test's private directory.
LOCAL = register_target(Target("local", _local_config))
#: The in-process memory backend; its data does not survive pickling.
MEMORY = register_target(Target("memory", _memory_config, persistent=False, cross_process=False))
