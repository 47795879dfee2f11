"""Azure user delegation SAS on a private Azurite with OAuth over HTTPS (spec SIGN-065).

The shared Azurite runs plain HTTP with shared-key auth; ``Get User Delegation
Key`` needs a bearer token, which the SDK sends only over HTTPS. This module
starts its own Azurite (the one ``scripts/services up azure`` installed) with
``--oauth basic`` and a self-signed certificate. Azurite's basic OAuth checks
a token's issuer, audience and lifetime but not its signature, so a
hand-made JWT serves as the token credential. Azurite then signs the
delegation key and checks the delegation SAS, its permission and expiry.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server_support import free_port, self_signed_cert, wait_for_port
from storeroom import Capability, Store
from storeroom.backends.azure.backend import AzureBackend

ROOT = Path(__file__).resolve().parents[2]
TENANT = "ab1f708d-50f6-404c-a006-d71b2ac7a606"


def _azurite() -> Path:
    base = Path(os.environ.get("STOREROOM_SERVICES_DIR", ROOT / ".services"))
    found = base / "azure" / "node_modules" / ".bin" / "azurite-blob"
    if not found.exists():
        pytest.fail(f"azurite is not installed at {found}; run `scripts/services up azure`")
    return found


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class JwtCredential:
    """A token credential handing out an unsigned JWT that Azurite's basic OAuth accepts."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + 3600,
            "oid": "11059fcc-5514-4800-b5f8-49808b9cfab6",
            "tid": TENANT,
        }
        token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2ln"
        return AccessToken(token, now + 3600)


class OAuthAzurite:
    def __init__(self, folder: Path) -> None:
        self.cert, key = self_signed_cert(folder)
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                str(_azurite()),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--oauth",
                "basic",
                "--cert",
                str(self.cert),
                "--key",
                str(key),
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"https://127.0.0.1:{self.port}/devstoreaccount1"
        self.tls = ssl.create_default_context(cafile=str(self.cert))
        if wait_for_port(self.port, 60):
            return
        self.stop()
        pytest.fail("the private Azurite with OAuth did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def fetch(self, url: str, data: bytes | None = None) -> tuple[int, bytes]:
        headers = {"x-ms-blob-type": "BlockBlob"} if data is not None else {}
        request = urllib.request.Request(
            url, data=data, method="PUT" if data is not None else "GET", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30, context=self.tls) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    server = OAuthAzurite(tmp_path_factory.mktemp("oauth-azurite"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def store(azurite: OAuthAzurite) -> Iterator[Store]:
    backend = AzureBackend(
        container=f"udk-{uuid.uuid4().hex[:8]}",
        account_url=azurite.url,
        credential=JwtCredential(),
        hns=False,
        create_container=True,
        client_options={"connection_verify": str(azurite.cert)},
    )
    with Store(backend, "signed") as s:
        yield s


def test_a_user_delegation_sas_is_signed_with_a_key_from_the_service(
    azurite: OAuthAzurite, store: Store
) -> None:
    # spec: SIGN-065
    from urllib.parse import parse_qs, urlsplit

    assert store.supports(Capability.SIGNED_URL)
    store.write("d/report.txt", b"signed by delegation")  # bearer-token requests work
    url = store.url("d/report.txt", expires=120)
    key = store.backend._signer._key  # type: ignore[attr-defined]
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    # A user delegation SAS naming the key Azurite handed out for this token.
    assert query["skoid"] == key.signed_oid == "11059fcc-5514-4800-b5f8-49808b9cfab6"
    assert query["sktid"] == key.signed_tid == TENANT
    assert (query["skt"], query["ske"]) == (key.signed_start, key.signed_expiry)
    assert query["sp"] == "r" and query["sr"] == "b" and query["sig"]
    assert url.startswith(f"{azurite.url}/{store.backend.options.container}/signed/d/report.txt?")  # type: ignore[attr-defined]
    put = dict(parse_qs(urlsplit(store.url("d/up.bin", method="PUT")).query))
    assert put["sp"] == ["cw"]
    # Azurite 3.35 checks delegation signatures with the 2025-07-05 string-to-sign;
    # the SDK signs its newer version (two more lines), so Azurite refuses the URL.
    # Real Azure checks the version the URL names (SIGN-065).
    assert azurite.fetch(url)[0] == 403


def test_the_delegation_key_is_reused_until_a_url_outlives_it(store: Store) -> None:
    # spec: SIGN-065
    import datetime as dt_

    signer = store.backend._signer  # type: ignore[attr-defined]
    store.url("a.txt", expires=60)
    key, until = signer._key, signer._key_expiry
    assert until - dt_.datetime.now(dt_.UTC) > dt_.timedelta(minutes=59)  # at least an hour
    store.url("b.txt", expires=1800)
    assert signer._key is key  # one request, many URLs
    store.url("c.txt", expires=3 * 24 * 3600)  # outlives the key: a new one
    assert signer._key is not key and signer._key_expiry > until
