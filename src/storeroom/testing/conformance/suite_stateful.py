"""A hypothesis state machine: random operation sequences against a plain-dict model.

The model is a ``dict`` of file path → content, so it is obviously right. Folder
existence differs between flat and real-folder backends, so folders are
checked only where every backend agrees: a folder holding files is a folder,
and (on flat backends) a folder without files is not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from storeroom.capabilities import Capability as C
from storeroom.errors import AlreadyExists, DirectoryNotEmpty, NotFound
from storeroom.store import Store
from storeroom.testing.conformance._helpers import paths, tree
from storeroom.testing.conformance._support import Profile, requires

__all__ = ["StatefulSuite", "make_store_machine"]

#: Leaf files only: no path is both a file and a folder, so every backend agrees.
FILES = ("a.bin", "b.bin", "d1/a.bin", "d1/b.bin", "d1/d2/c.bin", "d3/x.bin")
FOLDERS = ("d1", "d1/d2", "d3")
MACHINE_SETTINGS = settings(max_examples=30, stateful_step_count=20, deadline=None)

file_paths = st.sampled_from(FILES)
folder_paths = st.sampled_from(FOLDERS)
contents = st.binary(max_size=48)


def _raises(kinds: tuple[type[BaseException], ...], call: Callable[[], object]) -> type | None:
    """Run ``call``; return the class of an expected error, or None when it succeeded."""
    try:
        call()
    except kinds as exc:
        return type(exc)
    return None


def make_store_machine(
    store_factory: Callable[[], Store], *, real_folders: bool
) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one target: each run gets ``store_factory()``."""

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.store = store_factory()
            self.model: dict[str, bytes] = {}

        def _under(self, folder: str) -> list[str]:
            return [p for p in self.model if p.startswith(folder + "/")]

        @rule(path=file_paths, data=contents, overwrite=st.booleans())
        def write(self, path: str, data: bytes, overwrite: bool) -> None:
            if path in self.model and not overwrite:
                err = _raises((AlreadyExists,), lambda: self.store.write(path, data))
                assert err is AlreadyExists
                return
            self.store.write(path, data, overwrite=overwrite)
            self.model[path] = data

        @rule(path=file_paths, missing_ok=st.booleans())
        def delete(self, path: str, missing_ok: bool) -> None:
            err = _raises((NotFound,), lambda: self.store.delete(path, missing_ok=missing_ok))
            if path in self.model:
                assert err is None
                del self.model[path]
            else:
                assert err is (None if missing_ok else NotFound)

        def _transfer(self, method: str, src: str, dst: str, overwrite: bool) -> None:
            def call() -> object:
                return getattr(self.store, method)(src, dst, overwrite=overwrite)

            err = _raises((NotFound, AlreadyExists), call)
            if src not in self.model:
                if dst in self.model and not overwrite and src != dst:
                    assert err in (NotFound, AlreadyExists)  # either check may come first
                else:
                    assert err is NotFound
                return
            if src == dst:
                assert err is None
                return
            if dst in self.model and not overwrite:
                assert err is AlreadyExists
                return
            assert err is None
            self.model[dst] = self.model[src]
            if method == "move":
                del self.model[src]

        @rule(src=file_paths, dst=file_paths, overwrite=st.booleans())
        def move(self, src: str, dst: str, overwrite: bool) -> None:
            self._transfer("move", src, dst, overwrite)

        @rule(src=file_paths, dst=file_paths, overwrite=st.booleans())
        def copy(self, src: str, dst: str, overwrite: bool) -> None:
            self._transfer("copy", src, dst, overwrite)

        @rule(path=file_paths)
        def read(self, path: str) -> None:
            if path in self.model:
                data = self.model[path]
                assert self.store.read_bytes(path) == data
                assert self.store.read_range(path, 1, 7) == data[1:7]
            else:
                assert _raises((NotFound,), lambda: self.store.read_bytes(path)) is NotFound

        @rule(path=file_paths)
        def exists(self, path: str) -> None:
            present = path in self.model
            assert self.store.exists(path) is present
            assert self.store.is_file(path) is present
            assert self.store.is_folder(path) is False

        @rule(folder=folder_paths)
        def folder(self, folder: str) -> None:
            if self._under(folder):
                assert self.store.is_folder(folder) and self.store.exists(folder)
                assert not self.store.is_file(folder)
            elif not real_folders:
                assert not self.store.is_folder(folder)

        @rule()
        def listing(self) -> None:
            assert paths(self.store.list_files(recursive=True)) == sorted(self.model)

        @rule(folder=folder_paths, recursive=st.booleans(), missing_ok=st.booleans())
        def delete_folder(self, folder: str, recursive: bool, missing_ok: bool) -> None:
            def call() -> None:
                self.store.delete_folder(folder, recursive=recursive, missing_ok=missing_ok)

            err = _raises((NotFound, DirectoryNotEmpty), call)
            inside = self._under(folder)
            if inside and not recursive:
                assert err is DirectoryNotEmpty
            elif inside:
                assert err is None
                for p in inside:
                    del self.model[p]
            else:
                allowed: set[type | None] = {None}
                if not missing_ok:
                    allowed.add(NotFound)
                if real_folders and not recursive:
                    allowed.add(DirectoryNotEmpty)  # may still hold empty sub-folders
                assert err in allowed, err

        def teardown(self) -> None:
            assert tree(self.store) == self.model

    return StoreMachine


@requires(C.READ, C.WRITE, C.DELETE, C.LIST, C.MOVE, C.COPY)
class StatefulSuite:
    """Random sequences of write/overwrite/delete/move/copy/read/list/exists/delete_folder."""

    # spec: STORE-011, STORE-018, STORE-019, STORE-028, STORE-029, STORE-030, STORE-035
    def test_store_behaves_like_the_model(self, store: Store, target_profile: Profile) -> None:
        machine = make_store_machine(
            lambda: store.child(uuid.uuid4().hex), real_folders=target_profile.real_folders
        )
        run_state_machine_as_test(machine, settings=MACHINE_SETTINGS)
