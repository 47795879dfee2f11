"""Random operation sequences with odd inputs: only storeroom errors escape (ERR-002, ERR-011).

Hypothesis drives every Store method with wrong types, ``None``, huge and
negative ranges, lone surrogates, unknown encodings and bad patterns on a
real directory (local), memory (registry-built and built directly) and a
real SQLite file. Whatever happens, an exception is a ``StoreroomError``, a
plain ``TypeError`` for an argument of the wrong type, or the very exception
the caller's own content source raised; never ``UnexpectedError`` (that is a
gap in an error mapping).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storeroom import Registry, Store
from storeroom.backends import MemoryBackend
from storeroom.backends.sql import SQLBlobBackend
from storeroom.config import RegistryConfig
from storeroom.errors import (
    ConfigError,
    InvalidArgument,
    InvalidPath,
    StoreroomError,
    UnexpectedError,
)


class SourceFailure(OSError):
    """What the caller's own content source raises; must reach the caller as it is."""


class _FailingReader(io.RawIOBase):
    """A binary file object whose ``read`` fails after the first chunk."""

    def __init__(self) -> None:
        super().__init__()
        self.error = SourceFailure(5, "disk gone")
        self._sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        if self._sent:
            raise self.error
        self._sent = True
        buf[:3] = b"abc"
        return 3


def _failing_chunks(error: SourceFailure) -> Iterator[bytes]:
    yield b"xyz"
    raise error


def _registry_store(kind: str, tmp: Path) -> Store:
    options: dict[str, Any] = {}
    if kind == "local":
        options = {"root": str(tmp / "files")}
    elif kind == "sqlite":
        options = {"url": f"sqlite:///{tmp / 'blobs.db'}"}
    btype = {"local": "local", "memory": "memory", "sqlite": "sql-blob"}[kind]
    config = {
        "backends": {"b": {"type": btype, "options": options}},
        "stores": {"s": {"backend": "b", "root_path": "root"}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("s")


@pytest.fixture(params=["local", "memory", "memory-direct", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind: str = request.param
    if kind == "memory-direct":
        built = Store(MemoryBackend(), "root")
    else:
        built = _registry_store(kind, tmp_path)
    yield built
    built.close()


_names = st.sampled_from(["a.txt", "d/b.bin", "d/e/c", "d", "x y", "ü/ñ.txt"])
_odd_paths = st.one_of(
    _names,
    st.text(max_size=6),  # includes lone surrogates, NUL, '..', '\\'
    st.sampled_from(["", "/", "..", "a/../b", "\ud800", "a/\udcff.txt", "a\x00b", "é\ud83d"]),
    st.none(),
    st.integers(),
    st.binary(max_size=3),
    st.just(["a"]),
)
_ints = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63), -(2**64)]),
)
_offsets = st.one_of(_ints, st.none(), st.floats(allow_nan=True), st.just("3"), st.just(True))
_encodings = st.one_of(
    st.sampled_from(["utf-8", "ascii", "utf-16", "latin-1", "no-such-codec", "rot13", "hex"]),
    st.sampled_from(["", "utf-8\x00", "\ud800"]),
    st.none(),
    st.integers(),
)
_error_modes = st.one_of(
    st.sampled_from(["strict", "replace", "surrogateescape", "bogus"]), st.none(), st.integers()
)
_texts = st.one_of(
    st.text(max_size=8),  # lone surrogates included
    st.sampled_from(["\ud800", "a\udfffb", "ü", "€"]),
    st.none(),
    st.binary(max_size=3),
    st.integers(),
)
_patterns = st.one_of(
    st.sampled_from(["*", "**", "*.txt", "d/**", "**/*.bin", "[z-a]", "[", "a[b", "[!]", "[]"]),
    st.sampled_from(["[a-]", "**/" * 10 + "c", "*a" * 8 + "b", "\ud800*", "?"]),
    st.text(alphabet="*?[]!^-a/", max_size=8),
    st.none(),
    st.integers(),
)
_depths = st.one_of(
    st.integers(min_value=-2, max_value=4), st.sampled_from([2**63, 10**30]), st.none()
)
_depths = _depths | st.just("1") | st.just(1.5)
_metadata = st.one_of(
    st.none(),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
    st.just({"k": 1}),
    st.just([("k", "v")]),
)
_bools = st.booleans() | st.none() | st.just("yes")
_content = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=4),
    st.none(),
    st.integers(),
    st.just([b"a", b"b"]),
    st.just([b"a", "b"]),
    st.just([1, 2]),
    st.just("failing-reader"),
    st.just("failing-chunks"),
    st.just(bytearray(b"ba")),
)

_OPS = st.one_of(
    st.tuples(st.just("write"), _odd_paths, _content, _bools, _metadata),
    st.tuples(st.just("write_atomic"), _odd_paths, _content, _bools, _metadata),
    st.tuples(st.just("write_text"), _odd_paths, _texts, _encodings, _bools),
    st.tuples(st.just("read_bytes"), _odd_paths),
    st.tuples(st.just("read_text"), _odd_paths, _encodings, _error_modes),
    st.tuples(st.just("read_range"), _odd_paths, _offsets, _offsets),
    st.tuples(st.just("read_seekable"), _odd_paths, _ints, _ints, _ints),
    st.tuples(st.just("read"), _odd_paths, _ints),
    st.tuples(st.just("delete"), _odd_paths, _bools),
    st.tuples(st.just("delete_folder"), _odd_paths, _bools, _bools),
    st.tuples(st.just("list_files"), _odd_paths, _bools, _depths, _patterns),
    st.tuples(st.just("list_folders"), _odd_paths, _depths, _patterns),
    st.tuples(st.just("iter_children"), _odd_paths),
    st.tuples(st.just("glob"), _patterns),
    st.tuples(st.just("move"), _odd_paths, _odd_paths, _bools),
    st.tuples(st.just("copy"), _odd_paths, _odd_paths, _bools),
    st.tuples(st.just("exists"), _odd_paths),
    st.tuples(st.just("is_file"), _odd_paths),
    st.tuples(st.just("is_folder"), _odd_paths),
    st.tuples(st.just("get_file_info"), _odd_paths),
    st.tuples(st.just("head"), _odd_paths),
    st.tuples(st.just("get_folder_info"), _odd_paths, _depths),
    st.tuples(st.just("child"), _odd_paths),
)


def _content_value(spec: object) -> tuple[object, BaseException | None]:
    """The content to pass and the exception it will raise itself (if any)."""
    if spec == "failing-reader":
        reader = _FailingReader()
        return reader, reader.error
    if spec == "failing-chunks":
        error = SourceFailure(5, "chunk source gone")
        return _failing_chunks(error), error
    return spec, None


def _run(store: Store, op: tuple[Any, ...]) -> None:
    """Run one operation to completion (listings consumed, streams read)."""
    name, *args = op
    if name in ("write", "write_atomic"):
        path, content, overwrite, metadata = args
        getattr(store, name)(path, content, overwrite=overwrite, metadata=metadata)
    elif name == "write_text":
        path, text, encoding, overwrite = args
        store.write_text(path, text, encoding=encoding, overwrite=overwrite)
    elif name == "read_text":
        path, encoding, errors = args
        store.read_text(path, encoding=encoding, errors=errors)
    elif name == "read_range":
        store.read_range(*args)
    elif name == "read_seekable":
        path, offset, whence, size = args
        with store.read_seekable(path) as f:
            f.seek(offset, whence % 3)
            f.read(size)
    elif name == "read":
        with store.read(args[0]) as f:
            f.read(args[1])
    elif name == "delete":
        store.delete(args[0], missing_ok=args[1])
    elif name == "delete_folder":
        store.delete_folder(args[0], recursive=args[1], missing_ok=args[2])
    elif name == "list_files":
        path, recursive, depth, pattern = args
        list(store.list_files(path, recursive=recursive, max_depth=depth, pattern=pattern))
    elif name == "list_folders":
        path, depth, pattern = args
        list(store.list_folders(path, max_depth=depth, pattern=pattern))
    elif name in ("iter_children", "glob"):
        list(getattr(store, name)(*args))
    elif name in ("move", "copy"):
        getattr(store, name)(args[0], args[1], overwrite=args[2])
    elif name == "get_folder_info":
        store.get_folder_info(args[0], max_depth=args[1])
    elif name == "child":
        list(store.child(args[0]).list_files(recursive=True))
    else:
        getattr(store, name)(*args)


def _check(store: Store, ops: list[tuple[Any, ...]]) -> None:
    for op in ops:
        own: BaseException | None = None
        if op[0] in ("write", "write_atomic"):
            value, own = _content_value(op[2])
            op = (*op[:2], value, *op[3:])
        try:
            _run(store, op)
        except UnexpectedError as exc:
            pytest.fail(f"{op!r} hit a gap in the error mapping: {exc!r} from {exc.__cause__!r}")
        except StoreroomError:
            pass
        except SourceFailure as exc:
            # spec: STORE-008 — the source's own failure passes, as the same object
            assert exc is own, op
        except TypeError as exc:
            # spec: ERR-011 — a plain TypeError only for an argument of the wrong type
            assert type(exc) is TypeError, (op, exc)
        except Exception as exc:  # the hole this test exists to find
            pytest.fail(f"{op!r} raised {type(exc).__name__}: {exc}")


# The hypothesis examples share one store per backend: state built by earlier
# operations (files, folders) makes later ones meaningful.
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(_OPS, min_size=1, max_size=12))
def test_random_operations_raise_only_storeroom_errors(
    store: Store, ops: list[tuple[Any, ...]]
) -> None:
    # spec: ERR-002, ERR-011, STORE-008
    _check(store, ops)


def test_odd_arguments_are_typed_errors(store: Store) -> None:
    # spec: STORE-004, STORE-005, STORE-010, PATH-014, ERR-011
    store.write("t.txt", "héllo".encode())
    for text, encoding in (("x", "no-such-codec"), ("x", "rot13"), ("\ud800", "utf-8")):
        with pytest.raises(InvalidArgument) as info:
            store.write_text("new.txt", text, encoding=encoding)
        assert (info.value.operation, info.value.path) == ("write_text", "new.txt")
    assert not store.exists("new.txt")
    for encoding, errors in (("no-such-codec", "strict"), ("ascii", "strict"), ("utf-8", "bogus")):
        with pytest.raises(InvalidArgument):
            store.read_text("t.txt", encoding=encoding, errors=errors)
    for start, end in ((2**63, None), (0, 2**63), (2**64, 2**65), (-1, 3)):
        with pytest.raises(InvalidArgument) as info:
            store.read_range("t.txt", start, end)
        assert info.value.path == "t.txt"
    with store.read_seekable("t.txt") as f, pytest.raises(InvalidArgument):
        f.seek(2**63)
    for call in (
        lambda: store.write("a/\udcff.txt", b"x"),
        lambda: store.exists("b\ud800"),
        lambda: list(store.glob("\ud800*")),
    ):
        with pytest.raises(InvalidPath) as bad:
            call()
        assert "\\ud" in str(bad.value.path)
    assert sorted(f.path for f in store.list_files(recursive=True)) == ["t.txt"]


# -- a directly built Store gives the registry-built store's errors ------------------


def _failures(store: Store) -> list[tuple[Any, ...]]:
    """(type, message, path, backend, operation, store) of a fixed set of failures."""
    store.write("d/f.txt", b"hello")
    calls: list[Callable[[], object]] = [
        lambda: store.read_bytes("d/missing.txt"),
        lambda: store.write("d/f.txt", b"again"),
        lambda: store.delete_folder("/"),
        lambda: store.read_range("d/f.txt", 2**63),
        lambda: store.write_text("d/t.txt", "x", encoding="no-such-codec"),
        lambda: store.write_text("d/t.txt", "\ud800"),
        lambda: list(store.glob("d/[z-a]")),
        lambda: list(store.list_files("d", max_depth=-1)),
        lambda: store.read("d/\udcff"),
        lambda: store.read("d/f.txt").read(2**63),
        lambda: store.read("d/f.txt").seek(2**63),
        lambda: store.read_seekable("d/f.txt").seek(-(2**64)),
    ]
    out: list[tuple[Any, ...]] = []
    for call in calls:
        with pytest.raises(StoreroomError) as info:
            call()
        e = info.value
        out.append((type(e), e.message, e.path, e.backend, e.operation, e.store))
    return out


def test_direct_store_errors_equal_registry_store_errors() -> None:
    # spec: STORE-001a, LAYER-070, ERR-003
    config = {
        "backends": {"m": {"type": "memory"}},
        "stores": {"s": {"backend": "m", "root_path": "root"}},
    }
    via_registry = _failures(Registry(config).get_store("s"))
    direct = _failures(Store(MemoryBackend(), "root", name="s"))
    assert direct == via_registry
    assert all(row[3] == "memory" and row[5] == "s" for row in direct)
    # The added context layer stays invisible: backend, unwrap and equality as given.
    mem = MemoryBackend()
    store = Store(mem)
    assert store.backend is mem and store.unwrap(MemoryBackend) is mem
    assert store == Store(mem) and store.child("") == store


# -- configuration files that are not UTF-8 ------------------------------------------


def test_json_config_that_is_not_utf8_is_config_error(tmp_path: Path) -> None:
    # spec: CONFIG-042
    path = tmp_path / "conf.json"
    path.write_bytes('{"a": "é"}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        RegistryConfig.from_file(path)
    assert str(path) in str(info.value)


def test_sql_backend_refuses_a_name_the_database_cannot_encode(tmp_path: Path) -> None:
    # spec: SQL-036, PATH-014 — used directly, below the Store's path check
    store = _registry_store("sqlite", tmp_path)
    backend = store.unwrap(SQLBlobBackend)
    for call in (
        lambda: backend.stat("root/a\ud800"),
        lambda: backend.write("root/b\udcff.bin", b"x"),
        lambda: backend.delete("root/\udfff"),
    ):
        with pytest.raises(InvalidPath) as info:
            call()
        assert info.value.backend == "sql-blob" and "\\ud" in str(info.value.path)
    with pytest.raises(InvalidPath):  # through the Store: refused before the backend
        store.write("a\ud800", b"x")
