"""Refreshing Azure credentials (spec 19-credentials.md).

Azurite here runs over http without ``--oauth``, so bearer tokens cannot
reach it (the SDK refuses token credentials over http). What it does
enforce is a SAS token's expiry (``se``): the SAS tests use account SAS
tokens that live a few seconds, so every request that succeeds after the
first expiry proves the provider's new token was used. Bearer-token
refresh is tested through azure-core's own ``BearerTokenCredentialPolicy``
in a real pipeline against the HTTP test server, which records nothing but
answers; the test reads the ``Authorization`` header each request carried.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from typing import Any

import pytest

pytest.importorskip("azure.storage.blob")

import itertools

from credentials_support import assert_hidden, round_trips, shown

from services_support import service_env
from storeroom import Store
from storeroom.backends.azure.backend import AzureBackend
from storeroom.backends.azure.config import AzureOptions
from storeroom.credentials import CredentialSource, Token
from storeroom.errors import ConfigError, StoreroomError

ENV = service_env("azure", "STOREROOM_TEST_AZURE_CONNECTION_STRING")
HTTP = service_env("http", "STOREROOM_TEST_HTTP_URL")
UTC = dt.UTC
CONTAINER = f"creds-{uuid.uuid4().hex[:10]}"


def _fields() -> dict[str, str]:
    assert ENV is not None
    cs = ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]
    return dict(p.split("=", 1) for p in cs.split(";") if "=" in p)


class SasRotator:
    """Account SAS tokens that expire ``life`` seconds after issue (whole seconds, as ``se``)."""

    def __init__(self, life: int) -> None:
        self.life = life
        self.issued: list[tuple[float, dt.datetime]] = []
        self.lock = threading.Lock()

    def __call__(self) -> Token:
        from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

        f = _fields()
        with self.lock:
            now = dt.datetime.now(UTC).replace(microsecond=0)
            expiry = now + dt.timedelta(seconds=self.life)
            self.issued.append((time.time(), expiry))
        sas = generate_account_sas(
            f["AccountName"],
            f["AccountKey"],
            ResourceTypes(service=True, container=True, object=True),
            AccountSasPermissions(read=True, write=True, list=True, create=True, delete=True),
            expiry=expiry,
        )
        return Token(sas, expires_at=expiry)


def _sas_store(provider: Any, **opts: Any) -> Store:
    backend = AzureBackend(
        CONTAINER,
        account_url=_fields()["BlobEndpoint"],
        sas_token_provider=provider,
        create_container=True,
        **opts,
    )
    return Store(backend, root_path=uuid.uuid4().hex)


needs_azurite = pytest.mark.skipif(ENV is None, reason="no Azurite test server")


# spec: CRED-041
@needs_azurite
def test_azurite_refuses_an_expired_sas() -> None:
    """The control: without refreshing, the same short SAS fails once it expires."""
    rotator = SasRotator(life=2)
    token = rotator()
    store = _sas_store(lambda: token)
    store.write("a.txt", b"a")
    time.sleep(max(0.0, (token.expires_at - dt.datetime.now(UTC)).total_seconds()) + 1.2)
    with pytest.raises(StoreroomError):
        store.read_bytes("a.txt")
    store.close()


# spec: CRED-040, CRED-041, CRED-006
@needs_azurite
def test_rotating_sas_provider_keeps_working_across_expiries() -> None:
    rotator = SasRotator(life=4)
    store = _sas_store(rotator)
    start = time.time()
    ops = round_trips(store, 9.0, threads=3)
    elapsed = time.time() - start
    store.close()
    assert ops > 30
    # Each token was replaced before it expired, once for all threads.
    for (_, expiry), (called, _) in zip(rotator.issued, rotator.issued[1:], strict=False):
        assert called < expiry.timestamp()
    assert 3 <= len(rotator.issued) <= elapsed / 2.0 + 2


# spec: CRED-005, CRED-007
@needs_azurite
def test_sas_provider_secrets_stay_hidden() -> None:
    rotator = SasRotator(life=2)
    tokens: list[str] = []

    def provider() -> Token:
        if len(tokens) >= 2:
            raise PermissionError("token service down")
        token = rotator()
        tokens.append(token.value.reveal())
        return token

    store = _sas_store(provider)
    store.write("a.txt", b"a")
    time.sleep(2.2)
    store.write("b.txt", b"b")
    time.sleep(2.2)
    with pytest.raises(StoreroomError) as info:
        store.read_bytes("a.txt")
    texts = shown(store, info.value)
    store.close()
    assert "token service down" in str(info.value)
    signatures = [t.split("sig=")[1].split("&")[0] for t in tokens]
    assert_hidden([*tokens, *signatures], texts)


# spec: CRED-042
@pytest.mark.skipif(HTTP is None, reason="no HTTP test server")
def test_bearer_token_provider_refreshes_through_the_sdk_policy() -> None:
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy, SansIOHTTPPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    from storeroom.backends.azure._creds import TokenProviderCredential

    assert HTTP is not None
    issued: list[tuple[float, str, float]] = []

    def provider() -> Token:
        now = time.time()
        value = f"bearer-{uuid.uuid4().hex}"
        issued.append((now, value, now + 4))
        return Token(value, expires_at=dt.datetime.fromtimestamp(now + 4, UTC))

    sent: list[tuple[float, str]] = []

    class Record(SansIOHTTPPolicy):  # type: ignore[type-arg]
        def on_request(self, request: Any) -> None:
            sent.append((time.time(), request.http_request.headers["Authorization"]))

    source = CredentialSource(provider, Token, margin=None, what="credential")
    policy = BearerTokenCredentialPolicy(
        TokenProviderCredential(source), "https://storage.azure.com/.default"
    )
    with Pipeline(RequestsTransport(), policies=[policy, Record()]) as pipeline:
        end = time.monotonic() + 9
        while time.monotonic() < end:
            req = HttpRequest("GET", HTTP["STOREROOM_TEST_HTTP_URL"] + "/")
            pipeline.run(req, enforce_https=False)
            time.sleep(0.1)
    expiry = {f"Bearer {v}": exp for _, v, exp in issued}
    assert len(issued) >= 3  # every 3 to 3.5 s (margin: a quarter of 4 s)
    for at, header in sent:
        assert at < expiry[header]  # never sent an expired token
    # Refreshed ahead of expiry: a request that comes after a stall of the loaded test
    # machine may find its token already expired and fetch a new one then, never send it.
    early = [called < exp for (_, _, exp), (called, _, _) in itertools.pairwise(issued)]
    assert any(early), issued


# spec: CRED-040
def test_callable_credential_is_wrapped_and_sdk_objects_pass_through() -> None:
    from azure.core.credentials import AzureNamedKeyCredential

    from storeroom.backends.azure._conn import credential
    from storeroom.backends.azure._creds import TokenProviderCredential

    o = AzureOptions(
        container="c",
        account_url="https://a.blob.core.windows.net",
        credential=lambda: Token("t0ken-value", expires_at=None),
    )
    wrapped = credential(o)
    assert isinstance(wrapped, TokenProviderCredential)
    assert credential(o) is wrapped  # one source per backend (blob and data-lake clients)
    assert wrapped.get_token("s").token == "t0ken-value"
    assert "t0ken-value" not in repr(wrapped) and "t0ken-value" not in repr(o)
    named = AzureNamedKeyCredential("a", "k3y-value")
    assert credential(AzureOptions(container="c", account_name="a", credential=named)) is named


# spec: CRED-040
@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"sas_token_provider": "x"}, "sas_token_provider"),
        ({"sas_token_provider": print, "account_key": "k"}, "sas_token_provider"),
        ({"credential": 42}, "credential"),
        ({"refresh_margin": 5}, "refresh_margin"),
        ({"sas_token_provider": print, "refresh_margin": 0}, "refresh_margin"),
    ],
)
def test_options_are_checked(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        AzureOptions(container="c", account_url="https://a.blob.core.windows.net", **options)
    assert key in str(info.value)
