"""Errors: the right class for each failure, with context and cause; no native errors or secrets."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from storeroom.capabilities import Capability as C
from storeroom.config.secret import is_secret_key
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    CapabilityNotSupported,
    ConfigError,
    DirectoryNotEmpty,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)
from storeroom.registry import Registry
from storeroom.store import GATES, Store
from storeroom.testing.conformance._helpers import tree
from storeroom.testing.conformance._support import (
    PRIMITIVES,
    InjectedFailure,
    Profile,
    RegistryFactory,
    probe_layer,
    requires,
)
from storeroom.testing.conformance.targets import Target

__all__ = ["ErrorSuite"]

Call = Callable[[Store], object]

MISSING: dict[str, Call] = {
    "read": lambda s: s.read("dir/missing.bin").close(),
    "read_bytes": lambda s: s.read_bytes("dir/missing.bin"),
    "read_text": lambda s: s.read_text("dir/missing.bin"),
    "read_range": lambda s: s.read_range("dir/missing.bin", 0, 4),
    "read_seekable": lambda s: s.read_seekable("dir/missing.bin").read(),
    "delete": lambda s: s.delete("dir/missing.bin"),
    "move": lambda s: s.move("dir/missing.bin", "dir/other.bin"),
    "copy": lambda s: s.copy("dir/missing.bin", "dir/other.bin"),
    "get_file_info": lambda s: s.get_file_info("dir/missing.bin"),
    "head": lambda s: s.head("dir/missing.bin"),
    "delete_folder": lambda s: s.delete_folder("dir/missing.bin"),
    "get_folder_info": lambda s: s.get_folder_info("dir/missing.bin"),
}

#: (primitive to break, Store call that reaches it).
INJECT: list[tuple[str, str, Call]] = [
    ("open_read", "read_bytes", lambda s: s.read_bytes("f.bin")),
    ("write", "write", lambda s: s.write("f.bin", b"x")),
    ("delete", "delete", lambda s: s.delete("f.bin")),
    ("list", "list_files", lambda s: list(s.list_files(recursive=True))),
    ("stat", "get_file_info", lambda s: s.get_file_info("f.bin")),
    ("exists", "exists", lambda s: s.exists("f.bin")),
    ("is_folder", "is_folder", lambda s: s.is_folder("d")),
    ("remove_folder", "delete_folder", lambda s: s.delete_folder("d", recursive=True)),
    ("copy", "copy", lambda s: s.copy("f.bin", "g.bin")),
    ("move", "move", lambda s: s.move("f.bin", "g.bin")),
    ("ping", "ping", lambda s: s.ping()),
]


def _has_secrets(target: Target, profile: Profile) -> bool:
    return bool(_config_secrets(target, Path(tempfile.gettempdir())))


def _config_secrets(target: Target, tmp_path: Path) -> list[str]:
    found = list(target.secrets)
    stack = [target.backend_table(tmp_path).get("options") or {}]
    while stack:
        table = stack.pop()
        for key, value in table.items():
            if isinstance(value, dict):
                stack.append(value)
            elif isinstance(value, str) and value and is_secret_key(str(key)):
                found.append(value)
    return found


class ErrorSuite:
    """ERR-*: every failure is a StoreroomError with store-relative context."""

    # spec: ERR-001
    @pytest.mark.parametrize(
        ("cls", "builtin"),
        [
            (NotFound, FileNotFoundError),
            (AlreadyExists, FileExistsError),
            (PermissionDenied, PermissionError),
            (BackendUnavailable, ConnectionError),
            (InvalidPath, ValueError),
            (InvalidArgument, TypeError),
            (InvalidArgument, ValueError),
            (CapabilityNotSupported, NotImplementedError),
            (DirectoryNotEmpty, OSError),
            (ConfigError, ValueError),
        ],
    )
    def test_error_classes_are_also_builtins(
        self, cls: type[StoreroomError], builtin: type[Exception]
    ) -> None:
        assert issubclass(cls, StoreroomError)
        assert issubclass(cls, builtin)

    # spec: ERR-001, STORE-018, STORE-032
    @requires(C.WRITE)
    @pytest.mark.parametrize(
        "method", [pytest.param(m, marks=requires(GATES[m]), id=m) for m in sorted(MISSING)]
    )
    def test_missing_file_is_not_found(self, store: Store, method: str) -> None:
        store.write("dir/present.bin", b"p")
        with pytest.raises(NotFound) as info:
            MISSING[method](store)
        err = info.value
        assert isinstance(err, FileNotFoundError) and isinstance(err, StoreroomError)
        assert err.path == "dir/missing.bin"

    # spec: ERR-003, ERR-004, PATH-010
    @requires(C.READ, C.WRITE, C.DELETE, C.LIST)
    def test_errors_carry_store_relative_context(self, store: Store, target: Target) -> None:
        store.write("d/f.bin", b"f")
        backend = store.backend.type_name
        cases: list[tuple[type[StoreroomError], str, str, Call]] = [
            (NotFound, "d/missing.bin", "read_bytes", lambda s: s.read_bytes("/d//missing.bin")),
            (NotFound, "d/missing.bin", "delete", lambda s: s.delete("d/missing.bin")),
            (AlreadyExists, "d/f.bin", "write", lambda s: s.write("d/f.bin", b"x")),
            (DirectoryNotEmpty, "d", "delete_folder", lambda s: s.delete_folder("d")),
            (InvalidPath, "", "delete_folder", lambda s: s.delete_folder("")),
        ]
        for cls, path, operation, call in cases:
            with pytest.raises(cls) as info:
                call(store)
            err = info.value
            assert err.path == path, f"{operation}: path {err.path!r}"
            assert err.backend == backend, f"{operation}: backend {err.backend!r}"
            assert err.operation in (operation, *PRIMITIVES), err.operation
            assert err.store == "s"
            text = str(err)
            assert repr(path) in text and repr(backend) in text, text
            if path:
                assert store.root_path not in (err.path or "")

    # spec: ERR-003, STORE-036
    @requires(C.READ, C.WRITE)
    def test_child_store_errors_are_relative_to_the_child(self, store: Store) -> None:
        child = store.child("a/b")
        with pytest.raises(NotFound) as info:
            child.read_bytes("c/missing.bin")
        assert info.value.path == "c/missing.bin"
        child.write("c/f.bin", b"f")
        with pytest.raises(AlreadyExists) as exists:
            child.write("c/f.bin", b"f")
        assert exists.value.path == "c/f.bin"

    # spec: ERR-005
    @requires(C.READ)
    def test_mapped_native_error_keeps_its_cause(self, registry_factory: RegistryFactory) -> None:
        store = registry_factory.store(layers=[probe_layer(fail_on="open_read", fail="mapped")])
        with pytest.raises(NotFound) as info:
            store.read_bytes("f.bin")
        assert isinstance(info.value.__cause__, FileNotFoundError), (
            "the native error a backend mapped must stay available as __cause__"
        )

    # spec: ERR-002, ERR-005
    @pytest.mark.parametrize("kind", ["native", "runtime"])
    @pytest.mark.parametrize(
        ("primitive", "method", "call"),
        [
            pytest.param(p, m, c, id=p, marks=requires(GATES[m]) if m in GATES else ())
            for p, m, c in INJECT
        ],
    )
    def test_unmapped_backend_exceptions_become_unexpected_error(
        self,
        registry_factory: RegistryFactory,
        primitive: str,
        method: str,
        call: Call,
        kind: str,
    ) -> None:
        store = registry_factory.store(layers=[probe_layer(fail_on=primitive, fail=kind)])
        with pytest.raises(StoreroomError) as info:
            call(store)
        err = info.value
        assert isinstance(err, UnexpectedError), type(err)
        assert err.backend == store.backend.type_name
        expected = OSError if kind == "native" else InjectedFailure
        assert isinstance(err.__cause__, expected), (
            f"__cause__ is {err.__cause__!r}, expected the original {expected.__name__}"
        )

    # spec: ERR-007
    @requires(C.READ)
    def test_errors_pickle_with_context(self, store: Store) -> None:
        with pytest.raises(NotFound) as info:
            store.read_bytes("d/missing.bin")
        copy = pickle.loads(pickle.dumps(info.value))
        assert type(copy) is NotFound
        assert (copy.path, copy.backend, copy.operation, copy.store, str(copy)) == (
            info.value.path,
            info.value.backend,
            info.value.operation,
            info.value.store,
            str(info.value),
        )

    # spec: ERR-006
    @requires(C.READ, C.WRITE, when=_has_secrets)
    def test_no_secret_in_errors_or_reprs(
        self, store: Store, registry: Registry, target: Target, tmp_path: Path
    ) -> None:
        secrets = _config_secrets(target, tmp_path)
        store.write("f.bin", b"f")
        texts = [repr(store), str(store), repr(registry), repr(store.backend)]
        texts.append(repr(store.resolve("f.bin")))
        texts.append(repr(registry.config))
        for call in (
            lambda: store.read_bytes("missing.bin"),
            lambda: store.write("f.bin", b"x"),
            lambda: store.read_bytes("../x"),
        ):
            with pytest.raises(StoreroomError) as info:
                call()
            texts.extend([str(info.value), repr(info.value)])
        for secret in secrets:
            for text in texts:
                assert secret not in text

    # spec: ERR-006
    @requires(C.READ, C.WRITE)
    def test_credential_options_never_show(self, registry_factory: RegistryFactory) -> None:
        secret = "pl41n-t3xt-cr3dential"
        registry = registry_factory(layers=[probe_layer(token=secret)])
        store = registry.get_store("s")
        store.write("f.bin", b"f")
        texts = [repr(store), repr(registry), repr(registry.config), repr(store.backend)]
        texts.append(repr(store.resolve("f.bin")))
        texts.append(str(registry.config.to_dict()))
        for call in (
            lambda: store.read_bytes("missing.bin"),
            lambda: store.write("f.bin", b"x"),
            lambda: store.delete_folder(""),
        ):
            with pytest.raises(StoreroomError) as info:
                call()
            texts.extend([str(info.value), repr(info.value)])
        leaked = [text for text in texts if secret in text]
        assert not leaked

    # spec: ERR-002, STORE-008
    @requires(C.READ, C.WRITE, C.LIST)
    def test_callers_source_exception_propagates_unchanged(self, store: Store) -> None:
        class SourceError(Exception):
            pass

        def chunks() -> object:
            yield b"abc"
            raise SourceError("mine")

        with pytest.raises(SourceError):
            store.write("s.bin", chunks())
        store.write("ok.bin", b"ok")
        assert tree(store).get("ok.bin") == b"ok"
