"""The ``otel`` layer on ``Store.url``: one span, the URL only masked and only with paths."""

from __future__ import annotations

from otel_support import Telemetry

from storeroom import Capability, Store
from storeroom.backends import MemoryBackend
from storeroom.ext.otel import OtelLayer

SIGNATURE = "0123456789abcdef-signature"


class Signing(MemoryBackend):
    capabilities = MemoryBackend.capabilities | {Capability.SIGNED_URL}

    def signed_url(self, key: str, expires: int, method: str) -> str:
        return (
            f"https://bucket.example/{key}?X-Amz-Expires={expires}"
            f"&X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature={SIGNATURE}"
        )


def test_a_signed_url_span_has_method_and_lifetime_but_no_url_by_default() -> None:
    # spec: SIGN-041
    tel = Telemetry()
    store = Store(OtelLayer(Signing(), store="s", **tel.providers), "root")  # type: ignore[arg-type]
    assert SIGNATURE in store.url("a.txt", expires=90, method="PUT")
    span = tel.span("storeroom.signed_url")
    attrs = dict(span.attributes or {})
    assert attrs["http.request.method"] == "PUT"
    assert attrs["storeroom.url.expires_s"] == 90
    assert attrs["storeroom.outcome"] == "ok"
    assert "url.full" not in attrs and "storeroom.path" not in attrs
    assert SIGNATURE not in repr(attrs)
    (point,) = tel.metrics()["storeroom.operation.duration"]
    assert point[0]["storeroom.operation"] == "signed_url"


def test_with_record_paths_the_url_is_recorded_with_its_signature_masked() -> None:
    # spec: SIGN-041
    tel = Telemetry()
    layer = OtelLayer(Signing(), record_paths=True, **tel.providers)  # type: ignore[arg-type]
    Store(layer).url("d/a.txt")
    attrs = dict(tel.span("storeroom.signed_url").attributes or {})
    full = str(attrs["url.full"])
    assert full.startswith("https://bucket.example/d/a.txt?")
    assert "X-Amz-Signature=***" in full and SIGNATURE not in full
    assert "X-Amz-Expires=3600" in full  # what is not a credential stays readable
