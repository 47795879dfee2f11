"""Conformance target ``memory+layers``: the memory backend under the full layer stack.

observe → otel → cache → retry → limit → fault (→ context, added by the Registry).
The fault layer fails 3% of calls with a retryable error and the retry layer
recovers every one, so the whole suite must pass unchanged (spec LAYER-090).
No server is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storeroom.testing.conformance import Target, register_target

FULL_STACK: list[dict[str, Any]] = [
    {"type": "observe", "log": True, "record": 200},
    {"type": "otel", "record_paths": True},  # spans are recorded when the process has an SDK
    {"type": "cache", "ttl_s": 60, "max_bytes": 8 * 1024 * 1024},
    {
        "type": "retry",
        "attempts": 10,
        "base_delay_s": 0.0002,
        "max_delay_s": 0.002,
        "deadline_s": 30,
    },
    {"type": "limit", "max_concurrency": 16, "requests_per_second": 1_000_000},
    {"type": "fault", "error_rate": 0.03, "seed": 4},
]


def _config(tmp_path: Path) -> Mapping[str, Any]:
    return {"type": "memory", "options": {}, "layers": FULL_STACK}


register_target(Target("memory+layers", _config, persistent=False, cross_process=False))
