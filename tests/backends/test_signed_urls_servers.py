"""Signed URLs against the real test servers: moto (S3), Azurite (Azure) and the HTTP server.

Every URL is used with a plain ``urllib.request``, as a client without
storeroom or credentials would. moto checks neither signatures nor expiry, so
the S3 URLs are also verified here with an independent SigV4 computation;
Azurite enforces both, so expiry and tampering are checked by requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from every_backend import registry_on
from storeroom import Capability, Store
from storeroom.aio import AsyncStore
from storeroom.backends.azure.backend import AzureBackend
from storeroom.backends.s3.backend import S3Backend
from storeroom.errors import CapabilityNotSupported, ConfigError
from storeroom.layers import ObserveLayer, ReadOnlyLayer

S3_SECRET = os.environ.get("STOREROOM_TEST_S3_SECRET", "")
AZURE_CONN = os.environ.get("STOREROOM_TEST_AZURE_CONNECTION_STRING", "")
HTTP_URL = os.environ.get("STOREROOM_TEST_HTTP_URL", "")


def fetch(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    """``(status, body)`` of one plain urllib request (an HTTP error is a status too)."""
    method = "PUT" if data is not None else "GET"
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# PUT bodies: S3 ignores the Azure header; moto needs a binary content type (a form
# content type makes its web framework consume the body); Azure needs the blob type.
PUT_HEADERS = {"Content-Type": "application/octet-stream", "x-ms-blob-type": "BlockBlob"}


@pytest.fixture(params=["s3", "azure", "s3-obstore", "azure-obstore"])
def signing_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with registry_on(request.param, tmp_path) as registry:
        yield registry.get_store("s")


def test_a_get_url_downloads_the_file_with_plain_urllib(signing_store: Store) -> None:
    # spec: SIGN-050, SIGN-060
    store = signing_store
    assert store.supports(Capability.SIGNED_URL)
    store.write("reports/q1 data.csv", b"a,b\n1,2\n")
    url = store.url("reports/q1 data.csv", expires=120)
    assert fetch(url) == (200, b"a,b\n1,2\n")


def test_a_put_url_uploads_bytes_that_read_bytes_returns(signing_store: Store) -> None:
    # spec: SIGN-051, SIGN-061
    store = signing_store
    url = store.url("in/upload.bin", method="PUT", expires=dt.timedelta(minutes=5))
    payload = bytes(range(256)) * 64
    status, _ = fetch(url, data=payload, headers=PUT_HEADERS)
    assert status in (200, 201)
    assert store.read_bytes("in/upload.bin") == payload
    again = store.url("in/upload.bin", method="PUT")  # a PUT URL replaces the file
    assert fetch(again, data=b"second", headers=PUT_HEADERS)[0] in (200, 201)
    assert store.read_bytes("in/upload.bin") == b"second"


def test_a_get_url_of_a_missing_file_is_signed_and_answers_404(signing_store: Store) -> None:
    # spec: SIGN-005
    url = signing_store.url("never/written.txt")
    assert fetch(url)[0] == 404


def test_a_get_url_works_through_layers(tmp_path: Path) -> None:
    # spec: SIGN-020, SIGN-021, SIGN-040
    layers = [{"type": "retry"}, {"type": "cache"}, {"type": "observe", "record": 50}]
    with registry_on("s3", tmp_path, layers=[*layers, {"type": "readonly"}]) as registry:
        store = registry.get_store("s")
        Store(registry.get_backend("b"), store.root_path).write("l.txt", b"layered")
        url = store.url("l.txt")
        assert fetch(url) == (200, b"layered")
        with pytest.raises(CapabilityNotSupported) as err:
            store.url("l.txt", method="PUT")
        assert "read-only" in str(err.value)
        recorder = store.unwrap(ObserveLayer).recorder
        assert recorder is not None
        (event,) = recorder.of("signed_url")
        signature = dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]
        assert event.ok and signature not in repr(event)


# -- S3: moto serves any URL, so the signature is checked here ---------------------


def sigv4_signature(url: str, method: str, secret: str) -> str:
    """The SigV4 query signature ``url`` should carry for ``method`` (AWS's documented steps)."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    params = dict(pairs)
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(pairs)
        if k != "X-Amz-Signature"
    )
    canonical = "\n".join(
        [method, parts.path, query, f"host:{parts.netloc}\n", "host", "UNSIGNED-PAYLOAD"]
    )
    scope = params["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            params["X-Amz-Date"],
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_s3_urls_are_sigv4_signed_for_their_method_and_lifetime(tmp_path: Path) -> None:
    # spec: SIGN-052, SIGN-053
    with registry_on("s3", tmp_path) as registry:
        store = registry.get_store("s")
        for method, expires in (("GET", 60), ("PUT", 604800)):
            url = store.url("a/b c.txt", method=method, expires=expires)
            params = dict(parse_qsl(urlsplit(url).query))
            assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
            assert params["X-Amz-Expires"] == str(expires)
            signed_at = dt.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            assert abs((now - signed_at).total_seconds()) < 60
            assert urlsplit(url).path.endswith(f"/{store.root_path}/a/b%20c.txt")
            assert params["X-Amz-Signature"] == sigv4_signature(url, method, S3_SECRET)
            other = "PUT" if method == "GET" else "GET"  # the method is part of the signature
            assert params["X-Amz-Signature"] != sigv4_signature(url, other, S3_SECRET)


def test_s3_signing_sends_no_request(tmp_path: Path) -> None:
    # spec: SIGN-052
    backend = S3Backend(
        bucket=f"never-created-{uuid.uuid4().hex[:8]}",
        endpoint_url="http://127.0.0.1:9",  # nothing listens: any request would fail
        key="k",
        secret="s",
        region_name="eu-west-1",
    )
    url = Store(backend).url("x.txt", expires=10)
    assert url.startswith("http://127.0.0.1:9/") and "X-Amz-Credential=k%2F" in url
    assert "eu-west-1" in url


def test_anonymous_s3_cannot_sign() -> None:
    # spec: SIGN-053
    backend = S3Backend(bucket="public", endpoint_url="http://127.0.0.1:9", anon=True)
    assert Capability.SIGNED_URL not in Store(backend).capabilities
    with pytest.raises(CapabilityNotSupported):
        Store(backend).url("x.txt")


def test_a_readonly_layer_on_s3_refuses_put_at_the_primitive(tmp_path: Path) -> None:
    # spec: SIGN-021
    with registry_on("s3", tmp_path) as registry:
        layer = ReadOnlyLayer(registry.get_backend("b"))
        assert "X-Amz-Signature" in layer.signed_url("a.txt", 60, "GET")
        with pytest.raises(CapabilityNotSupported):
            layer.signed_url("a.txt", 60, "PUT")


def test_async_store_url_downloads(tmp_path: Path) -> None:
    # spec: SIGN-007
    with registry_on("s3", tmp_path) as registry:
        store = registry.get_store("s")
        store.write("async.txt", b"from a coroutine")

        async def sign() -> str:
            return await AsyncStore(store).url("async.txt", expires=60)

        assert fetch(asyncio.run(sign())) == (200, b"from a coroutine")


# -- Azure: Azurite enforces signatures, permissions and expiry --------------------


def test_an_expired_azure_url_is_refused(tmp_path: Path) -> None:
    # spec: SIGN-062
    with registry_on("azure", tmp_path) as registry:
        store = registry.get_store("s")
        store.write("short.txt", b"brief")
        url = store.url("short.txt", expires=1)
        time.sleep(3)  # the SAS expiry has whole seconds
        status, body = fetch(url)
        assert status == 403 and b"AuthorizationFailure" in body
        assert fetch(store.url("short.txt", expires=60)) == (200, b"brief")


def test_azure_urls_grant_only_their_method_and_only_unaltered(tmp_path: Path) -> None:
    # spec: SIGN-063
    with registry_on("azure", tmp_path) as registry:
        store = registry.get_store("s")
        store.write("fixed.txt", b"original")
        get_url = store.url("fixed.txt")
        assert "sp=r&" in get_url
        assert fetch(get_url, data=b"overwrite", headers=PUT_HEADERS)[0] == 403
        tampered = get_url.replace("sig=", "sig=AA", 1)
        assert fetch(tampered)[0] == 403
        assert store.read_bytes("fixed.txt") == b"original"


def test_azure_with_a_sas_token_has_nothing_to_sign_with() -> None:
    # spec: SIGN-064
    backend = AzureBackend(
        container="c",
        account_url="http://127.0.0.1:9/devstoreaccount1",
        sas_token="sv=2024-01-01&sig=abc",
        hns=False,
    )
    assert Capability.SIGNED_URL not in backend.capabilities
    with pytest.raises(CapabilityNotSupported) as err:
        backend.signed_url("a.txt", 60, "GET")
    assert "cannot sign" in str(err.value) and "abc" not in str(err.value)


class StaticToken:
    """A token credential (``get_token``) whose token Azurite, without OAuth, refuses."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken("not-a-real-token", int(time.time()) + 3600)


def test_azure_with_a_token_credential_signs_with_a_user_delegation_key() -> None:
    # spec: SIGN-065
    conn = dict(p.split("=", 1) for p in AZURE_CONN.strip(";").split(";"))
    backend = AzureBackend(
        container="c", account_url=conn["BlobEndpoint"], credential=StaticToken(), hns=False
    )
    assert Capability.SIGNED_URL in backend.capabilities
    # The shared Azurite runs over plain HTTP, where the SDK sends no token: the
    # delegation key cannot be asked for, and the failure is a typed error.
    with pytest.raises(ConfigError) as err:
        Store(backend, "r").url("a.txt")
    assert err.value.operation == "url" and err.value.path == "a.txt"
    assert "https" in (err.value.hint or "")


# -- HTTP: the plain URL, for GET only ----------------------------------------------


def test_the_http_backend_returns_its_plain_url_for_get() -> None:
    # spec: SIGN-070, SIGN-071
    from storeroom.backends.http.backend import HTTPBackend

    ServerSeeder = sys.modules["storeroom_service_target_http"].ServerSeeder
    key = f"signurl-{uuid.uuid4().hex[:8]}/b c.txt"
    seeder = ServerSeeder(HTTP_URL)
    seeder.put(key, b"served as is")
    try:
        store = Store(HTTPBackend(f"{HTTP_URL}/files"))
        assert store.supports(Capability.SIGNED_URL)
        url = store.url(key, expires=60)
        assert url == store.native_path(key) and "?" not in url
        assert fetch(url) == (200, b"served as is")
        assert store.url(key, expires=604800) == url  # nothing expires: the same URL
        with pytest.raises(CapabilityNotSupported):
            store.url(key, method="PUT")
        with pytest.raises(CapabilityNotSupported):
            HTTPBackend(HTTP_URL).signed_url(key, 60, "PUT")
        private = Store(HTTPBackend(f"{HTTP_URL}/auth", headers={"Authorization": "Bearer t"}))
        assert not private.supports(Capability.SIGNED_URL)
        with pytest.raises(CapabilityNotSupported):
            private.url(key)
    finally:
        seeder.remove(key.partition("/")[0])
