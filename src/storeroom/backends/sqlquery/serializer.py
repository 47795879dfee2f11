"""Query results to file bytes: remote-store's ``ResultSerializer`` / ``ArrowSerializer`` names.

``ArrowSerializer`` encodes with the ``sql-query`` backend's own renderer
(``_render.ResultStream``), so both give the same bytes for the same rows.
pyarrow is imported on first use (spec SQLQ-020..).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from storeroom.errors import InvalidArgument

__all__ = ["FORMAT_ALIASES", "ArrowSerializer", "ResultSerializer", "SerializedResult"]

#: remote-store's format names that storeroom spells differently.
FORMAT_ALIASES = {"ipc": "arrow"}


@runtime_checkable
class ResultSerializer(Protocol):
    """Turns the rows and column names of a query result into the bytes of one file format."""

    def serialize(self, rows: Sequence[Any], columns: Sequence[str], format: str) -> bytes:
        """The bytes of ``rows`` (tuples, in ``columns`` order) as ``format``."""
        ...


class ArrowSerializer:
    """``ResultSerializer`` over pyarrow: ``"parquet"``, ``"csv"``, ``"arrow"`` (IPC stream).

    Column types are inferred by Arrow; an empty result has ``null`` columns.
    """

    def serialize(self, rows: Sequence[Any], columns: Sequence[str], format: str) -> bytes:
        """The bytes of ``rows`` as ``format``; ``InvalidArgument`` for another format."""
        from storeroom.backends.sqlquery._render import ResultStream
        from storeroom.backends.sqlquery.config import FORMATS

        fmt = FORMAT_ALIASES.get(format, format)
        if fmt not in FORMATS:
            raise InvalidArgument(
                f"format: expected one of {', '.join(FORMATS)}, got {format!r}",
                backend="sql-query",
            )
        width = len(columns)
        bad = next((r for r in rows if len(r) != width), None)
        if bad is not None:
            raise InvalidArgument(
                f"rows: every row needs {width} values (one per column), one has {len(bad)}",
                backend="sql-query",
            )
        stream = ResultStream(
            iter([list(rows)] if rows else []),
            columns,
            fmt,
            {},
            fail=lambda exc: exc,
            release=lambda: None,
        )
        with stream:
            return stream.readall()


class SerializedResult(io.BytesIO):
    """Bytes ``[skip, skip+limit)`` of a whole result encoded by a caller's serializer."""

    def __init__(
        self,
        serializer: ResultSerializer,
        rows: Sequence[Any],
        columns: Sequence[str],
        fmt: str,
        skip: int = 0,
        limit: int | None = None,
    ) -> None:
        data = serializer.serialize(rows, columns, fmt)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgument(
                f"serializer: serialize() returned {type(data).__name__}, expected bytes",
                backend="sql-query",
            )
        data = bytes(data)
        super().__init__(data[skip:] if limit is None else data[skip : skip + limit])

    def count(self) -> int:
        """The number of bytes left to read (read to the end, keeping nothing)."""
        left = len(self.getbuffer()) - self.tell()
        self.seek(0, io.SEEK_END)
        return left
