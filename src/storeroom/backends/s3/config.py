"""Options of the ``s3`` backend (no SDK import here: config loads without the extra)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from storeroom._mask import mask_url, protect_url
from storeroom.config.options import BackendOptions, code_object
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["ENGINES", "MAX_PARTS", "MIN_PART_SIZE", "S3Options", "S3PyArrowOptions"]

MiB = 1024 * 1024
#: S3's limits on multipart uploads.
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-_]*")
#: client_options keys storeroom sets itself and that would break its guarantees.
_RESERVED = frozenset({"key", "secret", "token", "endpoint_url", "use_listings_cache"})
#: Data-path engines: ``s3fs`` (aiobotocore, the default), ``pyarrow`` (Arrow's C++ client)
#: and ``obstore`` (Rust ``object_store``, spec S3-080..).
ENGINES = ("s3fs", "pyarrow", "obstore")


@dataclasses.dataclass(frozen=True)
class S3Options(BackendOptions):
    """Options of the ``s3`` backend.

    ``bucket`` (required) holds every key of this backend. ``endpoint_url``
    points at an S3-compatible store (MinIO, Ceph, moto, ...). ``key`` /
    ``secret`` / ``token`` are static credentials; without them the AWS chain is
    used (environment, ``profile``, shared files, instance roles). ``anon`` sends
    unsigned requests (public buckets). ``connect_timeout`` / ``read_timeout`` are
    seconds per request; ``request_timeout`` bounds one whole request, sending its
    body included (which the other two do not cover: a server that stops reading
    an upload would otherwise hang it); ``None`` lifts it. A timeout is a
    retryable ``BackendUnavailable``.
    ``part_size`` is the first multipart part size (grown as needed to stay under
    10,000 parts); writes up to ``multipart_threshold`` bytes are one PUT.
    ``max_pool_connections`` bounds the HTTP pool. ``client_options`` is passed to
    ``s3fs.S3FileSystem`` (its ``client_kwargs`` and ``config_kwargs`` are merged
    over storeroom's). ``retry``: retry options; the Registry wraps the backend
    in that retry layer (the backend never retries; botocore's retries are off).
    ``use_listings_cache`` must stay false (strong read-after-write).
    ``engine`` picks what moves the bytes of reads and large writes: ``"s3fs"``
    (default), ``"pyarrow"`` (``pyarrow.fs.S3FileSystem``; see spec S3-050..) or
    ``"obstore"`` (``obstore.store.S3Store``; spec S3-080..).
    Refreshing credentials (spec CRED-001..): ``credential_provider`` (code only,
    a callable returning ``storeroom.credentials.Credentials``) or
    ``credential_process`` (a command printing AWS's credential_process JSON);
    ``role_arn`` assumes that role through STS (``sts_endpoint_url``) with the
    base credentials, optionally ``role_session_name``, ``external_id`` and
    ``duration_seconds``. They refresh ``refresh_margin`` seconds before expiry
    (default: 5 minutes or a quarter of the lifetime, whichever is shorter).
    """

    bucket: str
    endpoint_url: str | None = None
    key: Secret | None = None
    secret: Secret | None = None
    token: Secret | None = None
    region_name: str | None = None
    profile: str | None = None
    anon: bool = False
    tls_ca_bundle: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_timeout: float | None = 300.0
    part_size: int = 8 * MiB
    multipart_threshold: int = 8 * MiB
    max_pool_connections: int = 10
    use_listings_cache: bool = False
    reject_write_under_file_ancestor: bool = False
    client_options: Mapping[str, Any] | None = None
    retry: Mapping[str, Any] | RetryOptions | None = None
    engine: str = "s3fs"
    credential_provider: Any = dataclasses.field(
        default=None,
        metadata=code_object(
            "a callable returning storeroom.credentials.Credentials",
            "S3Backend(bucket=..., credential_provider=my_provider)",
        ),
    )
    credential_process: str | None = None
    role_arn: str | None = None
    role_session_name: str | None = None
    external_id: str | None = None
    duration_seconds: int | None = None
    sts_endpoint_url: str | None = None
    refresh_margin: float | None = None

    def __post_init__(self) -> None:
        _check_refreshing(self)
        if self.engine not in ENGINES:
            raise ConfigError(
                f"engine: expected one of {', '.join(map(repr, ENGINES))}, got {self.engine!r}",
                key="engine",
            )
        b = self.bucket.strip() if isinstance(self.bucket, str) else ""
        if not b:
            raise ConfigError("bucket: must name a bucket, got an empty string", key="bucket")
        if not _BUCKET.fullmatch(self.bucket):
            raise ConfigError(
                f"bucket: {self.bucket!r} is not a valid bucket name "
                "(letters, digits, '.', '-', '_'; no '/'; put prefixes in the store's root_path)",
                key="bucket",
            )
        if self.endpoint_url is not None:
            protect_url(self.endpoint_url)  # user information is a credential (CONFIG-035)
            if not re.match(r"https?://", self.endpoint_url):
                raise ConfigError(
                    "endpoint_url: expected an http:// or https:// URL, "
                    f"got {mask_url(self.endpoint_url)!r}",
                    key="endpoint_url",
                )
        if (self.key is None) != (self.secret is None):
            raise ConfigError(
                "key/secret: give both (static credentials) or neither (AWS credential chain)",
                key="key" if self.key is None else "secret",
            )
        for name in ("connect_timeout", "read_timeout"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}: expected a number of seconds > 0", key=name)
        if self.request_timeout is not None and not self.request_timeout > 0:
            raise ConfigError(
                "request_timeout: expected seconds > 0, or null", key="request_timeout"
            )
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ConfigError(
                f"part_size: expected {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes "
                "(S3's multipart limits)",
                key="part_size",
            )
        if not 0 <= self.multipart_threshold <= MAX_PART_SIZE:
            raise ConfigError(
                f"multipart_threshold: expected 0 to {MAX_PART_SIZE} bytes",
                key="multipart_threshold",
            )
        if self.max_pool_connections < 1:
            raise ConfigError("max_pool_connections: expected >= 1", key="max_pool_connections")
        if self.use_listings_cache:
            raise ConfigError(
                "use_listings_cache: must be false; a listings cache would break "
                "read-after-write consistency (use a cache layer for TTL caching instead)",
                key="use_listings_cache",
            )
        if self.client_options:
            clash = sorted(_RESERVED & set(self.client_options))
            if clash:
                raise ConfigError(
                    f"client_options.{clash[0]}: set it as the backend option instead",
                    key=f"client_options.{clash[0]}",
                )
        if self.retry is not None:
            RetryOptions.coerce(self.retry, where="retry")  # the Registry builds the layer

    @classmethod
    def backend_type(cls) -> str:
        return "s3"

    @property
    def retry_policy(self) -> RetryOptions | None:
        """The validated ``retry`` option (the Registry builds the retry layer from it)."""
        return None if self.retry is None else RetryOptions.coerce(self.retry, where="retry")


@dataclasses.dataclass(frozen=True)
class S3PyArrowOptions(S3Options):
    """Options of config type ``s3-pyarrow``: the ``s3`` backend with ``engine = "pyarrow"``."""

    engine: str = "pyarrow"

    def __post_init__(self) -> None:
        if self.engine != "pyarrow":
            raise ConfigError(
                f"engine: type 's3-pyarrow' always uses engine 'pyarrow', got {self.engine!r} "
                "(use type 's3' to choose another engine)",
                key="engine",
            )
        super().__post_init__()

    @classmethod
    def backend_type(cls) -> str:
        return "s3-pyarrow"


_ROLE_ONLY = ("role_session_name", "external_id", "duration_seconds", "sts_endpoint_url")


def _check_refreshing(o: S3Options) -> None:
    """Validate the refreshing-credential options (spec CRED-010..)."""
    if o.credential_provider is not None and not callable(o.credential_provider):
        raise ConfigError(
            "credential_provider: expected a callable returning storeroom.credentials."
            f"Credentials, got {type(o.credential_provider).__name__}",
            key="credential_provider",
        )
    if o.credential_process is not None and not (
        isinstance(o.credential_process, str) and o.credential_process.strip()
    ):
        raise ConfigError(
            "credential_process: expected a command line, e.g. 'aws-vault exec dev --json'",
            key="credential_process",
        )
    given = [n for n in ("credential_provider", "credential_process") if getattr(o, n)]
    if o.key is not None:
        given.append("key")
    if o.profile:
        given.append("profile")
    if len(given) > 1:
        raise ConfigError(
            f"{given[1]}: give one source of base credentials, not both {given[0]} and {given[1]}",
            key=given[1],
        )
    if o.anon and (given or o.role_arn):
        raise ConfigError("anon: unsigned requests take no credentials", key="anon")
    if o.role_arn is not None and not (isinstance(o.role_arn, str) and o.role_arn.strip()):
        raise ConfigError(
            "role_arn: expected a role ARN, e.g. 'arn:aws:iam::123456789012:role/reader'",
            key="role_arn",
        )
    if not o.role_arn:
        for name in _ROLE_ONLY:
            if getattr(o, name) is not None:
                raise ConfigError(f"{name}: only applies with role_arn", key=name)
    if o.duration_seconds is not None and not 900 <= o.duration_seconds <= 43200:
        raise ConfigError(
            "duration_seconds: expected 900 to 43200 (STS AssumeRole's limits)",
            key="duration_seconds",
        )
    if o.sts_endpoint_url is not None:
        protect_url(o.sts_endpoint_url)
        if not re.match(r"https?://", o.sts_endpoint_url):
            raise ConfigError(
                "sts_endpoint_url: expected an http:// or https:// URL, "
                f"got {mask_url(o.sts_endpoint_url)!r}",
                key="sts_endpoint_url",
            )
    refreshing = o.credential_provider or o.credential_process or o.role_arn
    if refreshing and o.client_options and "session" in o.client_options:
        raise ConfigError(
            "client_options.session: refreshing credentials bring their own session; "
            "drop the session or the credential_provider/credential_process/role_arn",
            key="client_options.session",
        )
    if o.refresh_margin is not None:
        if not refreshing:
            raise ConfigError(
                "refresh_margin: only applies with credential_provider, "
                "credential_process or role_arn",
                key="refresh_margin",
            )
        if not o.refresh_margin > 0:
            raise ConfigError("refresh_margin: expected seconds > 0", key="refresh_margin")
