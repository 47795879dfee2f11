"""The otel layer traces conditional writes and deletes as ``write`` / ``delete`` (COND-030)."""

from __future__ import annotations

import pytest
from opentelemetry.trace import StatusCode
from otel_support import Telemetry

from storeroom import PreconditionFailed, Store
from storeroom.backends import MemoryBackend
from storeroom.ext.otel import OtelLayer


def test_conditional_calls_are_write_and_delete_spans() -> None:
    # spec: COND-030
    tel = Telemetry()
    store = Store(OtelLayer(MemoryBackend(), **tel.providers))
    store.write("f", b"1")
    etag = store.head("f").etag
    store.write("f", b"2", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.delete("f", if_match=etag)
    writes = tel.spans("storeroom.write")
    deletes = tel.spans("storeroom.delete")
    assert len(writes) == 2 and all(s.status.status_code is not StatusCode.ERROR for s in writes)
    assert len(deletes) == 1 and deletes[0].status.status_code is StatusCode.ERROR
    assert store.read_bytes("f") == b"2"
