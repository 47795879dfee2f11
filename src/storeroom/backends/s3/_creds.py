"""Refreshing credentials of the ``s3`` backend: provider, ``credential_process``, ``role_arn``.

One ``CredentialSource`` per backend is shared by every lane (and the pyarrow
engine); each lane's aiobotocore session holds botocore's own
``AioDeferredRefreshableCredentials`` whose refresh asks that source, so the
signing path refreshes exactly as botocore does for its own providers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from storeroom.backends.s3.config import S3Options
from storeroom.config.secret import Secret, reveal
from storeroom.credentials import Credentials, CredentialSource
from storeroom.errors import BackendUnavailable, PermissionDenied

__all__ = ["aio_credentials", "credential_source", "profile_keys", "refreshing"]

#: Expiry given to botocore for credentials that never expire.
_FOREVER = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


def refreshing(opts: S3Options) -> bool:
    """True when ``opts`` asks for refreshing credentials (provider, process or role)."""
    return bool(opts.credential_provider or opts.credential_process or opts.role_arn)


def _from_metadata(meta: dict[str, Any]) -> Credentials:
    """botocore's credential metadata as ``Credentials`` (the secrets wrapped at once)."""
    expiry = meta.get("expiry_time")
    if isinstance(expiry, str):
        expiry = dt.datetime.fromisoformat(expiry.replace("Z", "+00:00"))
    token = meta.get("token")
    return Credentials(
        access_key_id=meta["access_key"],
        secret_access_key=Secret(meta["secret_key"]),
        session_token=Secret(token) if token else None,
        expires_at=expiry,
    )


def _process(command: str) -> Credentials:
    """Run ``credential_process`` once through botocore's own runner and parser."""
    import botocore.credentials as bc  # type: ignore[import-untyped]
    import botocore.exceptions as bx  # type: ignore[import-untyped]

    runner = bc.ProcessProvider("storeroom", dict)
    try:
        meta = runner._retrieve_credentials_using(command)
    except (bx.CredentialRetrievalError, OSError, ValueError) as exc:
        # botocore's message carries the command's stderr: shown scrubbed of every
        # known secret and shortened, and not chained (the raw text could hold more).
        said = " ".join(str(exc).split())[:300]
        raise PermissionDenied(
            f"credential_process failed ({type(exc).__name__}: {said})",
            backend="s3",
            hint="run the command by hand: it must exit 0 and print AWS's JSON "
            "(Version 1, AccessKeyId, SecretAccessKey, SessionToken, Expiration)",
        ) from None
    return _from_metadata(meta)


def _botocore_creds(source: CredentialSource[Credentials] | None, opts: S3Options) -> Any:
    """Base credentials for assume-role: the source, static key/secret, or the AWS chain."""
    import botocore.credentials as bc
    import botocore.session  # type: ignore[import-untyped]

    if source is not None:
        return bc.DeferredRefreshableCredentials(lambda: metadata(source), "storeroom")
    if opts.key is not None:
        return bc.Credentials(reveal(opts.key), reveal(opts.secret), reveal(opts.token))
    creds = botocore.session.Session(profile=opts.profile).get_credentials()
    if creds is None:
        raise PermissionDenied(
            "role_arn: no base AWS credentials to assume the role with",
            backend="s3",
            hint="set key/secret, a profile, AWS_* variables, credential_process "
            "or credential_provider",
        )
    return creds


def _assume_role(opts: S3Options, base: CredentialSource[Credentials] | None) -> Any:
    """A fetch function assuming ``opts.role_arn`` with botocore's AssumeRoleCredentialFetcher."""
    import botocore.config  # type: ignore[import-untyped]
    import botocore.credentials as bc
    import botocore.session

    session = botocore.session.Session(profile=opts.profile)
    region = opts.region_name or "us-east-1"
    endpoint = opts.sts_endpoint_url

    # One attempt per call (the retry layer owns retrying), the backend's timeouts.
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=opts.connect_timeout,
        read_timeout=opts.read_timeout,
    )

    def client_creator(service: str, **kwargs: Any) -> Any:
        kwargs.setdefault("region_name", region)
        kwargs["config"] = config
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        return session.create_client(service, **kwargs)

    extra: dict[str, Any] = {}
    if opts.role_session_name:
        extra["RoleSessionName"] = opts.role_session_name
    if opts.external_id is not None:
        extra["ExternalId"] = reveal(opts.external_id)
    if opts.duration_seconds is not None:
        extra["DurationSeconds"] = opts.duration_seconds
    # Its cache window equals the largest margin, so each fetch our source asks for is new.
    window = int(opts.refresh_margin if opts.refresh_margin is not None else 300) + 1
    fetcher = bc.AssumeRoleCredentialFetcher(
        client_creator,
        _botocore_creds(base, opts),
        opts.role_arn,
        extra_args=extra,
        expiry_window_seconds=window,
    )

    def fetch() -> Credentials:
        import botocore.exceptions as bx

        try:
            return _from_metadata(fetcher.fetch_credentials())
        except bx.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "ClientError")
            raise PermissionDenied(
                f"role_arn: STS AssumeRole failed ({code})",
                backend="s3",
                hint="check role_arn, the role's trust policy, external_id and sts_endpoint_url",
            ) from exc
        except (bx.ConnectionError, bx.HTTPClientError) as exc:
            raise BackendUnavailable(
                f"role_arn: could not reach STS ({type(exc).__name__})",
                backend="s3",
                hint="check sts_endpoint_url and the network; retry later",
            ) from exc
        except bx.BotoCoreError as exc:
            raise PermissionDenied(
                f"role_arn: STS AssumeRole failed ({type(exc).__name__})",
                backend="s3",
                hint="check sts_endpoint_url, the network and the base credentials",
            ) from exc

    return fetch


def credential_source(opts: S3Options) -> CredentialSource[Credentials] | None:
    """The backend's shared source of refreshing credentials, or ``None`` (static/chain)."""
    if not refreshing(opts):
        return None
    base: CredentialSource[Credentials] | None = None
    if opts.credential_provider is not None:
        base = CredentialSource(
            opts.credential_provider,
            Credentials,
            margin=opts.refresh_margin,
            what="credential_provider",
        )
    elif opts.credential_process:
        command = opts.credential_process
        base = CredentialSource(
            lambda: _process(command),
            Credentials,
            margin=opts.refresh_margin,
            what="credential_process",
        )
    if not opts.role_arn:
        return base
    return CredentialSource(
        _assume_role(opts, base), Credentials, margin=opts.refresh_margin, what="role_arn"
    )


def metadata(source: CredentialSource[Credentials]) -> dict[str, Any]:
    """The source's current credentials in botocore's metadata form."""
    creds = source.current()
    token = creds.session_token
    return {
        "access_key": creds.access_key_id,
        "secret_key": reveal(creds.secret_access_key),
        "token": reveal(token) if token is not None else None,
        "expiry_time": (creds.expires_at or _FOREVER).isoformat(),
    }


def aio_credentials(source: CredentialSource[Credentials]) -> Any:
    """botocore's refreshable credentials for one aiobotocore session, backed by ``source``.

    botocore refreshes at its advisory timeout (a failed refresh keeps the old
    credentials) and must at its mandatory one; both follow the source's margin.
    """
    from aiobotocore.credentials import (  # type: ignore[import-untyped]
        AioDeferredRefreshableCredentials,
    )

    box: list[Any] = []

    async def refresh() -> dict[str, Any]:
        meta = metadata(source)
        margin = source.margin()
        box[0]._advisory_refresh_timeout = margin
        box[0]._mandatory_refresh_timeout = margin / 2
        return meta

    creds = AioDeferredRefreshableCredentials(refresh_using=refresh, method="storeroom")
    box.append(creds)
    return creds


def profile_keys(profile: str, access: str, secret: str) -> dict[str, Any]:
    """Static keys of an AWS ``profile`` (resolved once by botocore) under the given names."""
    import botocore.session

    creds = botocore.session.Session(profile=profile).get_credentials()
    if creds is None:
        return {}
    frozen = creds.get_frozen_credentials()
    out = {access: frozen.access_key, secret: frozen.secret_key}
    if frozen.token:
        out["session_token"] = frozen.token
    return out
