"""Running for real: threads sharing a Store, and Stores/Registries crossing process boundaries."""

from __future__ import annotations

import multiprocessing
import pickle
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from storeroom.capabilities import Capability as C
from storeroom.errors import AlreadyExists, NotFound
from storeroom.registry import Registry
from storeroom.store import Store
from storeroom.testing.conformance._helpers import paths
from storeroom.testing.conformance._support import requires
from storeroom.testing.conformance._workers import read_and_write, registry_read
from storeroom.testing.conformance.targets import Target

__all__ = ["ConcurrencySuite", "PickleSuite"]

THREADS = 8


@requires(C.READ, C.WRITE, C.LIST)
class ConcurrencySuite:
    """STORE-039: a Store is safe to share between threads."""

    # spec: STORE-039
    def test_threads_writing_and_reading_different_files(self, store: Store) -> None:
        per_thread = 12

        def work(n: int) -> None:
            for i in range(per_thread):
                path = f"t{n}/f{i:02d}.bin"
                data = f"{n}:{i}".encode() * (i + 1)
                store.write(path, data)
                assert store.read_bytes(path) == data
                store.write(path, data + b"!", overwrite=True)
                assert store.read_bytes(path) == data + b"!"

        with ThreadPoolExecutor(THREADS) as pool:
            for future in [pool.submit(work, n) for n in range(THREADS)]:
                future.result()
        listed = paths(store.list_files(recursive=True))
        expected = sorted(f"t{n}/f{i:02d}.bin" for n in range(THREADS) for i in range(per_thread))
        assert listed == expected

    # spec: STORE-039, STORE-011
    @pytest.mark.parametrize(
        "method", ["write", pytest.param("write_atomic", marks=requires(C.ATOMIC_WRITE))]
    )
    def test_concurrent_create_only_writes_have_one_winner(self, store: Store, method: str) -> None:
        for round_ in range(5):
            path = f"race/{round_}.bin"
            barrier = threading.Barrier(THREADS)
            outcomes: list[str] = [""] * THREADS

            def contend(
                n: int,
                path: str = path,
                barrier: threading.Barrier = barrier,
                outcomes: list[str] = outcomes,
            ) -> None:
                payload = f"writer {n} ".encode() * 500
                barrier.wait()
                try:
                    getattr(store, method)(path, payload)
                    outcomes[n] = "won"
                except AlreadyExists:
                    outcomes[n] = "lost"
                except Exception as exc:
                    outcomes[n] = f"{type(exc).__name__}: {exc}"

            threads = [threading.Thread(target=contend, args=(n,)) for n in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert outcomes.count("won") == 1, outcomes
            assert outcomes.count("lost") == THREADS - 1, outcomes
            winner = outcomes.index("won")
            assert store.read_bytes(path) == f"writer {winner} ".encode() * 500

    # spec: STORE-039
    def test_concurrent_overwrites_leave_one_complete_version(self, store: Store) -> None:
        payloads = [bytes([65 + n]) * 200_000 for n in range(THREADS)]
        barrier = threading.Barrier(THREADS)

        def overwrite(n: int) -> None:
            barrier.wait()
            store.write("shared.bin", payloads[n], overwrite=True)

        with ThreadPoolExecutor(THREADS) as pool:
            for future in [pool.submit(overwrite, n) for n in range(THREADS)]:
                future.result()
        assert store.read_bytes("shared.bin") in payloads

    # spec: STORE-028, BACKEND-013
    @requires(C.MOVE, C.ATOMIC_MOVE)
    @pytest.mark.parametrize("overwrite", [False, True])
    def test_racing_moves_of_one_file_keep_exactly_one_copy(
        self, store: Store, overwrite: bool
    ) -> None:
        for trial in range(10):
            folder = f"race{trial}"
            store.write(f"{folder}/src.bin", b"payload %d" % trial)
            barrier = threading.Barrier(THREADS)
            outcomes: list[str] = [""] * THREADS

            def mover(
                n: int,
                folder: str = folder,
                barrier: threading.Barrier = barrier,
                outcomes: list[str] = outcomes,
            ) -> None:
                barrier.wait()
                try:
                    store.move(f"{folder}/src.bin", f"{folder}/dst{n}.bin", overwrite=overwrite)
                    outcomes[n] = "won"
                except NotFound:
                    outcomes[n] = "lost"
                except Exception as exc:
                    outcomes[n] = f"{type(exc).__name__}: {exc}"

            threads = [threading.Thread(target=mover, args=(n,)) for n in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert outcomes.count("won") == 1, (trial, outcomes)
            assert outcomes.count("lost") == THREADS - 1, (trial, outcomes)
            winner = f"{folder}/dst{outcomes.index('won')}.bin"
            assert paths(store.list_files(folder)) == [winner], trial
            assert store.read_bytes(winner) == b"payload %d" % trial


@requires(C.READ, C.WRITE)
class PickleSuite:
    """STORE-038: Stores and Registries pickle as configuration."""

    # spec: STORE-038
    def test_store_pickles_as_configuration(self, store: Store) -> None:
        store.write("p/f.bin", b"pickled")
        copy = pickle.loads(pickle.dumps(store))
        assert isinstance(copy, Store)
        assert copy.root_path == store.root_path
        assert copy.name == store.name
        assert copy.capabilities == store.capabilities
        assert copy.backend.type_name == store.backend.type_name
        copy.write("p/new.bin", b"works")
        assert copy.read_bytes("p/new.bin") == b"works"

    # spec: STORE-038
    @requires(persistent=True)
    def test_unpickled_store_sees_the_same_files(self, store: Store) -> None:
        store.write("p/f.bin", b"pickled")
        copy = pickle.loads(pickle.dumps(store))
        assert copy.read_bytes("p/f.bin") == b"pickled"
        copy.write("p/g.bin", b"from copy")
        assert store.read_bytes("p/g.bin") == b"from copy"

    # spec: STORE-038
    @requires(persistent=False)
    def test_unpickled_non_persistent_store_starts_empty(self, store: Store) -> None:
        store.write("p/f.bin", b"pickled")
        copy = pickle.loads(pickle.dumps(store))
        assert not copy.exists("p/f.bin")
        copy.write("p/f.bin", b"separate")
        assert store.read_bytes("p/f.bin") == b"pickled"

    # spec: STORE-038
    def test_registry_pickles_as_configuration(
        self, registry: Registry, store: Store, target: Target
    ) -> None:
        store.write("f.bin", b"r")
        copy = pickle.loads(pickle.dumps(registry))
        with copy:
            assert copy.store_names == registry.store_names
            again = copy.get_store("s")
            assert again.root_path == store.root_path
            assert again.exists("f.bin") is target.persistent

    # spec: STORE-038
    @requires(cross_process=True)
    def test_store_round_trips_through_a_spawned_process(self, store: Store) -> None:
        store.write("mp/in.bin", b"hello worker")
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            got = pool.submit(read_and_write, store, "mp/in.bin", "mp/out.bin").result(timeout=120)
        assert got == b"hello worker"
        assert store.read_bytes("mp/out.bin") == b"hello worker"[::-1]

    # spec: STORE-038
    @requires(cross_process=True)
    def test_registry_round_trips_through_a_spawned_process(
        self, registry: Registry, store: Store
    ) -> None:
        store.write("mp/r.bin", b"via registry")
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            got = pool.submit(registry_read, registry, "s", "mp/r.bin").result(timeout=120)
        assert got == b"via registry"
