"""Finding the registry config file: one resolution order for the CLI and the library.

Order: an explicit path, then ``$STOREROOM_CONFIG``, then ``./storeroom.toml``.
When none applies the ``ConfigError`` names all three places (spec CLI-020,
FSSPEC-003). Nothing here is cached: every call looks again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from storeroom.errors import ConfigError

if TYPE_CHECKING:
    from storeroom.config.model import RegistryConfig

__all__ = ["DEFAULT_FILE", "ENV_VAR", "load_located_config", "locate_config"]

#: The environment variable naming the config file.
ENV_VAR = "STOREROOM_CONFIG"
#: The file looked for in the current directory when nothing else is given.
DEFAULT_FILE = "storeroom.toml"


def locate_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    explicit_name: str = "config=",
) -> Path:
    """The config file to load: ``explicit``, else ``$STOREROOM_CONFIG``, else ``./storeroom.toml``.

    ``explicit_name`` is how the caller spells the explicit choice in the
    error message (``--config`` for the CLI). The file itself is not opened.
    """
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    from_env = env.get(ENV_VAR, "").strip()
    if from_env:
        return Path(from_env)
    default = Path(DEFAULT_FILE)
    if default.is_file():
        return default
    raise ConfigError(
        f"no config file: {explicit_name} was not given, ${ENV_VAR} is not set, "
        f"and there is no ./{DEFAULT_FILE}",
        hint=f"pass {explicit_name} PATH, set {ENV_VAR}=PATH, or create ./{DEFAULT_FILE} "
        "with [backends.<name>] and [stores.<name>] tables",
    )


def load_located_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    explicit_name: str = "config=",
) -> RegistryConfig:
    """Locate (see ``locate_config``) and load, but do not validate, the config file."""
    from storeroom.config.model import RegistryConfig

    path = locate_config(explicit, environ=environ, explicit_name=explicit_name)
    return RegistryConfig.from_file(path, environ=environ)
