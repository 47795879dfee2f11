"""Configuration: frozen config model, loaders, env substitution, secrets."""

from storeroom.config.env import resolve_env
from storeroom.config.model import (
    BackendConfig,
    LayerConfig,
    RegistryConfig,
    RetryPolicy,
    StoreProfile,
)
from storeroom.config.options import BackendOptions
from storeroom.config.secret import Secret, SecretRedactionFilter, is_secret_key, reveal
from storeroom.layers.retry import RetryOptions

__all__ = [
    "BackendConfig",
    "BackendOptions",
    "LayerConfig",
    "RegistryConfig",
    "RetryOptions",
    "RetryPolicy",
    "Secret",
    "SecretRedactionFilter",
    "StoreProfile",
    "is_secret_key",
    "resolve_env",
    "reveal",
]
