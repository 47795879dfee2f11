"""Turning the caller's table into Parquet part files (no I/O here).

``to_arrow`` accepts a pyarrow Table, a pandas or a polars DataFrame; pandas
and polars are never imported here: a value can only be one of theirs if the
caller already imported them (spec PARQUET-003). ``split`` groups rows by
the partition columns and cuts each group into parts of at most
``max_rows`` rows (PARQUET-004..006).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from storeroom.errors import InvalidArgument
from storeroom.ext.partition import DEFAULT_PARTITION

__all__ = ["partition_text", "serialize", "split", "to_arrow"]


def to_arrow(value: object) -> pa.Table:
    """A pyarrow Table for ``value`` (Table, RecordBatch, pandas or polars DataFrame)."""
    if isinstance(value, pa.Table):
        return value
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    pandas: Any = sys.modules.get("pandas")
    if pandas is not None and isinstance(value, pandas.DataFrame):
        return pa.Table.from_pandas(value)
    polars: Any = sys.modules.get("polars")
    if polars is not None and isinstance(value, polars.DataFrame):
        table: pa.Table = value.to_arrow()
        return table
    raise InvalidArgument(
        f"write_dataset needs a pyarrow Table, a pandas or a polars DataFrame, "
        f"got {type(value).__name__}",
        operation="write_dataset",
        hint="convert it first, e.g. pyarrow.table({...})",
    )


def _partition_type_ok(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_boolean(kind)
        or pa.types.is_date(kind)
    )


def check_partition_cols(schema: pa.Schema, cols: Sequence[str]) -> list[str]:
    """The partition columns, checked: present, distinct, of a type with an exact text form."""
    if isinstance(cols, str) or not all(isinstance(c, str) and c for c in cols):
        raise InvalidArgument("partition_cols must be a list of column names")
    cols = list(cols)
    if len(set(cols)) != len(cols):
        raise InvalidArgument(f"partition_cols repeats a column: {cols}")
    for col in cols:
        index = schema.get_field_index(col)
        if index < 0:
            raise InvalidArgument(f"partition column {col!r} is not in the table")
        kind = schema.field(index).type
        if not _partition_type_ok(kind):
            raise InvalidArgument(
                f"partition column {col!r} has type {kind}",
                hint="partition on integer, string, boolean or date columns",
            )
    if cols and len(cols) == len(schema):
        raise InvalidArgument("partition_cols cannot be every column of the table")
    return cols


def partition_text(value: object) -> str | None:
    """The text stored for one partition value; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _groups(table: pa.Table, cols: list[str]) -> Iterator[tuple[dict[str, Any], pa.Table]]:
    if not cols:
        yield {}, table
        return
    keys = table.select(cols).group_by(cols, use_threads=False).aggregate([]).to_pylist()
    for combo in keys:
        mask = None
        for col, value in combo.items():
            cond = pc.is_null(table[col]) if value is None else pc.equal(table[col], value)
            mask = cond if mask is None else pc.and_(mask, cond)
        yield combo, table.filter(mask).drop_columns(cols)


def split(
    table: pa.Table, cols: list[str], max_rows: int | None
) -> Iterator[tuple[dict[str, str | None], pa.Table]]:
    """(partition values as text, rows) for each part to write, in a stable order."""
    for combo, rows in _groups(table, cols):
        values = {c: partition_text(v) for c, v in combo.items()}
        if any(v == DEFAULT_PARTITION for v in values.values()):
            raise InvalidArgument(f"partition value {DEFAULT_PARTITION!r} is reserved for null")
        if rows.num_rows == 0:
            continue
        step = max_rows or rows.num_rows
        for offset in range(0, rows.num_rows, step):
            yield values, rows.slice(offset, step)


def serialize(rows: pa.Table, compression: str, row_group_size: int | None) -> bytes:
    """One Parquet file's bytes; a codec pyarrow does not know is ``InvalidArgument``."""
    sink = pa.BufferOutputStream()
    try:
        pq.write_table(rows, sink, compression=compression, row_group_size=row_group_size)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"cannot write Parquet: {exc}",
            operation="write_dataset",
            hint="check compression= (snappy, zstd, gzip, brotli, lz4, none) and the column types",
        ) from exc
    data: bytes = sink.getvalue().to_pybytes()
    return data
