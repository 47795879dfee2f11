"""The read stream of the ``sql-query`` backend: a query result rendered batch by batch.

Pull-based, on the caller's thread: each ``read`` that finds the buffer empty
fetches the next batch of rows, converts it to one Arrow ``RecordBatch`` and
feeds it to the pyarrow writer, whose output lands in a small drain buffer.
So at most one batch of rows and its encoded bytes are in memory, however
large the result; the database cursor is closed as soon as it is exhausted.
The schema is fixed by the first batch (column types inferred by Arrow,
overridden by the query's ``types``); an empty result gets ``null`` columns.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type hints
import pyarrow.csv as pa_csv  # type: ignore[import-untyped]
import pyarrow.ipc as pa_ipc  # type: ignore[import-untyped]
import pyarrow.parquet as pa_parquet  # type: ignore[import-untyped]

__all__ = ["ResultStream", "first_schema"]


class _Drain:
    """A write-only file for pyarrow's writers; ``take`` hands over what was written."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._written = 0

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self._parts.append(piece)
        self._written += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _writer(fmt: str, sink: pa.NativeFile, schema: pa.Schema) -> Any:
    if fmt == "parquet":
        return pa_parquet.ParquetWriter(sink, schema)
    if fmt == "csv":
        return pa_csv.CSVWriter(sink, schema)
    return pa_ipc.new_stream(sink, schema)  # "arrow": the IPC streaming format


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[Sequence[Any]]:
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def first_schema(
    names: Sequence[str], rows: Sequence[Sequence[Any]], types: Mapping[str, pa.DataType]
) -> pa.RecordBatch:
    """The first batch, its types inferred by Arrow except those given in ``types``.

    An inferred ``decimal128`` is widened to precision 38, keeping the scale seen.
    """
    cols = _columns(rows, len(names))
    arrays = [pa.array(col, type=types.get(name)) for name, col in zip(names, cols, strict=True)]
    for i, (name, array) in enumerate(zip(names, arrays, strict=True)):
        if name not in types and pa.types.is_decimal128(array.type) and array.type.precision < 38:
            # Arrow infers the precision of the values seen; later ones may be longer.
            arrays[i] = array.cast(pa.decimal128(38, array.type.scale))
    if not rows:  # no values to infer from: null columns unless a type is given
        arrays = [pa.array([], type=types.get(name, pa.null())) for name in names]
    return pa.RecordBatch.from_arrays(arrays, names=list(names))


def _next_batch(schema: pa.Schema, rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    cols = _columns(rows, len(schema))
    arrays = [pa.array(col, type=field.type) for field, col in zip(schema, cols, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class ResultStream(io.RawIOBase):
    """Forward-only bytes of one query result in ``fmt``, over bytes ``[skip, skip+limit)``.

    ``parts`` yields lists of rows; ``fail`` turns an error raised while
    fetching or converting into the storeroom error to raise (or returns it
    unchanged to let it through); ``release``
    closes the cursor and gives the connection back (called once).
    """

    def __init__(
        self,
        parts: Iterator[Sequence[Sequence[Any]]],
        names: Sequence[str],
        fmt: str,
        types: Mapping[str, pa.DataType],
        *,
        fail: Callable[[BaseException], BaseException],
        release: Callable[[], None],
        skip: int = 0,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        self._parts = parts
        self._names = list(names)
        self._fmt = fmt
        self._types = types
        self._fail = fail
        self._release: Callable[[], None] | None = release
        self._drain = _Drain()
        self._sink = pa.PythonFile(self._drain, mode="w")
        self._writer: Any = None
        self._schema: pa.Schema | None = None
        self._data = b""
        self._off = 0
        self._done = False
        self._skip = skip
        self._left = limit

    def readable(self) -> bool:
        return True

    def _free(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()

    def _produce(self) -> bytes:
        """The writer's output for the next batch (or the end); ``b""`` once finished."""
        while not self._done:
            try:
                rows = next(self._parts, None)
                if self._writer is None:
                    batch = first_schema(self._names, rows or [], self._types)
                    self._schema = batch.schema
                    self._writer = _writer(self._fmt, self._sink, batch.schema)
                    if rows:
                        self._writer.write_batch(batch)
                elif rows is not None:
                    assert self._schema is not None
                    self._writer.write_batch(_next_batch(self._schema, rows))
                if rows is None:
                    self._done = True
                    self._free()
                    self._writer.close()
            except Exception as exc:
                self._done = True
                self._free()
                err = self._fail(exc)
                if err is exc:
                    raise
                raise err from exc
            out = self._drain.take()
            if out:
                return out
        return b""

    def _advance(self) -> bool:
        """Load the next piece of the wanted range; False at its end."""
        while self._left != 0:
            data = self._produce()
            if not data:
                return False
            if self._skip:
                cut = min(self._skip, len(data))
                self._skip -= cut
                data = data[cut:]
                if not data:
                    continue
            if self._left is not None:
                data = data[: self._left]
                self._left -= len(data)
            self._data, self._off = data, 0
            return True
        return False

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        if size is None or size < 0:
            return self.readall()
        if self._off >= len(self._data) and not self._advance():
            return b""
        piece = self._data[self._off : self._off + size]
        self._off += len(piece)
        return piece

    def readall(self) -> bytes:
        if self.closed:
            raise ValueError("read from a closed stream")
        parts = [self._data[self._off :]]
        while self._advance():
            parts.append(self._data)
        self._data, self._off = b"", 0
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        piece = self.read(len(view))
        view[: len(piece)] = piece
        return len(piece)

    def count(self) -> int:
        """Read to the end, keeping nothing; the number of bytes that were left."""
        total = len(self._data) - self._off
        while self._advance():
            total += len(self._data)
        self._data, self._off = b"", 0
        return total

    def close(self) -> None:
        """Stop early: the cursor is closed and the connection returned."""
        if not self.closed:
            self._done = True
            self._data = b""
            self._free()
        super().close()
