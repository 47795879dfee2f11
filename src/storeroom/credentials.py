"""Credentials that expire, and the shared cache that refreshes them before they do.

``Credentials`` (S3) and ``Token`` (Azure bearer token or SAS) are what a
credential provider returns. ``CredentialSource`` wraps a provider for one
backend: every thread and connection of that backend asks it, and it calls
the provider at most once per refresh, ``margin`` seconds before expiry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from storeroom.config.secret import Secret
from storeroom.errors import ConfigError, PermissionDenied, StoreroomError

__all__ = ["DEFAULT_MARGIN", "CredentialSource", "Credentials", "Token"]

#: Refresh this many seconds before expiry at most (a quarter of the lifetime when shorter).
DEFAULT_MARGIN = 300.0


def _secret(value: Any, name: str) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str) and value:
        return Secret(value)
    raise ConfigError(f"{name}: expected a non-empty string or Secret", key=name)


def _aware(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ConfigError(f"{name}: expected a datetime or None", key=name)
    # A naive datetime is read as UTC (as AWS and Azure SDKs report expiry).
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Credentials:
    """AWS credentials with an optional expiry; secret and token are kept as ``Secret``."""

    access_key_id: str
    secret_access_key: Secret
    session_token: Secret | None = None
    expires_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.access_key_id, str) or not self.access_key_id:
            raise ConfigError("access_key_id: expected a non-empty string", key="access_key_id")
        s = _secret(self.secret_access_key, "secret_access_key")
        object.__setattr__(self, "secret_access_key", s)
        if self.session_token is not None:
            t = _secret(self.session_token, "session_token")
            object.__setattr__(self, "session_token", t)
        object.__setattr__(self, "expires_at", _aware(self.expires_at, "expires_at"))


@dataclasses.dataclass(frozen=True)
class Token:
    """An Azure bearer token or SAS token (a ``Secret``) with an optional expiry."""

    value: Secret
    expires_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _secret(self.value, "value"))
        object.__setattr__(self, "expires_at", _aware(self.expires_at, "expires_at"))


C = TypeVar("C", Credentials, Token)


class CredentialSource(Generic[C]):
    """Thread-safe cache over a provider: fresh credentials, fetched once per refresh.

    ``margin``: refresh when fewer seconds than this remain; ``None`` means
    ``DEFAULT_MARGIN`` or a quarter of the credentials' lifetime, whichever is
    shorter (so credentials that live seconds still last several requests).
    """

    def __init__(
        self, provider: Callable[[], C], kind: type[C], *, margin: float | None, what: str
    ) -> None:
        self._provider: Callable[[], C] = provider
        self._kind: type[C] = kind
        self._margin = margin
        self._what = what
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._current: C | None = None
        self._lifetime = 0.0
        self.calls = 0  # how often the provider was called (observable in tests and logs)

    def __repr__(self) -> str:
        return f"CredentialSource({self._what}, calls={self.calls})"

    def margin(self) -> float:
        """Seconds before expiry at which the current credentials count as stale."""
        if self._margin is not None:
            return self._margin
        return min(DEFAULT_MARGIN, self._lifetime / 4)

    def _stale(self, creds: C | None) -> bool:
        if creds is None:
            return True
        if creds.expires_at is None:
            return False
        left = (creds.expires_at - dt.datetime.now(dt.UTC)).total_seconds()
        return left <= self.margin()

    def current(self) -> C:
        """Credentials valid for more than ``margin()`` seconds (calling the provider if not)."""
        if self._pid != os.getpid():
            # A fork may have copied the lock while another thread held it.
            self._lock, self._pid = threading.Lock(), os.getpid()
        with self._lock:
            creds = self._current
            if self._stale(creds):
                creds = self._fetch()
            assert creds is not None
            return creds

    def _fetch(self) -> C:
        self.calls += 1
        try:
            creds: object = self._provider()
        except StoreroomError:
            raise
        except Exception as exc:
            said = " ".join(str(exc).split())[:300]  # scrubbed of known secrets by the error
            raise PermissionDenied(
                f"{self._what} failed ({type(exc).__name__}: {said}); no fresh credentials",
                hint="check the credential provider; it raised the error named here",
            ) from exc
        if not isinstance(creds, self._kind):
            raise ConfigError(
                f"{self._what}: expected storeroom.credentials.{self._kind.__name__}, "
                f"got {type(creds).__name__}",
                hint=f"return storeroom.credentials.{self._kind.__name__}(...) from the provider",
            )
        now = dt.datetime.now(dt.UTC)
        if creds.expires_at is not None:
            self._lifetime = (creds.expires_at - now).total_seconds()
            if self._lifetime <= 0:
                raise PermissionDenied(
                    f"{self._what} returned credentials that expired at "
                    f"{creds.expires_at.isoformat()}",
                    hint="the provider must return credentials that are still valid",
                )
        self._current = creds
        return creds
