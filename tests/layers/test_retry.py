"""RetryLayer (spec LAYER-010..019)."""

from __future__ import annotations

import io
import pickle

import pytest
from layer_support import NoSleep, Scripted, store_on

from storeroom.backend import Backend
from storeroom.backends.memory.backend import MemoryBackend
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    NotFound,
    PermissionDenied,
)
from storeroom.layers import FaultLayer, ObserveLayer, Recorder, RetryLayer


def down(**kw: object) -> BackendUnavailable:
    return BackendUnavailable("down", **kw)  # type: ignore[arg-type]


def retry(inner: Backend, sleep: NoSleep | None = None, **kw: object) -> RetryLayer:
    sleep = sleep or NoSleep()
    return RetryLayer(inner, sleep=sleep, clock=sleep.clock, rand=lambda: 0.5, **kw)  # type: ignore[arg-type]


def test_retries_only_retryable_errors() -> None:
    # spec: LAYER-010
    flaky = Scripted()
    store = store_on(retry(flaky, attempts=5))
    store.write("f", b"x")
    flaky.script["stat"] = [down(), down()]
    assert store.get_file_info("f").size == 1
    assert flaky.calls["stat"] == 3
    flaky.script["stat"] = [PermissionDenied("no")]
    with pytest.raises(PermissionDenied) as info:
        store.get_file_info("f")
    assert flaky.calls["stat"] == 4  # not retried
    assert info.value.attempts is None
    flaky.script["stat"] = [NotFound("x", retryable=True), down()]
    assert store.is_file("f")  # a class is retried when the error itself says so


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    # spec: LAYER-011
    sleep = NoSleep()
    flaky = Scripted()
    layer = retry(flaky, sleep, attempts=6, base_delay_s=0.1, max_delay_s=0.5, jitter=1.0)
    flaky.script["delete"] = [down() for _ in range(5)]
    flaky.write("f", b"x")
    layer.delete("f")
    # full jitter with rand()=0.5: half of min(cap, base * 2**n)
    assert sleep.waits == pytest.approx([0.05, 0.1, 0.2, 0.25, 0.25])
    no_jitter = RetryLayer(flaky, jitter=0.0, base_delay_s=0.1, max_delay_s=10)
    assert [no_jitter.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])
    real = RetryLayer(flaky, base_delay_s=1.0, max_delay_s=8.0)
    assert all(0 <= real.delay(4) <= 8.0 for _ in range(100))


def test_final_error_records_attempts() -> None:
    # spec: LAYER-012
    flaky = Scripted()
    store = store_on(retry(flaky, attempts=3))
    flaky.script["list"] = [down() for _ in range(5)]
    with pytest.raises(BackendUnavailable) as info:
        list(store.list_files())
    assert info.value.attempts == 3
    assert flaky.calls["list"] == 3
    assert "attempts=3" in str(info.value)


def test_deadline_bounds_the_whole_call() -> None:
    # spec: LAYER-013
    sleep = NoSleep()
    flaky = Scripted()
    layer = retry(
        flaky, sleep, attempts=100, base_delay_s=1.0, max_delay_s=1.0, jitter=0.0, deadline_s=3.5
    )
    flaky.script["stat"] = [down() for _ in range(100)]
    with pytest.raises(BackendUnavailable) as info:
        layer.stat("f")
    assert sum(sleep.waits) <= 3.5
    assert info.value.attempts == 4  # waits of 1+1+1; a fourth would end at 4.0 > 3.5


def test_retry_after_hint_is_honoured() -> None:
    # spec: LAYER-014
    sleep = NoSleep()
    flaky = Scripted()
    layer = retry(flaky, sleep, attempts=3, base_delay_s=0.01)
    flaky.script["stat"] = [down(retry_after=2.5)]
    with pytest.raises(NotFound):
        layer.stat("missing")
    assert sleep.waits == [2.5]
    # a hint past the deadline stops at once
    sleep2 = NoSleep()
    layer2 = retry(flaky, sleep2, attempts=3, deadline_s=1.0)
    flaky.script["stat"] = [down(retry_after=30)]
    with pytest.raises(BackendUnavailable) as info:
        layer2.stat("missing")
    assert sleep2.waits == [] and info.value.attempts == 1


class FailingSourceOnce(Scripted):
    """Consumes the source, then fails the first write (as a dropped upload would)."""

    def write(self, key, src, **kw):  # type: ignore[no-untyped-def,override]
        self.calls["write"] += 1
        if self.calls["write"] == 1:
            if not isinstance(src, bytes):
                src.read()
            raise down()
        return self.inner.write(key, src, **kw)


def test_write_retried_when_source_rewinds() -> None:
    # spec: LAYER-015
    flaky = FailingSourceOnce()
    store = store_on(retry(flaky))
    store.write("bytes", b"payload")
    assert store.read_bytes("bytes") == b"payload"
    flaky.calls.clear()
    src = io.BytesIO(b"HEADpayload")
    src.read(4)  # the write starts mid-stream: the rewind goes back there, not to 0
    store.write("seekable", src)
    assert store.read_bytes("seekable") == b"payload"
    assert flaky.calls["write"] == 2


def test_write_not_retried_when_source_cannot_rewind() -> None:
    # spec: LAYER-015
    flaky = FailingSourceOnce()
    store = store_on(retry(flaky))
    with pytest.raises(BackendUnavailable) as info:
        store.write("gen", iter([b"a", b"b"]))
    assert flaky.calls["write"] == 1
    assert info.value.attempts == 1
    assert not store.exists("gen")


def test_read_stream_resumes_at_the_offset_reached() -> None:
    # spec: LAYER-016
    data = bytes(range(256)) * 40
    mem = MemoryBackend()
    mem.write("big", data)
    fault = FaultLayer(mem, read_fail_after_bytes=1000, max_faults=3)
    flaky = Scripted(fault)
    store = store_on(retry(flaky, attempts=3))
    with store.read("big") as stream:
        got = b"".join(iter(lambda: stream.read(700), b""))
    assert got == data
    assert fault.faults == 3
    assert flaky.calls["open_read"] == 4  # the first open + one ranged reopen per fault


def test_ranged_read_resumes_within_its_range() -> None:
    # spec: LAYER-016
    data = bytes(range(256)) * 10
    mem = MemoryBackend()
    mem.write("f", data)
    store = store_on(retry(FaultLayer(mem, read_fail_after_bytes=100, max_faults=1)))
    with store.backend.open_read("f", 50, 1050) as stream:
        parts = [stream.read(64) for _ in range(20)]
    assert b"".join(parts) == data[50:1050]


def test_resume_off_passes_the_error_on() -> None:
    # spec: LAYER-016
    mem = MemoryBackend()
    mem.write("f", b"x" * 5000)
    store = store_on(
        retry(FaultLayer(mem, read_fail_after_bytes=10, max_faults=1), resume_reads=False)
    )
    with pytest.raises(BackendUnavailable), store.read("f") as stream:
        while stream.read(100):
            pass


class BreaksMidListing(Scripted):
    def __init__(self, breaks: int) -> None:
        super().__init__()
        self.breaks = breaks

    def list(self, prefix, *, recursive=False, base=""):  # type: ignore[no-untyped-def,override]
        self.calls["list"] += 1
        entries = self.inner.list(prefix, recursive=recursive, base=base)
        if self.breaks <= 0:
            return entries
        self.breaks -= 1

        def broken():  # type: ignore[no-untyped-def]
            for i, e in enumerate(entries):
                if i == 3:
                    raise down()
                yield e

        return broken()


def test_listing_resumes_without_repeating_entries() -> None:
    # spec: LAYER-017
    flaky = BreaksMidListing(breaks=2)
    for i in range(10):
        flaky.inner.write(f"d/f{i}", b"")
    store = store_on(retry(flaky, attempts=3))
    names = [f.path for f in store.list_files("d")]
    assert names == [f"d/f{i}" for i in range(10)]
    assert flaky.calls["list"] == 3


def test_ambiguous_create_only_write_reports_already_exists() -> None:
    # spec: LAYER-018 (the documented caveat, shown)
    class LostReply(Scripted):
        def write(self, key, src, **kw):  # type: ignore[no-untyped-def,override]
            self.calls["write"] += 1
            result = self.inner.write(key, src, **kw)
            if self.calls["write"] == 1:
                raise down()
            return result

    store = store_on(retry(LostReply()))
    with pytest.raises(AlreadyExists):
        store.write("f", b"x")


def test_attempts_reach_the_observe_event() -> None:
    # spec: LAYER-032
    flaky = Scripted()
    recorder = Recorder()
    store = store_on(ObserveLayer(retry(flaky, attempts=4), sinks=[recorder], log=False))
    store.write("f", b"x")
    flaky.script["stat"] = [down(), down()]
    store.get_file_info("f")
    (event,) = recorder.of("stat")
    assert event.attempts == 3 and event.ok


def test_options_validated_and_pickled() -> None:
    # spec: LAYER-002, LAYER-003
    with pytest.raises(ConfigError, match="attempts"):
        RetryLayer(MemoryBackend(), attempts=0)
    with pytest.raises(ConfigError, match="jitter"):
        RetryLayer(MemoryBackend(), jitter=2)
    layer = RetryLayer(MemoryBackend(), attempts=7, deadline_s=3)
    copy = pickle.loads(pickle.dumps(layer))
    assert isinstance(copy, RetryLayer) and copy.options == layer.options


def test_retry_policy_names_are_aliases() -> None:
    # spec: LAYER-019
    opts = RetryLayer.Options.parse(
        {"max_attempts": 4, "timeout": 5, "backoff_base": 0.2, "backoff_max": 1}, where="x"
    )
    assert (opts.attempts, opts.deadline_s, opts.base_delay_s, opts.max_delay_s) == (4, 5, 0.2, 1)
    assert (opts.max_attempts, opts.backoff_base) == (4, 0.2)
    with pytest.raises(ConfigError, match="one set of names"):
        RetryLayer.Options.parse({"attempts": 2, "max_attempts": 3}, where="x")


def test_a_remote_store_retry_table_keeps_its_meaning() -> None:
    # spec: CONFIG-018 — remote-store's defaults, and jitter as seconds added to the wait
    opts = RetryLayer.Options.parse({"max_attempts": 5, "jitter": 0.5}, where="x")
    assert (opts.attempts, opts.base_delay_s, opts.max_delay_s) == (5, 1.0, 60.0)
    assert (opts.jitter, opts.jitter_s) == (0.0, 0.5)
    layer = RetryLayer(MemoryBackend(), **opts.to_dict(), rand=lambda: 1.0)
    assert [layer.delay(n) for n in (1, 2, 7, 8)] == [1.5, 2.5, 60.5, 60.5]
    assert RetryLayer.Options.parse(opts.to_dict(), where="x") == opts  # round trip
    # storeroom's names keep storeroom's meaning: jitter is a fraction of the wait.
    ours = RetryLayer(MemoryBackend(), base_delay_s=1.0, jitter=0.5, rand=lambda: 0.0)
    assert ours.delay(1) == 0.5
