"""remote-store's ext calls give the same results under storeroom (spec COMPAT-100..109).

Each scenario runs the same call against remote-store 0.33.0 (a dev dependency,
imported, never downloaded) and against storeroom, and compares what comes back.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import io
from pathlib import Path
from typing import Any

import pytest
import remote_store
import remote_store.backends as rs_backends

from storeroom import Store
from storeroom.backends import MemoryBackend
from storeroom.errors import AlreadyExists, CapabilityNotSupported, InvalidArgument, NotFound
from storeroom.ext import batch, glob, integrity, partition, streams, transfer

MODULES = ["batch", "transfer", "integrity", "streams", "partition", "glob"]
P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)

#: Defaults that differ on purpose (documented in docs/migrating-from-remote-store.md).
DEFAULT_CHANGES = {
    # None = storeroom's pool; False still means one at a time, as in remote-store.
    ("batch_delete", "concurrent"),
    ("batch_copy", "concurrent"),
    ("batch_exists", "concurrent"),
    # None = sha256, or the algorithm named by an "algo:hex" expected value.
    ("verify", "algorithm"),
}

FILES = {"a.txt": b"alpha", "d/b.csv": b"1,2\n", "d/e/c.csv": b"3,4\n", "z.bin": bytes(range(256))}


def _problems(name: str, theirs: inspect.Signature, ours: inspect.Signature) -> list[str]:
    """What a call written for ``theirs`` could not do with ``ours``."""
    out: list[str] = []
    mine = ours.parameters
    t_pos = [p for p in theirs.parameters.values() if p.kind in POSITIONAL]
    o_pos = [p for p in mine.values() if p.kind in POSITIONAL]
    for i, tp in enumerate(t_pos):
        if i >= len(o_pos) or (tp.kind is not P.POSITIONAL_ONLY and o_pos[i].name != tp.name):
            out.append(f"{name}: positional #{i} {tp.name!r} moved")
    for tp in theirs.parameters.values():
        if tp.kind is P.VAR_KEYWORD:
            if not any(p.kind is P.VAR_KEYWORD for p in mine.values()):
                out.append(f"{name}: no **{tp.name}")
            continue
        if tp.kind in (P.POSITIONAL_ONLY, P.VAR_POSITIONAL):
            continue
        op = mine.get(tp.name)
        if op is None or op.kind in (P.POSITIONAL_ONLY, P.VAR_POSITIONAL):
            out.append(f"{name}: keyword {tp.name!r} missing")
            continue
        if tp.default is P.empty:
            continue
        if op.default is P.empty:
            out.append(f"{name}: {tp.name!r} became required")
        elif op.default != tp.default and (name, tp.name) not in DEFAULT_CHANGES:
            out.append(f"{name}: {tp.name!r} default {op.default!r} != {tp.default!r}")
    for op in mine.values():
        extra = op.name not in theirs.parameters and op.kind not in (P.VAR_KEYWORD,)
        if extra and op.default is P.empty and op.kind is not P.VAR_POSITIONAL:
            out.append(f"{name}: storeroom requires extra {op.name!r}")
    return out


@pytest.mark.parametrize("module", MODULES)
def test_every_remote_store_name_exists_with_a_compatible_signature(module: str) -> None:
    """spec: COMPAT-100"""
    theirs = importlib.import_module(f"remote_store.ext.{module}")
    ours = importlib.import_module(f"storeroom.ext.{module}")
    problems: list[str] = []
    for name in theirs.__all__:
        assert name in ours.__all__, f"storeroom.ext.{module} lacks {name}"
        t_obj, o_obj = getattr(theirs, name), getattr(ours, name)
        if inspect.isclass(t_obj):
            assert inspect.isclass(o_obj)
            t_sig, o_sig = inspect.signature(t_obj.__init__), inspect.signature(o_obj.__init__)
            problems += _problems(name, t_sig, o_sig)
            for attr in dir(t_obj):
                if not attr.startswith("_"):
                    fields = getattr(o_obj, "__dataclass_fields__", {})
                    assert hasattr(o_obj, attr) or attr in fields, f"{module}.{name}.{attr} missing"
        else:
            problems += _problems(name, inspect.signature(t_obj), inspect.signature(o_obj))
    assert problems == []


def test_the_signature_check_catches_a_moved_argument() -> None:
    """spec: COMPAT-100 — the checker itself fails on the old upload order."""

    def old(local_path: str, store: Any, dest: str = "") -> None: ...

    problems = _problems(
        "upload", inspect.signature(remote_store.ext.transfer.upload), inspect.signature(old)
    )
    assert any("moved" in p for p in problems) and any("on_progress" in p for p in problems)


# -- the same scenario on both libraries --------------------------------------------


@pytest.fixture
def pair() -> tuple[Any, Store]:
    """The same files in a remote-store memory store and a storeroom memory store."""
    theirs = remote_store.Store(rs_backends.MemoryBackend())
    ours = Store(MemoryBackend())
    for path, data in FILES.items():
        theirs.write(path, data)
        ours.write(path, data)
    return theirs, ours


def _rs(module: str) -> Any:
    return importlib.import_module(f"remote_store.ext.{module}")


@pytest.mark.parametrize("concurrent", [False, True])
def test_batch_results_match(pair: tuple[Any, Store], concurrent: bool) -> None:
    """spec: COMPAT-101"""
    theirs, ours = pair
    paths = ["a.txt", "missing.txt", "z.bin"]
    r_t = _rs("batch").batch_delete(theirs, paths, concurrent=concurrent)
    r_o = batch.batch_delete(ours, paths, concurrent=concurrent)
    assert sorted(r_o.succeeded) == sorted(r_t.succeeded) == ["a.txt", "z.bin"]
    assert r_o.failed.keys() == r_t.failed.keys() == {"missing.txt"}
    assert isinstance(r_o.failed["missing.txt"], NotFound)
    assert (r_o.total, r_o.all_succeeded) == (r_t.total, r_t.all_succeeded) == (3, False)
    assert r_o.succeeded == ("a.txt", "z.bin")  # always input order
    ex_t = _rs("batch").batch_exists(theirs, ["d/b.csv", "a.txt", "d"], concurrent=concurrent)
    ex_o = batch.batch_exists(ours, ["d/b.csv", "a.txt", "d"], concurrent=concurrent)
    assert ex_o == ex_t == {"d/b.csv": True, "a.txt": False, "d": True}
    cp_t = _rs("batch").batch_copy(theirs, [("d/b.csv", "x.csv"), ("d/e/c.csv", "d/b.csv")])
    cp_o = batch.batch_copy(ours, [("d/b.csv", "x.csv"), ("d/e/c.csv", "d/b.csv")])
    assert cp_o.succeeded == cp_t.succeeded == ("d/b.csv",)
    assert isinstance(cp_o.failed["d/e/c.csv"], AlreadyExists)
    assert type(cp_o.failed["d/e/c.csv"]).__name__ == type(cp_t.failed["d/e/c.csv"]).__name__


def test_batch_result_builds_and_behaves_like_remote_stores() -> None:
    """spec: COMPAT-101"""
    err = NotFound("gone", path="b")
    mine = batch.BatchResult(succeeded=("a",), failed={"b": err})
    theirs = _rs("batch").BatchResult(succeeded=("a",), failed={"b": err})
    assert (mine.total, mine.all_succeeded) == (theirs.total, theirs.all_succeeded) == (2, False)
    assert batch.BatchResult().all_succeeded and batch.BatchResult().total == 0
    with pytest.raises(AttributeError):
        mine.succeeded = ("b",)  # type: ignore[misc]


def test_sequential_stop_on_error_stops_like_remote_store(pair: tuple[Any, Store]) -> None:
    """spec: COMPAT-101"""
    theirs, ours = pair
    paths = ["a.txt", "nope", "z.bin"]
    r_t = _rs("batch").batch_delete(theirs, paths, stop_on_error=True)
    r_o = batch.batch_delete(ours, paths, stop_on_error=True, concurrent=False)
    assert r_o.succeeded == r_t.succeeded == ("a.txt",)
    assert list(r_o.failed) == list(r_t.failed) == ["nope"]
    assert r_o.skipped == ("z.bin",) and r_o.total == r_t.total == 2
    assert ours.exists("z.bin") and theirs.exists("z.bin")
    with pytest.raises(InvalidArgument, match="executor"):
        batch.batch_exists(ours, ["a"], concurrent=False, executor=object())  # type: ignore[arg-type]


def test_missing_capability_is_raised_not_collected(pair: tuple[Any, Store]) -> None:
    """spec: COMPAT-101"""
    from storeroom.layers import ReadOnlyLayer

    _, ours = pair
    locked = Store(ReadOnlyLayer(ours.backend))
    with pytest.raises(CapabilityNotSupported):
        batch.batch_delete(locked, ["a.txt", "z.bin"])
    with pytest.raises(CapabilityNotSupported):
        batch.batch_copy(locked, [("a.txt", "c")], concurrent=False)
    assert ours.exists("a.txt") and not ours.exists("c")


def test_checksums_and_stream_wrappers_match(pair: tuple[Any, Store]) -> None:
    """spec: COMPAT-102, COMPAT-103"""
    theirs, ours = pair
    for algo in ("sha256", "md5", "SHA1"):
        c_t = _rs("integrity").checksum(theirs, "z.bin", algo)
        c_o = integrity.checksum(ours, "z.bin", algo)
        algorithm, hexdigest = c_o
        assert c_o == c_t and (algorithm, hexdigest) == c_t
        assert str(c_o) == f"{algorithm}:{hexdigest}" and c_o.digest.value == hexdigest
        assert integrity.content_digest(ours, "z.bin", algo) == c_o.digest
    want = hashlib.sha256(FILES["z.bin"]).hexdigest()
    for fn in ("verify", "verify_hex"):
        args = (want.upper(), "sha256") if fn == "verify" else ("sha256", want.upper())
        assert getattr(integrity, fn)(ours, "z.bin", *args) is True
        assert getattr(_rs("integrity"), fn)(theirs, "z.bin", *args) is True
    assert integrity.verify_hex(ours, "z.bin", "md5", want) is False
    reader = streams.ChecksumReader(inner=io.BytesIO(b"one\ntwo\n"), algorithm="md5")
    assert reader.readlines() == [b"one\n", b"two\n"]
    assert reader.hexdigest() == hashlib.md5(b"one\ntwo\n").hexdigest()
    assert reader.algorithm == "md5" and reader.getvalue() == b"one\ntwo\n"  # delegated
    writer = streams.ChecksumWriter(io.BytesIO())
    writer.write(b"abc")
    assert writer.hexdigest() == hashlib.sha256(b"abc").hexdigest()
    seen: list[int] = []
    with streams.read_with_progress(ours, "z.bin", seen.append) as stream:
        assert stream.read() == FILES["z.bin"]
    assert sum(seen) == 256


def test_transfers_take_remote_stores_order_and_keywords(
    pair: tuple[Any, Store], tmp_path: Path
) -> None:
    """spec: COMPAT-104"""
    theirs, ours = pair
    local = tmp_path / "in.bin"
    local.write_bytes(b"x" * 5000)
    for lib, store in ((_rs("transfer"), theirs), (transfer, ours)):
        seen: list[int] = []
        lib.upload(store, local, "up/in.bin", on_progress=seen.append)
        assert store.read_bytes("up/in.bin") == b"x" * 5000 and sum(seen) == 5000
        out = tmp_path / f"out-{id(lib)}.bin"
        lib.download(store, "up/in.bin", out, on_progress=seen.append)
        assert out.read_bytes() == b"x" * 5000
        with pytest.raises(FileExistsError):
            lib.download(store, "up/in.bin", out)
        with pytest.raises(FileNotFoundError):
            lib.upload(store, tmp_path / "missing", "k")
        lib.transfer(store, "a.txt", store, "t/copy")
        with pytest.raises(Exception) as info:
            lib.transfer(store, "z.bin", store, "t/copy")
        assert type(info.value).__name__ == "AlreadyExists"
        lib.transfer(
            src_store=store, src_path="z.bin", dst_store=store, dst_path="t/copy", overwrite=True
        )
        assert store.read_bytes("t/copy") == FILES["z.bin"]


def test_old_upload_order_and_double_callbacks_are_refused(
    pair: tuple[Any, Store], tmp_path: Path
) -> None:
    """spec: COMPAT-104"""
    _, ours = pair
    (tmp_path / "f").write_bytes(b"1")
    with pytest.raises(InvalidArgument, match="Store comes first"):
        transfer.upload(tmp_path / "f", ours, "k")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="give one of them"):
        transfer.upload(ours, tmp_path / "f", "k", on_progress=print, on_bytes=print)
    assert not ours.exists("k")


def test_partitions_match_for_plain_values() -> None:
    """spec: COMPAT-105"""
    rs = _rs("partition")
    cases: list[dict[str, Any]] = [
        {"year": 2026, "month": "03"},
        {"region": "eu-west", "day": "2026-03-01"},
        {},
    ]
    for parts in cases:
        built = partition.partition_path("data.parquet", **parts)
        assert built == rs.partition_path("data.parquet", **parts)
        got, want = partition.parse_partition(built), rs.parse_partition(built)
        assert (got.partitions, got.filename) == (want.partitions, want.filename)
    for path in ("notes/year=1/f", "a=1/b=2=3/f", "a=1/=x/f", "k=v"):
        got, want = partition.parse_partition(path), rs.parse_partition(path)
        assert (got.partitions, got.filename) == (want.partitions, want.filename), path
    # What remote-store refused is refused (a ValueError in both).
    for bad_parts in ({"year": ""}, {"k": "a=b"}, {"": "v"}, {"a=b": "v"}):
        with pytest.raises(ValueError):
            rs.partition_path("f", **bad_parts)
        with pytest.raises(InvalidArgument):
            partition.partition_path("f", **bad_parts)
    assert partition.build_partition_path({"k": "a=b"}) == "k=a%3Db"  # storeroom's own form
    # Hive escaping where remote-store wrote the text raw (documented difference).
    assert partition.partition_path("f", ts="10:30") == "ts=10%3A30/f"
    assert partition.parse_partition("ts=10%3A30/f").partitions == {"ts": "10:30"}
    for bad in ("", "a/b"):
        with pytest.raises(InvalidArgument) as info:
            partition.partition_path(bad, a=1)
        assert isinstance(info.value, ValueError)
    with pytest.raises(ValueError):
        partition.parse_partition("")


def test_glob_files_matches(pair: tuple[Any, Store]) -> None:
    """spec: COMPAT-106"""
    theirs, ours = pair
    for pattern in ("**/*.csv", "d/*.csv", "*.txt", "nothing/*"):
        want = sorted(str(i.path) for i in _rs("glob").glob_files(theirs, pattern))
        got = [str(i.path) for i in glob.glob_files(ours, pattern)]
        assert got == want, pattern
