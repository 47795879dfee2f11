"""The crypt benchmark runs (tiny sizes); its numbers come from running it for real."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench_crypt() -> Iterator[ModuleType]:
    sys.path.insert(0, str(BENCH))
    try:
        import bench_crypt

        yield bench_crypt
    finally:
        sys.path.remove(str(BENCH))


def test_bench_crypt_runs_on_local_with_rclone(bench_crypt: ModuleType) -> None:
    # spec: CRYPT-062
    result = bench_crypt.bench_backend("local", mib=4, rounds=1)
    assert set(result["rows"]) == {"plain", "crypt", "rclone"}  # rclone decrypted our file
    crypt = result["rows"]["crypt"]
    assert crypt["mib_per_s"] > 0 and 0 <= crypt["rss_mib"] < 32
    assert result["ratio"] == crypt["mib_per_s"] / result["rows"]["plain"]["mib_per_s"]
    assert result["ok"] == (result["ratio_ok"] and result["rss_ok"])


def test_bench_crypt_runs_on_s3(bench_crypt: ModuleType) -> None:
    # spec: CRYPT-062
    assert not bench_crypt.s3_missing(), "source /tmp/services_env.sh or scripts/services up"
    result = bench_crypt.bench_backend("s3", mib=4, rounds=1)
    assert set(result["rows"]) == {"plain", "crypt"}
    assert result["rows"]["crypt"]["mib_per_s"] > 0


def test_cipher_ceiling_probe_measures_both_thread_counts(bench_crypt: ModuleType) -> None:
    # spec: CRYPT-062
    ceiling = bench_crypt.probe_cipher(4)
    assert set(ceiling) == {
        "one_thread_mib_s",
        "one_core_cpu_mib_s",
        "two_threads_mib_s",
        "distinct_one_thread_mib_s",
        "distinct_one_core_cpu_mib_s",
        "distinct_two_threads_mib_s",
    }
    assert all(v > 0 for v in ceiling.values())
