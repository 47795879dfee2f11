"""Reading, metadata and refusal rules, with test files placed by the ``seed`` fixture.

Runs on every target that can read and can be seeded: through the target's
``seeder`` (read-only backends such as ``http``, spec CONF-015) or through
the Store's own writes. All reads go through the backend under test. The
refusal tests run only on targets without WRITE.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections.abc import Callable
from datetime import datetime

import pytest

from storeroom.capabilities import Capability
from storeroom.errors import CapabilityNotSupported, InvalidArgument, NotFound
from storeroom.models import FileInfo
from storeroom.store import GATES, Store
from storeroom.testing.conformance._helpers import no_calls
from storeroom.testing.conformance._support import (
    ProbeLayer,
    Profile,
    RegistryFactory,
    Seed,
    probe_layer,
    requires,
)
from storeroom.testing.conformance.suite_capabilities import call_gated
from storeroom.testing.conformance.targets import Target

__all__ = ["ReadOnlySuite"]

C = Capability
DIGITS = b"0123456789"
BIG = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes, not block aligned

#: Gated methods that change a store; each must be refused without I/O when WRITE is missing.
CHANGING = sorted(m for m, cap in GATES.items() if cap not in (C.READ, C.METADATA, C.LIST, C.GLOB))


def _seedable(target: Target, profile: Profile) -> bool:
    return target.seeder is not None or C.WRITE in profile.capabilities


@requires(C.READ, when=_seedable)
class ReadOnlySuite:
    """STORE-*, ERR-003, BACKEND-002: reads of seeded files, on any readable target."""

    # spec: STORE-003, STORE-004, BACKEND-002
    @pytest.mark.parametrize("content", [b"", b"x", DIGITS, BIG], ids=["empty", "1", "10", "1M"])
    def test_read_bytes_returns_the_seeded_content(
        self, store: Store, seed: Seed, content: bytes
    ) -> None:
        seed(store, {"f.bin": content})
        assert store.read_bytes("f.bin") == content
        with store.read("f.bin") as fh:
            assert fh.read() == content

    # spec: STORE-003
    def test_streaming_read_in_small_pieces(self, store: Store, seed: Seed) -> None:
        seed(store, {"big.bin": BIG})
        parts = []
        with store.read("big.bin") as fh:
            while block := fh.read(100_003):
                parts.append(block)
        assert b"".join(parts) == BIG

    # spec: STORE-003, STORE-039
    def test_closing_a_stream_early_leaves_the_store_usable(self, store: Store, seed: Seed) -> None:
        seed(store, {"big.bin": BIG, "small.txt": DIGITS})
        for _ in range(3):
            with store.read("big.bin") as fh:
                assert fh.read(10) == BIG[:10]
            assert store.read_bytes("small.txt") == DIGITS

    # spec: STORE-005, BACKEND-002
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (0, None, DIGITS),
            (0, 10, DIGITS),
            (2, 5, b"234"),
            (0, 1, b"0"),
            (9, 10, b"9"),
            (9, None, b"9"),
            (3, 3, b""),
            (0, 0, b""),
            (5, 100, b"56789"),
            (10, None, b""),
            (10, 20, b""),
            (50, 60, b""),
        ],
    )
    def test_read_range(
        self, store: Store, seed: Seed, start: int, end: int | None, expected: bytes
    ) -> None:
        seed(store, {"r.bin": DIGITS})
        assert store.read_range("r.bin", start, end) == expected

    # spec: STORE-005
    @pytest.mark.parametrize(("start", "end"), [(0, None), (0, 5), (3, 7), (1, 1)])
    def test_read_range_of_an_empty_file(
        self, store: Store, seed: Seed, start: int, end: int | None
    ) -> None:
        seed(store, {"empty.bin": b""})
        assert store.read_range("empty.bin", start, end) == b""

    # spec: STORE-005
    def test_read_range_of_a_large_file(self, store: Store, seed: Seed) -> None:
        seed(store, {"big.bin": BIG})
        assert store.read_range("big.bin", 1000, 70_000) == BIG[1000:70_000]
        assert store.read_range("big.bin", len(BIG) - 4) == b"tail"

    # spec: STORE-005, ERR-010
    @pytest.mark.parametrize(("start", "end"), [(-1, 2), (5, 2), ("0", 2), (0, 1.5)])
    def test_read_range_rejects_bad_ranges(
        self, store: Store, seed: Seed, start: object, end: object
    ) -> None:
        seed(store, {"r.bin": DIGITS})
        with pytest.raises(InvalidArgument):
            store.read_range("r.bin", start, end)  # type: ignore[arg-type]

    # spec: STORE-006
    def test_read_seekable_seeks_every_way(self, store: Store, seed: Seed) -> None:
        seed(store, {"s.bin": DIGITS})
        with store.read_seekable("s.bin") as fh:
            assert fh.seekable()
            assert fh.read(3) == b"012"
            assert fh.tell() == 3
            fh.seek(7)
            assert fh.read(2) == b"78"
            fh.seek(-4, io.SEEK_CUR)
            assert fh.read(1) == b"5"
            fh.seek(-2, io.SEEK_END)
            assert fh.read() == b"89"
            assert fh.read() == b""
            fh.seek(0)
            assert fh.read() == DIGITS
            fh.seek(100)
            assert fh.read() == b""

    # spec: STORE-006, MODEL-050
    def test_read_seekable_random_access_on_a_large_file(self, store: Store, seed: Seed) -> None:
        seed(store, {"big.bin": BIG})
        offsets = [0, 999_999, 5, 524_288, len(BIG) - 1, 300_000, 300_010, 12]
        with store.read_seekable("big.bin") as fh:
            for off in offsets:
                fh.seek(off)
                assert fh.read(16) == BIG[off : off + 16]

    # spec: STORE-031
    def test_exists_hit_and_miss(self, store: Store, seed: Seed) -> None:
        seed(store, {"a.txt": b"a", "d/b.txt": b"b"})
        assert store.exists("a.txt")
        assert store.exists("d/b.txt")
        assert store.is_file("a.txt")
        assert not store.exists("missing.txt")
        assert not store.exists("d/missing.txt")
        assert not store.is_file("missing.txt")
        assert store.exists("") and store.is_folder("")

    # spec: STORE-031, STORE-035
    @pytest.mark.parametrize(
        "name", ["with space.txt", "ünïcødé.bin", "percent%20.txt", "plus+sign.txt", "a#b?c.txt"]
    )
    def test_names_that_need_escaping(self, store: Store, seed: Seed, name: str) -> None:
        seed(store, {f"d/{name}": name.encode()})
        assert store.read_bytes(f"d/{name}") == name.encode()
        assert store.exists(f"d/{name}")

    # spec: STORE-032, STORE-033, MODEL-001
    @requires(C.METADATA)
    def test_get_file_info_fields(self, store: Store, seed: Seed) -> None:
        seed(store, {"d/info.txt": DIGITS})
        info = store.get_file_info("d/info.txt")
        assert isinstance(info, FileInfo)
        assert str(info.path) == "d/info.txt"
        assert info.name == "info.txt"
        assert info.size == len(DIGITS)
        assert info.modified_at is None or (
            isinstance(info.modified_at, datetime) and info.modified_at.tzinfo is not None
        )
        head = store.head("d/info.txt")
        assert str(head.path) == "d/info.txt" and head.size == len(DIGITS)
        assert head.etag == info.etag

    # spec: STORE-032
    @requires(C.METADATA)
    def test_get_file_info_of_an_empty_file(self, store: Store, seed: Seed) -> None:
        seed(store, {"empty.bin": b""})
        assert store.get_file_info("empty.bin").size == 0

    # spec: ERR-003, ERR-010
    @pytest.mark.parametrize(
        "method",
        [
            pytest.param("read_bytes"),
            pytest.param("read"),
            pytest.param("read_range"),
            pytest.param("read_seekable"),
            pytest.param("get_file_info", marks=requires(C.METADATA)),
            pytest.param("head", marks=requires(C.METADATA)),
        ],
    )
    def test_missing_file_is_not_found_with_store_relative_path(
        self, store: Store, seed: Seed, method: str
    ) -> None:
        seed(store, {"present.txt": b"p"})
        calls: dict[str, Callable[[], object]] = {
            "read_bytes": lambda: store.read_bytes("d/missing.txt"),
            "read": lambda: store.read("d/missing.txt").close(),
            "read_range": lambda: store.read_range("d/missing.txt", 1, 4),
            "read_seekable": lambda: store.read_seekable("d/missing.txt").read(),
            "get_file_info": lambda: store.get_file_info("d/missing.txt"),
            "head": lambda: store.head("d/missing.txt"),
        }
        with pytest.raises(NotFound) as info:
            calls[method]()
        err = info.value
        assert isinstance(err, FileNotFoundError)
        assert err.path == "d/missing.txt"
        assert err.backend == store.backend.type_name
        assert store.root_path not in str(err)

    # spec: STORE-005, ERR-010
    def test_empty_range_of_a_missing_file_is_not_found(self, store: Store, seed: Seed) -> None:
        seed(store, {"present.txt": b"p"})
        with pytest.raises(NotFound):
            store.read_range("missing.txt", 3, 3)

    # spec: STORE-036, ERR-003
    def test_child_store_reads_relative_to_its_root(self, store: Store, seed: Seed) -> None:
        seed(store, {"sub/dir/f.txt": b"child"})
        child = store.child("sub")
        assert child.read_bytes("dir/f.txt") == b"child"
        assert child.exists("dir/f.txt") and not child.exists("f.txt")
        with pytest.raises(NotFound) as info:
            child.read_bytes("dir/nope.txt")
        assert info.value.path == "dir/nope.txt"

    # spec: STORE-039
    def test_parallel_reads_from_threads(self, store: Store, seed: Seed) -> None:
        files = {f"t/{i}.bin": bytes([i]) * (1000 + i) for i in range(8)}
        seed(store, files)
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for _ in range(5):
                    path = f"t/{i}.bin"
                    assert store.read_bytes(path) == files[path]
                    assert store.read_range(path, 10, 20) == files[path][10:20]
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors

    # spec: STORE-038
    @requires(persistent=True)
    def test_unpickled_store_reads_the_same_files(self, store: Store, seed: Seed) -> None:
        seed(store, {"p.txt": b"pickled"})
        copy = pickle.loads(pickle.dumps(store))
        try:
            assert copy.read_bytes("p.txt") == b"pickled"
        finally:
            copy.close()

    # spec: STORE-002, CONF-007
    @requires(lacks=[C.WRITE])
    @pytest.mark.parametrize(
        "method", [pytest.param(m, marks=requires(lacks=[GATES[m]]), id=m) for m in CHANGING]
    )
    def test_changes_are_refused_before_any_io(
        self, registry_factory: RegistryFactory, seed: Seed, method: str
    ) -> None:
        store = registry_factory.store(layers=[probe_layer()])
        seed(store, {"f.bin": DIGITS, "d/x.bin": b"x"})
        with no_calls(store.unwrap(ProbeLayer)), pytest.raises(CapabilityNotSupported) as info:
            call_gated(store, method)
        assert info.value.capability == GATES[method].value
        assert store.read_bytes("f.bin") == DIGITS
        assert store.read_bytes("d/x.bin") == b"x"
