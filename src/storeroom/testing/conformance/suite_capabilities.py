"""Capability honesty, both ways: undeclared → refused before I/O; declared → it works."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from storeroom.capabilities import ALL_GATES, Capability
from storeroom.errors import CapabilityNotSupported
from storeroom.store import GATES, Store
from storeroom.testing.conformance._helpers import no_calls, paths
from storeroom.testing.conformance._support import (
    ProbeLayer,
    Profile,
    RegistryFactory,
    probe_layer,
    requires,
)
from storeroom.testing.conformance.targets import Target

__all__ = ["CapabilitySuite", "call_gated"]

C = Capability

#: One call of each gated Store method, as a user would make it.
GATED_CALLS: dict[str, Callable[[Store], object]] = {
    "read": lambda s: s.read("f.bin"),
    "read_bytes": lambda s: s.read_bytes("f.bin"),
    "read_text": lambda s: s.read_text("f.bin"),
    "read_seekable": lambda s: s.read_seekable("f.bin"),
    "read_range": lambda s: s.read_range("f.bin", 0, 2),
    "write": lambda s: s.write("f.bin", b"x", overwrite=True),
    "write_text": lambda s: s.write_text("f.bin", "x", overwrite=True),
    "write_atomic": lambda s: s.write_atomic("f.bin", b"x", overwrite=True),
    "open_atomic": lambda s: s.open_atomic("f.bin", overwrite=True).__enter__(),
    "delete": lambda s: s.delete("f.bin"),
    "delete_folder": lambda s: s.delete_folder("d", recursive=True),
    "list_files": lambda s: list(s.list_files(recursive=True)),
    "list_folders": lambda s: list(s.list_folders()),
    "iter_children": lambda s: list(s.iter_children()),
    "glob": lambda s: list(s.glob("**")),
    "move": lambda s: s.move("f.bin", "g.bin"),
    "copy": lambda s: s.copy("f.bin", "g.bin"),
    "get_file_info": lambda s: s.get_file_info("f.bin"),
    "head": lambda s: s.head("f.bin"),
    "get_folder_info": lambda s: s.get_folder_info("d"),
}

#: What the Store derives a gate from: dropping the gate alone would not remove it.
DERIVED_FROM: dict[Capability, frozenset[Capability]] = {
    C.GLOB: frozenset({C.LIST}),
    C.ATOMIC_WRITE: frozenset({C.ATOMIC_MOVE}),
}


def call_gated(store: Store, method: str) -> object:
    """Make one ``method`` call on ``store`` (entering ``open_atomic``)."""
    return GATED_CALLS[method](store)


def _expect_refused(store: Store, method: str) -> None:
    cap = GATES[method]
    assert cap not in store.capabilities
    with no_calls(store.unwrap(ProbeLayer)), pytest.raises(CapabilityNotSupported) as info:
        call_gated(store, method)
    err = info.value
    assert isinstance(err, NotImplementedError)
    assert err.capability == cap.value
    assert err.backend == store.backend.type_name


def _declares(target: Target, profile: Profile) -> bool:
    return target.capabilities is not None


def _smoke(store: Store, method: str) -> None:
    """Exercise ``method`` once and check its visible effect (setup uses WRITE)."""
    data = b"0123456789"
    store.write("d/f.bin", data)
    if method == "read":
        with store.read("d/f.bin") as fh:
            assert fh.read() == data
    elif method == "read_bytes":
        assert store.read_bytes("d/f.bin") == data
    elif method == "read_text":
        assert store.read_text("d/f.bin") == data.decode()
    elif method == "read_seekable":
        with store.read_seekable("d/f.bin") as fh:
            fh.seek(4)
            assert fh.read(2) == b"45"
    elif method == "read_range":
        assert store.read_range("d/f.bin", 2, 5) == b"234"
    elif method == "write":
        store.write("d/g.bin", b"g")
        assert store.is_file("d/g.bin")
    elif method == "write_text":
        store.write_text("d/g.txt", "g")
        assert store.is_file("d/g.txt")
    elif method == "write_atomic":
        store.write_atomic("d/g.bin", b"g")
        assert store.is_file("d/g.bin")
    elif method == "open_atomic":
        with store.open_atomic("d/g.bin") as fh:
            fh.write(b"g")
        assert store.is_file("d/g.bin")
    elif method == "delete":
        store.delete("d/f.bin")
        assert not store.exists("d/f.bin")
    elif method == "delete_folder":
        store.delete_folder("d", recursive=True)
        assert not store.exists("d/f.bin")
    elif method == "list_files":
        assert paths(store.list_files(recursive=True)) == ["d/f.bin"]
    elif method == "list_folders":
        assert paths(store.list_folders()) == ["d"]
    elif method == "iter_children":
        assert paths(store.iter_children("d")) == ["d/f.bin"]
    elif method == "glob":
        assert paths(store.glob("*/*.bin")) == ["d/f.bin"]
    elif method == "move":
        store.move("d/f.bin", "e/f.bin")
        assert store.is_file("e/f.bin") and not store.exists("d/f.bin")
    elif method == "copy":
        store.copy("d/f.bin", "e/f.bin")
        assert store.is_file("e/f.bin") and store.is_file("d/f.bin")
    elif method == "get_file_info":
        assert store.get_file_info("d/f.bin").size == len(data)
    elif method == "head":
        assert store.head("d/f.bin").size == len(data)
    elif method == "get_folder_info":
        assert store.get_folder_info("d").file_count == 1
    else:  # pragma: no cover - GATES and this table must stay in step
        raise AssertionError(f"no smoke test for gated method {method!r}")


class CapabilitySuite:
    """STORE-002: gating before any I/O, and every declared gate really works."""

    # spec: STORE-002
    def test_supports_agrees_with_capabilities(self, store: Store) -> None:
        for cap in Capability:
            assert store.supports(cap) is (cap in store.capabilities)
            assert store.supports(cap.value) is (cap in store.capabilities)
        assert set(GATES.values()) <= ALL_GATES

    # spec: STORE-002
    def test_store_capabilities_are_backend_plus_honest_derivations(self, store: Store) -> None:
        backend = store.backend.capabilities
        assert backend <= store.capabilities
        assert store.capabilities - backend <= {C.GLOB, C.ATOMIC_WRITE}
        if C.LIST in backend:
            assert C.GLOB in store.capabilities
        if {C.WRITE, C.MOVE, C.ATOMIC_MOVE} <= backend:
            assert C.ATOMIC_WRITE in store.capabilities

    # spec: CONF-012
    @requires(when=_declares)
    def test_capabilities_are_as_the_target_declares(self, store: Store, target: Target) -> None:
        assert store.capabilities == target.capabilities

    # spec: STORE-002, CONF-007
    def test_undeclared_gate_is_refused_before_io(
        self, registry_factory: RegistryFactory, lacking_gate_method: str
    ) -> None:
        store = registry_factory.store(layers=[probe_layer()])
        _expect_refused(store, lacking_gate_method)

    # spec: STORE-002, CONF-007
    @pytest.mark.parametrize("method", sorted(GATES))
    def test_narrowed_gate_is_refused_before_io(
        self, registry_factory: RegistryFactory, method: str
    ) -> None:
        cap = GATES[method]
        drop = {cap} | DERIVED_FROM.get(cap, frozenset())
        store = registry_factory.store(layers=[probe_layer(drop=sorted(c.value for c in drop))])
        _expect_refused(store, method)

    # spec: STORE-002, CONF-007
    @requires(C.WRITE)
    def test_declared_gate_works(self, store: Store, declared_gate_method: str) -> None:
        _smoke(store, declared_gate_method)

    # spec: STORE-002
    @requires(C.WRITE, C.READ, C.SEEKABLE_READ)
    def test_seekable_read_flag_means_native_seeking(self, store: Store) -> None:
        store.write("f.bin", b"0123456789")
        with store.read("f.bin") as fh:
            assert fh.seekable()
            fh.seek(7)
            assert fh.read() == b"789"
        with store.read_seekable("f.bin") as fh:
            fh.seek(-3, io.SEEK_END)
            assert fh.read() == b"789"
