"""The ``otel`` layer from config on real backends, and planted secrets that never reach it.

Stores come from ``every_backend.registry_on`` (local disk, SQLite and the
real S3 test server) with ``layers = [{ type = "otel" }]``; the secrets test
uses the real HTTP, PostgreSQL and S3 test servers, with succeeding and
failing operations.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from otel_support import Telemetry, everything_recorded, global_telemetry

from every_backend import registry_on
from storeroom import Registry, RegistryConfig, Store
from storeroom.errors import NotFound, StoreroomError

EXPECTED_TYPE = {"memory": "memory", "local": "local", "sql-sqlite": "sql-blob", "s3": "s3"}


@pytest.mark.parametrize("backend", ["memory", "local", "sql-sqlite", "s3"])
def test_spans_and_metrics_on_each_backend(backend: str, tmp_path: Path) -> None:
    # spec: OTEL-060, OTEL-010, OTEL-012, OTEL-013, OTEL-020
    tel = global_telemetry()
    registry = registry_on(backend, tmp_path, layers=[{"type": "otel", "record_paths": True}])
    store = registry.get_store("s")
    try:
        with tel.tracer.start_as_current_span("job") as job:
            store.write("d/a.bin", b"a" * 1000)
            store.write_atomic("d/b.bin", b"b" * 10)
            assert store.read_bytes("d/a.bin") == b"a" * 1000
            assert [f.name for f in store.list_files("d")] == ["a.bin", "b.bin"]
            with pytest.raises(NotFound):
                store.read_bytes("d/missing.bin")
            store.delete_folder("d", recursive=True)
        spans = tel.spans()
        job_id = job.get_span_context().span_id
        ours = [s for s in spans if s.name.startswith("storeroom.")]
        assert ours and all(s.parent is not None and s.parent.span_id == job_id for s in ours)
        for span in ours:
            assert span.attributes["storeroom.backend"] == EXPECTED_TYPE[backend]  # type: ignore[index]
            assert span.attributes["storeroom.store"] == "s"  # type: ignore[index]
        reads = tel.spans("storeroom.read")
        ok = [s for s in reads if s.attributes["storeroom.outcome"] == "ok"]  # type: ignore[index]
        failed = [s for s in reads if s.status.status_code is StatusCode.ERROR]
        assert [s.attributes["storeroom.bytes"] for s in ok] == [1000]  # type: ignore[index]
        assert [s.attributes["error.type"] for s in failed] == ["storeroom.errors.NotFound"]  # type: ignore[index]
        assert str(failed[0].attributes["storeroom.path"]).endswith("d/missing.bin")  # type: ignore[index]
        written = sum(s.attributes["storeroom.bytes"] for s in tel.spans("storeroom.write"))  # type: ignore[index,misc]
        assert written == 1010
        got = tel.metrics()
        by_op: dict[str, int] = {}
        for labels, point in got["storeroom.bytes"]:
            assert labels["storeroom.backend"] == EXPECTED_TYPE[backend]
            by_op[labels["storeroom.operation"]] = by_op.get(labels["storeroom.operation"], 0) + (
                point.value
            )
        assert by_op == {"write": 1010, "read": 1000}
        assert sum(p.value for _, p in got["storeroom.errors"]) == 1
    finally:
        registry.close()


# -- planted secrets ------------------------------------------------------------------


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(f'{name} is not set: eval "$(scripts/services up)"')
    return value


def secret_configs() -> list[tuple[dict[str, Any], str]]:
    """(backend table, its planted secret) on the real HTTP, PostgreSQL and S3 servers."""
    http = {
        "type": "http",
        "options": {
            "base_url": env("STOREROOM_TEST_HTTP_URL") + "/auth",
            "headers": {
                "Authorization": "Bearer storeroom-test-token",
                "X-Api-Key": "PLANTEDotelhttp1",
            },
            "timeout": 5,
        },
    }
    real = env("STOREROOM_TEST_SQL_URL")
    scheme, _, rest = real.partition("://")
    user, host = rest.split("@", 1)[0].split(":", 1)[0], rest.split("@", 1)[1]
    sql = {
        "type": "sql-blob",
        "options": {"url": f"{scheme}://{user}:PLANTEDotelsql2@{host}", "connect_timeout": 5},
    }
    s3 = {
        "type": "s3",
        "options": {
            "bucket": f"otel-{uuid.uuid4().hex[:10]}",
            "endpoint_url": env("STOREROOM_TEST_S3_ENDPOINT"),
            "key": "PLANTEDotels3key3",
            "secret": "PLANTEDotels3secret4",
            "region_name": env("STOREROOM_TEST_S3_REGION"),
        },
    }
    return [(http, "PLANTEDotelhttp1"), (sql, "PLANTEDotelsql2"), (s3, "PLANTEDotels3")]


def exercise(store: Store) -> int:
    """Run a few operations; how many failed (each was traced all the same)."""
    failures = 0
    for op in (
        lambda: store.exists("a.txt"),
        lambda: store.read_bytes("missing.txt"),
        lambda: list(store.list_files("")),
        lambda: store.write("w.txt", b"x"),
    ):
        try:
            op()
        except StoreroomError:
            failures += 1
    return failures


def test_planted_secrets_never_reach_spans_or_metrics() -> None:
    # spec: OTEL-040
    tel: Telemetry = global_telemetry()
    for table, secret in secret_configs():
        cfg = RegistryConfig.from_dict(
            {
                "backends": {"b": table},
                "stores": {
                    "s": {"backend": "b", "layers": [{"type": "otel", "record_paths": True}]}
                },
            }
        )
        registry = Registry(cfg)
        store = registry.get_store("s")
        failures = exercise(store)
        registry.close()
        assert failures >= 1, table["type"]  # at least one failed operation was traced
        recorded = everything_recorded(tel)
        assert "storeroom.errors" in recorded and "error.type" in recorded
        assert secret not in recorded, table["type"]
        assert "storeroom-test-token" not in recorded
        tel.clear()
