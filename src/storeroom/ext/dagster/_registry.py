"""One Registry per (config file, environment) in a run process, shared and reference-counted.

A resource, an IO manager and a compute log manager naming the same config
file share one Registry (and its connections); the last one to let go closes it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping

from storeroom.config.locate import locate_config
from storeroom.config.model import RegistryConfig
from storeroom.registry import Registry

__all__ = ["Lease", "acquire", "release"]

Lease = tuple[str, str]

_lock = threading.Lock()
_open: dict[Lease, tuple[Registry, int]] = {}


def _lease_key(path: str, env: Mapping[str, str]) -> Lease:
    # the environment overrides may hold secrets: keep only a digest of them
    digest = hashlib.sha256(repr(sorted(env.items())).encode()).hexdigest()
    return (path, digest)


def acquire(config: str | None, env: Mapping[str, str], *, owner: str) -> tuple[Lease, Registry]:
    """The shared Registry for ``config`` (located as the CLI does), ``env`` over ``os.environ``."""
    path = str(locate_config(config or None, explicit_name=f"{owner}(config=...)").resolve())
    key = _lease_key(path, env)
    with _lock:
        if key in _open:
            registry, count = _open[key]
            _open[key] = (registry, count + 1)
            return key, registry
    environ = {**os.environ, **env}
    registry = Registry(RegistryConfig.from_file(path, environ=environ))
    with _lock:
        if key in _open:  # another thread won the race: use its Registry
            other, count = _open[key]
            _open[key] = (other, count + 1)
            registry.close()
            return key, other
        _open[key] = (registry, 1)
    return key, registry


def release(key: Lease) -> None:
    """Give back one lease; the last one closes the Registry."""
    with _lock:
        registry, count = _open.pop(key, (None, 0))
        if registry is not None and count > 1:
            _open[key] = (registry, count - 1)
            return
    if registry is not None:
        registry.close()
