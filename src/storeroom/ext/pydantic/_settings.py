"""``StoreroomSettings``: the registry configuration as pydantic settings (spec PYD-001..016)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Self

from pydantic import Field, PrivateAttr, ValidationError, field_serializer, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from storeroom.config.model import RegistryConfig
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.ext.pydantic._errors import from_settings_error, from_validation_error
from storeroom.ext.pydantic._sources import Loading, RegistrySource, Without, loading

if TYPE_CHECKING:
    from storeroom.registry import Registry

__all__ = ["StoreroomSettings"]


def _masked(value: Any) -> Any:
    if isinstance(value, Secret):
        return "**********"
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


class StoreroomSettings(BaseSettings):
    """A registry config from the config file, a ``.env`` file and ``STOREROOM__*`` variables.

    Precedence, highest first: constructor arguments, environment, ``.env``,
    pydantic's secrets directory, the config file, defaults. Subclass it to add
    the application's own settings; ``registry()`` builds the ``Registry``.
    """

    model_config = SettingsConfigDict(
        env_prefix="STOREROOM__",
        env_nested_delimiter="__",
        env_file=".env",
        case_sensitive=False,
        extra="ignore",
    )

    backends: dict[str, Any] = Field(
        default_factory=dict, description="Named backends, as the [backends] tables."
    )
    stores: dict[str, Any] = Field(
        default_factory=dict, description="Named stores, as the [stores] tables."
    )

    _registry_config: RegistryConfig = PrivateAttr(default_factory=RegistryConfig)
    _missing: ConfigError | None = PrivateAttr(default=None)

    def __init__(self, *, config: str | os.PathLike[str] | None = None, **values: Any) -> None:
        """Load; ``config`` names the file (else ``$STOREROOM_CONFIG``, else ``storeroom.toml``)."""
        state = Loading(explicit=os.fspath(config) if config is not None else None)
        token = loading.set(state)
        prefix = str(values.get("_env_prefix") or self.model_config.get("env_prefix") or "")
        delimiter = str(
            values.get("_env_nested_delimiter")
            or self.model_config.get("env_nested_delimiter")
            or "__"
        )
        error: ConfigError | None = None
        try:
            super().__init__(**values)
        except ValidationError as exc:
            error = from_validation_error(exc, prefix=prefix, delimiter=delimiter)
        except SettingsError as exc:
            error = from_settings_error(exc, prefix=prefix)
        finally:
            loading.reset(token)
        if error is not None:
            raise error  # outside the handler: the pydantic error (and its input) is not chained
        self._missing = state.missing

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Registry fields from ``RegistrySource``; other fields as pydantic-settings reads them."""
        env_sources = [
            s for s in (dotenv_settings, env_settings) if isinstance(s, EnvSettingsSource)
        ]
        return (
            init_settings,
            Without(env_settings),
            Without(dotenv_settings),
            file_secret_settings,
            RegistrySource(settings_cls, env_sources),
        )

    @model_validator(mode="after")
    def _build_registry_config(self) -> Self:
        """Build and validate the ``RegistryConfig``; keep only its masked form in the fields."""
        state = loading.get()
        config = RegistryConfig.from_dict(
            {"backends": self.backends, "stores": self.stores},
            source=state.source if state is not None else None,
            resolve_env_vars=False,
        )
        config.validate()
        self._registry_config = config
        plain = config.to_dict()  # secrets wrapped, so reprs and dumps never show them
        self.backends = plain["backends"]
        self.stores = plain["stores"]
        return self

    @field_serializer("backends", "stores", when_used="json")
    def _masked_json(self, value: dict[str, Any]) -> Any:
        """JSON dumps show each ``Secret`` as ``**********``, as pydantic shows ``SecretStr``."""
        return _masked(value)

    @property
    def registry_config(self) -> RegistryConfig:
        """The validated, immutable ``RegistryConfig``."""
        return self._registry_config

    def registry(self) -> Registry:
        """A new ``Registry`` from these settings; close it when done (``with ... as reg:``)."""
        from storeroom.registry import Registry

        config = self._registry_config
        missing = self._missing
        if missing is not None and not config.backends and not config.stores:
            prefix = str(self.model_config.get("env_prefix") or "")
            raise ConfigError(
                f"{missing.message}; no {prefix}BACKENDS__* or {prefix}STORES__* "
                "variables are set either",
                hint=missing.hint,
            )
        return Registry(config)
