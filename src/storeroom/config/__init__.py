"""Configuration: frozen config model, loaders, env substitution, secrets."""

from storeroom.config.options import BackendOptions
from storeroom.config.secret import Secret, SecretRedactionFilter, is_secret_key, reveal

__all__ = ["BackendOptions", "Secret", "SecretRedactionFilter", "is_secret_key", "reveal"]
