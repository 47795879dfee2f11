"""pydantic-settings integration: ``StoreroomSettings`` and ``from_pydantic`` (spec PYD-*).

``StoreroomSettings()`` reads the registry config from the config file, a
``.env`` file and ``STOREROOM__*`` environment variables;
``settings.registry()`` builds the Registry. ``from_pydantic(model)`` turns
any pydantic model with ``backends`` and ``stores`` into a ``RegistryConfig``
(remote-store's name). Needs ``pip install "storeroom[pydantic]"``.
"""

from __future__ import annotations

from typing import Any

try:
    import pydantic_settings  # noqa: F401
except ImportError as _exc:  # spec PYD-002
    from storeroom.errors import ConfigError

    raise ConfigError(
        "storeroom.ext.pydantic needs pydantic-settings, which is not installed",
        hint='pip install "storeroom[pydantic]"',
    ) from _exc

from storeroom.config.model import RegistryConfig
from storeroom.ext.pydantic._settings import StoreroomSettings

__all__ = ["StoreroomSettings", "from_pydantic"]


def from_pydantic(model: Any) -> RegistryConfig:
    """A ``RegistryConfig`` from a pydantic model or settings object (see ``from_pydantic``)."""
    return RegistryConfig.from_pydantic(model)
