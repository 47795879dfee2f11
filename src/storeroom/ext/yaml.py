"""``from_yaml(path)``: a ``RegistryConfig`` from a YAML file (remote-store's, spec COMPAT-014).

The same loader as ``RegistryConfig.from_yaml`` (needs ``storeroom[yaml]``);
like remote-store's, ``${VAR}`` placeholders are left as written unless
``resolve_env_vars=True``.
"""

from __future__ import annotations

import os
from pathlib import Path

from storeroom.config.model import RegistryConfig

__all__ = ["from_yaml"]


def from_yaml(path: str | Path, *, resolve_env_vars: bool = False) -> RegistryConfig:
    """Load the registry config in the YAML file at ``path``."""
    return RegistryConfig.from_yaml(os.fspath(path), resolve_env_vars=resolve_env_vars)
