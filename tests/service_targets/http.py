"""Conformance target ``http``: the read-only HTTP backend against the local test server.

``scripts/services up http`` starts ``scripts/services.d/http_server.py`` and
prints ``STOREROOM_TEST_HTTP_URL``. The target reads through the server's
``/auth/`` view, which answers 401 without the bearer token, so every test
also proves the configured header is sent (and, as a listed secret, never
shown). Test files are placed through the server's test-only ``/_seed/``
side door (spec CONF-015); every read goes through the backend.
"""

from __future__ import annotations

import http.client
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from services_support import service_env
from storeroom.capabilities import Capability
from storeroom.testing.conformance import Target, register_target

#: The bearer token the test server's /auth/ view expects (its default --token).
TOKEN = "storeroom-test-token"
CAPABILITIES = frozenset({Capability.READ, Capability.METADATA, Capability.SEEKABLE_READ})


class ServerSeeder:
    """Puts and removes files through the test server's ``/_seed/`` door."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80

    def _call(self, method: str, key: str, body: bytes | None = None) -> int:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, "/_seed/" + quote(key, safe="/"), body=body)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        finally:
            conn.close()

    def put(self, key: str, data: bytes) -> None:
        status = self._call("PUT", key, data)
        if status != 201:
            raise RuntimeError(f"seeding {key!r} failed with HTTP {status}")

    def remove(self, prefix: str) -> None:
        self._call("DELETE", prefix)


def http_config(url: str, **options: Any) -> dict[str, Any]:
    """Backend table for the test server's authenticated view."""
    return {
        "type": "http",
        "options": {
            "base_url": f"{url}/auth",
            "headers": {"Authorization": f"Bearer {TOKEN}"},
            "timeout": 15,
            **options,
        },
    }


_env = service_env("http", "STOREROOM_TEST_HTTP_URL")
if _env is not None:
    URL = _env["STOREROOM_TEST_HTTP_URL"].rstrip("/")

    def _config(tmp_path: Path) -> dict[str, Any]:
        return http_config(URL)

    register_target(
        Target(
            "http",
            _config,
            capabilities=CAPABILITIES,
            secrets=(TOKEN,),
            seeder=ServerSeeder(URL),
        )
    )
