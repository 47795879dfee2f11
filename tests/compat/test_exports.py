"""Every public name of remote-store 0.33.0 imports from the same place under storeroom.

The names are read from the installed ``remote_store`` package itself (each
module's ``__all__``), so a name it exports that storeroom lacks fails here.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import remote_store  # noqa: F401 - a dev dependency (pyproject's dev list): always installed

import storeroom

SRC = str(Path(__file__).resolve().parents[2] / "src")

#: Deliberate exceptions (spec COMPAT-002): only remote-store's private internals.
NOT_EXPORTED: dict[str, str] = {}


def remote_modules() -> list[str]:
    """remote-store's public modules: the package, backends, every ext module, aio."""
    import remote_store.ext as ext

    names = ["remote_store", "remote_store.backends", "remote_store.aio"]
    names += ["remote_store.aio.backends", "remote_store.aio.ext.write"]
    names += [f"remote_store.ext.{m.name}" for m in pkgutil.iter_modules(ext.__path__)]
    return [n for n in names if not n.rsplit(".", 1)[-1].startswith("_")]


def remote_names() -> list[tuple[str, str]]:
    pairs = []
    for module in remote_modules():
        mod = importlib.import_module(module)
        for name in mod.__all__:
            pairs.append((module.replace("remote_store", "storeroom", 1), name))
    return pairs


def test_the_enumeration_is_complete() -> None:
    """spec: COMPAT-001"""
    pairs = remote_names()
    modules = {m for m, _ in pairs}
    # every ext module and the async packages are covered, with their names
    assert {"storeroom.ext.dagster", "storeroom.ext.cache", "storeroom.aio.backends"} <= modules
    assert ("storeroom", "RemoteStoreError") in pairs
    assert len(pairs) > 130


@pytest.mark.parametrize(("module", "name"), remote_names(), ids=lambda v: str(v))
def test_every_remote_store_name_imports_from_storeroom(module: str, name: str) -> None:
    """spec: COMPAT-001, COMPAT-002"""
    key = f"{module}:{name}"
    if key in NOT_EXPORTED:
        return
    mod = importlib.import_module(module)
    assert hasattr(mod, name), f"from {module} import {name} fails"
    assert getattr(mod, name) is not None


def test_exception_tables_stay_small_and_honest() -> None:
    """spec: COMPAT-002"""
    assert len(NOT_EXPORTED) <= 5
    every = {f"{m}:{n}" for m, n in remote_names()}
    assert set(NOT_EXPORTED) <= every  # no stale entries


def test_same_object_under_both_names() -> None:
    """spec: COMPAT-003"""
    from storeroom import errors
    from storeroom.ext import cache as cache_mod
    from storeroom.ext import observe as observe_mod
    from storeroom.layers import observe as layer_observe

    assert storeroom.RemoteStoreError is storeroom.StoreroomError is errors.StoreroomError
    assert issubclass(storeroom.NotFound, storeroom.RemoteStoreError)
    assert storeroom.ResourceLocked is errors.ResourceLocked
    assert storeroom.cache is cache_mod.cache
    assert storeroom.CacheStats is cache_mod.CacheStats
    assert storeroom.set_correlation_id is observe_mod.set_correlation_id
    assert observe_mod.set_correlation_id is layer_observe.set_correlation_id
    from storeroom.ext import arrow

    assert arrow.StoreFileSystemHandler is arrow.StoreHandler


def test_resource_locked_is_a_typed_error() -> None:
    """spec: COMPAT-003"""
    err = storeroom.ResourceLocked("file is open elsewhere", path="a.docx", backend="local")
    assert isinstance(err, storeroom.RemoteStoreError)
    assert err.path == "a.docx" and not err.retryable
    try:
        raise err
    except storeroom.RemoteStoreError as caught:
        assert "a.docx" in str(caught)


def test_capability_set() -> None:
    """spec: COMPAT-004"""
    from storeroom import Capability, CapabilitySet, Store
    from storeroom.backends import MemoryBackend

    caps = Store(MemoryBackend()).capabilities
    assert isinstance(caps, CapabilitySet) and isinstance(caps, frozenset)
    assert caps.supports(Capability.READ) and caps.supports("write")
    assert Capability.LIST in caps and len(caps) == len(set(caps))
    only_read = CapabilitySet({Capability.READ})
    only_read.require(Capability.READ)
    with pytest.raises(storeroom.CapabilityNotSupported) as info:
        only_read.require(Capability.WRITE, backend="http")
    assert info.value.capability == "write" and info.value.backend == "http"
    assert "read" in str(info.value)
    assert repr(only_read) == "CapabilitySet({READ})"
    with pytest.raises(AttributeError):
        only_read.extra = 1  # type: ignore[attr-defined]


def test_remote_path_root_and_members() -> None:
    """spec: COMPAT-005"""
    from storeroom import RemotePath

    root = RemotePath.ROOT
    assert isinstance(root, RemotePath) and root == "" and root.as_posix() == "."
    assert RemotePath.from_backend_path(".") is root
    assert RemotePath.from_backend_path("") is root
    p = RemotePath.from_backend_path("a//b/c.txt")
    assert p == "a/b/c.txt" and p.as_posix() == "a/b/c.txt"
    assert (p.name, p.suffix, p.parts) == ("c.txt", ".txt", ("a", "b", "c.txt"))
    assert p.parent == RemotePath("a/b") and RemotePath("a") / "b" == RemotePath("a/b")
    with pytest.raises(storeroom.InvalidPath):
        RemotePath("../x")


def test_info_reports_backends_and_extensions() -> None:
    """spec: COMPAT-006"""
    result = storeroom.info()
    assert result["version"] == storeroom.__version__
    local = result["backends"]["local"]
    assert local == {
        "available": True,
        "extras": None,
        "class": "storeroom.backends.local.backend.LocalBackend",
    }
    assert result["backends"]["s3"]["extras"] == "s3"
    assert result["backends"]["s3"]["available"] is True  # the s3 extra is installed here
    assert set(result["extensions"]) >= {"batch", "cache", "observe", "arrow", "yaml", "dagster"}
    assert result["extensions"]["cache"] == {"available": True, "extras": None}
    assert result["extensions"]["yaml"]["extras"] == "yaml"


def test_info_lists_registered_backends() -> None:
    """spec: COMPAT-006"""
    from storeroom import register_backend
    from storeroom.backends import MemoryBackend

    register_backend("compat-info-test", MemoryBackend, replace=True)
    entry = storeroom.info()["backends"]["compat-info-test"]
    assert entry["available"] is True and entry["class"].endswith("MemoryBackend")


def test_import_storeroom_loads_no_wrapper_or_helper() -> None:
    """spec: COMPAT-007"""
    code = (
        "import storeroom, sys; "
        "print(sorted(m for m in sys.modules if m.startswith(('storeroom.ext', 'storeroom.aio', "
        "'storeroom.proxy', 'storeroom._info', 'asyncio', 'yaml', 'remote_store'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_lazy_names_are_in_all_and_dir() -> None:
    """spec: COMPAT-007"""
    assert {"cache", "observe", "ProxyStore", "info", "upload"} <= set(storeroom.__all__)
    assert "write_with_hash" in dir(storeroom)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        storeroom.nope  # noqa: B018
