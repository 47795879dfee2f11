"""Options of the ``http`` backend (read-only files under a base URL)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from storeroom._mask import is_secret_header, protect_header
from storeroom.config.frozen import FrozenDict
from storeroom.config.options import BackendOptions
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["HTTPOptions"]

#: Headers the backend sets itself; a configured value would break the protocol.
_RESERVED = frozenset(
    {"host", "range", "content-length", "transfer-encoding", "connection", "accept-encoding"}
)


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"{key}: {message}", key=key)


@dataclasses.dataclass(frozen=True)
class HTTPOptions(BackendOptions):
    """Options of the ``http`` backend.

    ``base_url``: ``http://`` or ``https://`` URL under which keys are looked up
    (``<base_url>/<key>``, each segment percent-encoded); no user name,
    password, query or fragment. ``headers``: sent with every request to the
    base URL's origin (never to another host after a redirect); every value is
    kept as a ``Secret``, and the values of credential headers
    (``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``X-Api-Key`` and
    those named in ``secret_headers``) are masked in every config view too.
    ``timeout``: seconds for connecting and for each socket read. ``retry``:
    retry options; the Registry wraps the backend in that retry layer (the
    backend never retries on its own). ``verify_tls``:
    check the server certificate and host name (default true). ``ca_bundle``:
    a PEM file of trusted CAs instead of the system store. ``max_redirects``:
    redirects followed per request (0 turns following off). ``pool_size``:
    idle keep-alive connections kept per origin. ``http_client``: remote-store's
    transport choice (``urllib``, ``requests``, ``httpx``); accepted and checked,
    while storeroom always uses its own standard-library connection pool.
    """

    base_url: str
    headers: Mapping[str, Any] = dataclasses.field(default_factory=FrozenDict)
    secret_headers: tuple[str, ...] = ()
    timeout: float = 30.0
    retry: Mapping[str, Any] | RetryOptions | None = None
    verify_tls: bool = True
    ca_bundle: str | None = None
    max_redirects: int = 5
    pool_size: int = 10
    http_client: Literal["urllib", "requests", "httpx"] | None = None

    aliases = {"verify_ssl": "verify_tls"}

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url) if isinstance(self.base_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _fail("base_url", "expected an http:// or https:// URL with a host name")
        if parts.username is not None or parts.password is not None:
            # Never echo the URL: it holds a credential.
            raise _fail(
                "base_url",
                "must not contain a user name or password; send credentials with "
                "headers = {Authorization = ...} instead",
            )
        if parts.query or parts.fragment:
            raise _fail("base_url", "must not contain a query (?...) or fragment (#...)")
        try:
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            raise _fail("base_url", "has an invalid port number") from None
        if isinstance(self.secret_headers, str) or not all(
            isinstance(n, str) and n.strip() for n in self.secret_headers
        ):
            raise _fail("secret_headers", "expected a list of header names")
        object.__setattr__(self, "secret_headers", tuple(self.secret_headers))
        clean: dict[str, Secret] = {}
        for name, value in dict(self.headers).items():
            if not isinstance(name, str) or not name or any(c in name for c in ":\r\n "):
                raise _fail("headers", f"invalid header name {name!r}")
            if name.lower() in _RESERVED:
                raise _fail(f"headers.{name}", "is set by the backend and cannot be configured")
            if not isinstance(value, str | Secret):
                raise _fail(f"headers.{name}", f"expected a string, got {type(value).__name__}")
            secret = value if isinstance(value, Secret) else Secret(value)
            if any(c in secret.reveal() for c in "\r\n"):
                raise _fail(f"headers.{name}", "must not contain a line break")
            if is_secret_header(name, self.secret_headers):
                protect_header(secret.reveal())  # its token alone is scrubbed too
            clean[name] = secret
        object.__setattr__(self, "headers", FrozenDict(clean))
        if isinstance(self.timeout, bool) or not self.timeout > 0:
            raise _fail("timeout", "expected a number of seconds above 0")
        if self.retry is not None:
            RetryOptions.coerce(self.retry, where="retry")  # the Registry builds the layer
        if self.max_redirects < 0 or self.max_redirects > 30:
            raise _fail("max_redirects", "expected an integer from 0 to 30")
        if self.pool_size < 1:
            raise _fail("pool_size", "expected an integer of at least 1")
        if self.ca_bundle is not None and not self.ca_bundle.strip():
            raise _fail("ca_bundle", "expected the path of a PEM file, got an empty string")

    @property
    def retry_policy(self) -> RetryOptions | None:
        """The validated ``retry`` option (the Registry builds the retry layer from it)."""
        return None if self.retry is None else RetryOptions.coerce(self.retry, where="retry")

    @classmethod
    def backend_type(cls) -> str:
        return "http"
