"""Property tests (hypothesis): paths and contents drawn at random must round-trip."""

from __future__ import annotations

import io
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storeroom.capabilities import Capability as C
from storeroom.errors import InvalidPath
from storeroom.path import normalize
from storeroom.store import Store
from storeroom.testing.conformance._helpers import paths
from storeroom.testing.conformance._support import requires

__all__ = ["SEGMENTS", "PropertySuite", "segment"]

# pytest makes a new suite instance per target (a "different executor" to hypothesis).
# The drawn inputs never depend on the target, so replaying one target's example on
# another is sound; the per-example store paths are unique, so the function-scoped
# store fixture is safe to share between examples.
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.differing_executors,
        HealthCheck.too_slow,
    ],
)


def _portable(seg: str) -> bool:
    return seg not in (".", "..") and seg == seg.strip() and not seg.endswith(".")


#: One valid, portable path segment: letters and digits of any script, spaces,
#: ``-_.+=@~`` and a few symbols; never ``.``/``..``, no edge spaces, no trailing dot.
segment = st.text(
    alphabet=st.characters(
        categories=("L", "N", "Zs"),
        include_characters="-_.+=@~,()",
        exclude_characters="\x00/\\",
    ),
    min_size=1,
    max_size=12,
).filter(_portable)
SEGMENTS = st.lists(segment, min_size=1, max_size=4)
SEPARATORS = st.sampled_from(["/", "\\", "//", "/./", "\\.\\", "/\\"])
LEADING = st.sampled_from(["", "/", "\\", "./", "//", "/./"])
TRAILING = st.sampled_from(["", "/", "\\", "/.", "//", "/./"])


@st.composite
def messy_spelling(draw: st.DrawFn, segments: list[str]) -> str:
    """``segments`` joined with random separators and edge noise."""
    out = draw(LEADING)
    for i, seg in enumerate(segments):
        out += (draw(SEPARATORS) if i else "") + seg
    return out + draw(TRAILING)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    out, last = [], 0
    for p in [*points, len(data)]:
        out.append(data[last:p])
        last = p
    return out


class PropertySuite:
    """PATH-003/007/009 and STORE-005/006/007 over random inputs."""

    # spec: PATH-003, PATH-004, PATH-007
    @PROPERTY_SETTINGS
    @given(raw=st.lists(st.sampled_from(["a", "é", " ", ".", "/", "\\", "..", "b"])).map("".join))
    def test_normalize_is_canonical_and_idempotent(self, raw: str) -> None:
        segs = [s for s in raw.replace("\\", "/").split("/") if s not in ("", ".")]
        if ".." in segs:
            try:
                normalize(raw)
            except InvalidPath:
                return
            raise AssertionError(f"{raw!r} has a '..' segment but was accepted")
        canonical = normalize(raw)
        assert canonical == "/".join(segs)
        assert normalize(canonical) == canonical
        assert not canonical.startswith("/") and not canonical.endswith("/")

    # spec: PATH-002, PATH-003, PATH-009
    @requires(C.READ, C.WRITE, C.LIST)
    @PROPERTY_SETTINGS
    @given(data=st.data(), segments=SEGMENTS, content=st.binary(max_size=256))
    def test_random_paths_round_trip(
        self, store: Store, data: st.DataObject, segments: list[str], content: bytes
    ) -> None:
        base = uuid.uuid4().hex
        canonical = "/".join([base, *segments])
        spelling = data.draw(messy_spelling(segments))
        result = store.write(f"{base}/{spelling}", content)
        assert result.path == canonical
        assert store.resolve(f"{base}/{spelling}").store_path == canonical
        assert store.read_bytes(canonical) == content
        assert store.is_file(f"{base}\\{spelling}")
        listed = list(store.list_files(base, recursive=True))
        assert paths(listed) == [canonical]
        assert listed[0].name == segments[-1]

    # spec: STORE-007
    @requires(C.READ, C.WRITE)
    @PROPERTY_SETTINGS
    @given(content=st.binary(max_size=5000), cuts=st.lists(st.integers(0, 5000), max_size=6))
    def test_random_bytes_round_trip(self, store: Store, content: bytes, cuts: list[int]) -> None:
        path = f"{uuid.uuid4().hex}/blob.bin"
        assert store.write(path, _chunks(content, cuts)).size == len(content)
        assert store.read_bytes(path) == content
        with store.read(path) as stream:
            assert stream.read() == content

    # spec: STORE-005
    @requires(C.READ, C.WRITE)
    @PROPERTY_SETTINGS
    @given(content=st.binary(max_size=3000), data=st.data())
    def test_read_range_equals_slicing(
        self, store: Store, content: bytes, data: st.DataObject
    ) -> None:
        path = f"{uuid.uuid4().hex}.bin"
        store.write(path, content)
        for _ in range(4):
            start = data.draw(st.integers(0, len(content) + 20), label="start")
            end = data.draw(st.none() | st.integers(start, len(content) + 40), label="end")
            assert store.read_range(path, start, end) == content[start:end]

    # spec: STORE-006
    @requires(C.READ, C.WRITE)
    @PROPERTY_SETTINGS
    @given(content=st.binary(max_size=3000), data=st.data())
    def test_read_seekable_equals_slicing(
        self, store: Store, content: bytes, data: st.DataObject
    ) -> None:
        path = f"{uuid.uuid4().hex}.bin"
        store.write(path, content)
        with store.read_seekable(path) as fh:
            for _ in range(5):
                whence = data.draw(st.sampled_from([io.SEEK_SET, io.SEEK_CUR, io.SEEK_END]))
                here = fh.tell()
                base = {io.SEEK_SET: 0, io.SEEK_CUR: here, io.SEEK_END: len(content)}[whence]
                offset = data.draw(st.integers(-base, len(content) + 10 - base))
                pos = fh.seek(offset, whence)
                assert pos == base + offset == fh.tell()
                size = data.draw(st.integers(-1, 300))
                got = fh.read(size)
                want = content[pos:] if size < 0 else content[pos : pos + size]
                assert got == want
                assert fh.tell() == pos + len(got)
