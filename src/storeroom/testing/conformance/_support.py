"""Shared machinery of the conformance suite: requirements, target profiles, the probe layer.

``requires`` records what a test needs; the plugin reads it at collection time
and does not generate the test for targets that lack it (spec CONF-005).
``ProbeLayer`` is a layer (declared in config like any other) that counts the
backend primitives a Store calls, can narrow capabilities, and can inject a
failure: it is how capability gating "before any I/O" and error translation
are checked against every real backend (spec CONF-007).
"""

from __future__ import annotations

import dataclasses
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pytest

from storeroom.backend import Backend, Entry, Forwarding, Source
from storeroom.capabilities import Capability
from storeroom.config.model import RegistryConfig
from storeroom.errors import NotFound
from storeroom.models import WriteResult
from storeroom.registry import Registry, register_layer
from storeroom.store import Store
from storeroom.testing.conformance.targets import Target

__all__ = [
    "PRIMITIVES",
    "PROBE_LAYER",
    "REQUIRES_MARK",
    "ProbeLayer",
    "Profile",
    "RegistryFactory",
    "Requirement",
    "Seed",
    "build_config",
    "probe_profile",
    "requirement_of",
    "requires",
    "requires_flat",
    "requires_real_folders",
]

F = TypeVar("F", bound=Callable[..., Any])
C = Capability

REQUIRES_MARK = "storeroom_requires"
PROBE_LAYER = "storeroom-conformance-probe"

PRIMITIVES = (
    "stat",
    "open_read",
    "write",
    "delete",
    "list",
    "exists",
    "is_folder",
    "copy",
    "move",
    "remove_folder",
    "ping",
)


# -- requirements -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Profile:
    """What a target really offers, read from a Store built from its config.

    ``capabilities`` are the Store's (derivations included);
    ``backend_capabilities`` what the backend itself declares.
    """

    type_name: str
    capabilities: frozenset[Capability]
    real_folders: bool
    backend_capabilities: frozenset[Capability] = frozenset()


Predicate = Callable[[Target, Profile], bool]

#: The ``seed`` fixture: ``seed(store, {path: bytes})`` places files under ``store``.
Seed = Callable[[Store, Mapping[str, bytes]], None]


@dataclasses.dataclass(frozen=True)
class Requirement:
    """Conditions a target must meet for a test to be generated for it."""

    capabilities: frozenset[Capability] = frozenset()
    lacks: frozenset[Capability] = frozenset()
    real_folders: bool | None = None
    persistent: bool | None = None
    cross_process: bool | None = None
    when: tuple[Predicate, ...] = ()

    def merge(self, other: Requirement) -> Requirement:
        def pick(a: bool | None, b: bool | None) -> bool | None:
            return a if b is None else b

        return Requirement(
            self.capabilities | other.capabilities,
            self.lacks | other.lacks,
            pick(self.real_folders, other.real_folders),
            pick(self.persistent, other.persistent),
            pick(self.cross_process, other.cross_process),
            self.when + other.when,
        )

    def satisfied_by(self, target: Target, profile: Profile) -> bool:
        if not self.capabilities <= profile.capabilities:
            return False
        if self.lacks & profile.capabilities:
            return False
        checks = (
            (self.real_folders, profile.real_folders),
            (self.persistent, target.persistent),
            (self.cross_process, target.cross_process),
        )
        if not all(want is None or want == have for want, have in checks):
            return False
        return all(predicate(target, profile) for predicate in self.when)


def requires(
    *capabilities: Capability,
    lacks: Iterable[Capability] = (),
    real_folders: bool | None = None,
    persistent: bool | None = None,
    cross_process: bool | None = None,
    when: Predicate | None = None,
) -> pytest.MarkDecorator:
    """Mark a test (or suite class) with what a target must offer for it to run.

    ``capabilities`` must all be in ``store.capabilities``; ``lacks`` must all
    be missing; ``real_folders``/``persistent``/``cross_process`` must match
    when given; ``when(target, profile)`` must return true. For a target that
    does not meet them the test is not generated at all (deselected at
    collection), so it can never count as a pass.
    """
    lacking = tuple(lacks)
    for cap in (*capabilities, *lacking):
        if not isinstance(cap, Capability):
            raise TypeError(f"requires() takes Capability members, got {cap!r}")
    mark: pytest.MarkDecorator = getattr(pytest.mark, REQUIRES_MARK)(
        *capabilities,
        lacks=lacking,
        real_folders=real_folders,
        persistent=persistent,
        cross_process=cross_process,
        when=when,
    )
    return mark


#: Tests that need folders to exist on their own (local disk, SFTP, HNS Azure).
requires_real_folders = requires(real_folders=True)
#: Tests that describe flat (object store) folder behaviour.
requires_flat = requires(real_folders=False)


def requirement_of(marks: Iterable[pytest.Mark]) -> Requirement:
    """Combine every ``requires`` mark on a test, its class, module and parameters."""
    req = Requirement()
    for mark in marks:
        kw = mark.kwargs
        when = kw.get("when")
        req = req.merge(
            Requirement(
                frozenset(mark.args),
                frozenset(kw.get("lacks", ())),
                kw.get("real_folders"),
                kw.get("persistent"),
                kw.get("cross_process"),
                (when,) if when is not None else (),
            )
        )
    return req


# -- building registries through the real config path -------------------------------


def random_root() -> str:
    """A fresh store root: a random hex name, so tests never see each other's files."""
    return uuid.uuid4().hex


def build_config(
    target: Target,
    tmp_path: Path,
    roots: Mapping[str, str],
    *,
    layers: Iterable[Mapping[str, Any]] = (),
) -> RegistryConfig:
    """A RegistryConfig with one backend ``b`` from ``target`` and one store per root."""
    backend = target.backend_table(tmp_path)
    extra = [dict(layer) for layer in layers]
    if extra:
        backend["layers"] = [*extra, *backend.get("layers", [])]
    stores = {name: {"backend": "b", "root_path": root} for name, root in roots.items()}
    return RegistryConfig.from_dict({"backends": {"b": backend}, "stores": stores})


def probe_profile(target: Target) -> Profile:
    """Build the target once, in a throw-away directory, and read what it offers."""
    with tempfile.TemporaryDirectory(prefix="storeroom-probe-") as tmp:
        config = build_config(target, Path(tmp), {"s": random_root()})
        with Registry(config) as registry:
            store = registry.get_store("s")
            return Profile(
                type_name=store.backend.type_name,
                capabilities=store.capabilities,
                real_folders=store.backend.real_folders,
                backend_capabilities=store.backend.capabilities,
            )


class RegistryFactory:
    """Builds Registries for one test from the target's config; closes them afterwards.

    Each call makes a new Registry (so a new backend instance) with the given
    store roots and extra layers. With ``cleanup``, the roots it created are
    deleted at the end on backends whose data outlives the Registry.
    """

    def __init__(self, target: Target, tmp_path: Path) -> None:
        self.target = target
        self.tmp_path = tmp_path
        self._registries: list[Registry] = []
        self._roots: set[str] = set()

    def __call__(
        self,
        roots: Mapping[str, str] | None = None,
        *,
        layers: Iterable[Mapping[str, Any]] = (),
    ) -> Registry:
        if roots is None:
            roots = {"s": random_root()}
        self._roots.update(r for r in roots.values() if r)
        registry = Registry(build_config(self.target, self.tmp_path, roots, layers=layers))
        self._registries.append(registry)
        return registry

    def store(self, root: str | None = None, *, layers: Iterable[Mapping[str, Any]] = ()) -> Store:
        """A store named ``s`` at ``root`` (random by default) of a new Registry."""
        return self({"s": root if root is not None else random_root()}, layers=layers).get_store(
            "s"
        )

    def close(self) -> None:
        errors: list[BaseException] = []
        if self.target.persistent and self._roots:
            try:
                self._remove_roots()
            except Exception as exc:  # report after closing everything
                errors.append(exc)
        for registry in self._registries:
            try:
                registry.close()
            except Exception as exc:
                errors.append(exc)
        self._registries.clear()
        if errors:
            raise errors[0]

    def _remove_roots(self) -> None:
        with Registry(build_config(self.target, self.tmp_path, {"top": ""})) as registry:
            top = registry.get_store("top")
            if not top.supports(C.DELETE):
                return
            for root in sorted(self._roots):
                top.delete_folder(root, recursive=True, missing_ok=True)


# -- the probe layer --------------------------------------------------------------------


class InjectedFailure(RuntimeError):
    """A non-storeroom exception raised by the probe layer (stands for an SDK error)."""


class ProbeLayer(Forwarding):
    """Counts primitive calls; optionally narrows capabilities and injects failures.

    Options (as given in a ``layers`` config entry): ``drop``, capability names
    to remove; ``fail_on``, a primitive name; ``fail``, what that primitive
    raises: ``"native"`` (an un-mapped ``OSError``), ``"mapped"`` (a
    ``NotFound`` whose ``__cause__`` is the native ``FileNotFoundError``, as a
    backend's error table produces) or ``"runtime"`` (``InjectedFailure``);
    ``token``, a credential-like value the layer keeps and never shows.
    """

    def __init__(
        self,
        inner: Backend,
        *,
        drop: Iterable[str] = (),
        fail_on: str | None = None,
        fail: str = "native",
        token: object = None,
    ) -> None:
        super().__init__(inner)
        self._token = token  # a credential-like option, for the no-secret-leak checks
        dropped = frozenset(Capability(str(name)) for name in drop)
        self.capabilities = inner.capabilities - dropped
        self.fail_on = fail_on
        self.fail = fail
        self.calls: Counter[str] = Counter()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _hit(self, name: str, key: str) -> None:
        self.calls[name] += 1
        if name != self.fail_on:
            return
        if self.fail == "mapped":
            native = FileNotFoundError(2, "No such file or directory")
            raise NotFound("file not found", path=key) from native
        if self.fail == "runtime":
            raise InjectedFailure("injected failure")
        raise OSError(5, "Input/output error (injected)")

    def stat(self, key: str) -> Entry:
        self._hit("stat", key)
        return super().stat(key)

    def open_read(self, key: str, start: int | None = None, end: int | None = None) -> BinaryIO:
        self._hit("open_read", key)
        return super().open_read(key, start, end)

    def write(
        self,
        key: str,
        src: Source,
        *,
        overwrite: bool = False,
        metadata: Mapping[str, str] | None = None,
        atomic: bool = False,
    ) -> WriteResult:
        self._hit("write", key)
        return super().write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)

    def delete(self, key: str) -> None:
        self._hit("delete", key)
        super().delete(key)

    def list(self, prefix: str, *, recursive: bool = False, base: str = "") -> Iterator[Entry]:
        self._hit("list", prefix)
        return super().list(prefix, recursive=recursive, base=base)

    def exists(self, key: str) -> bool:
        self._hit("exists", key)
        return super().exists(key)

    def is_folder(self, key: str) -> bool:
        self._hit("is_folder", key)
        return super().is_folder(key)

    def copy(self, src: str, dst: str, *, overwrite: bool = False) -> WriteResult:
        self._hit("copy", src)
        return super().copy(src, dst, overwrite=overwrite)

    def move(self, src: str, dst: str, *, overwrite: bool = False) -> None:
        self._hit("move", src)
        super().move(src, dst, overwrite=overwrite)

    def remove_folder(self, key: str, *, recursive: bool = False) -> None:
        self._hit("remove_folder", key)
        super().remove_folder(key, recursive=recursive)

    def ping(self) -> None:
        self._hit("ping", "")
        super().ping()


def probe_layer(**options: Any) -> dict[str, Any]:
    """A ``layers`` config entry for ``ProbeLayer``."""
    return {"type": PROBE_LAYER, **options}


def install_probe_layer() -> None:
    """Register ``ProbeLayer`` as a layer type (idempotent)."""
    register_layer(PROBE_LAYER, ProbeLayer, replace=True)
