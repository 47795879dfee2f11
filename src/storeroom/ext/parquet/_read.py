"""Reading the parts one manifest lists: filters, partition pruning, projection.

Filters are pyarrow's DNF lists or a ``pyarrow.compute.Expression``
(spec PARQUET-020..024). Pruning uses pyarrow's own reasoning over each
part's partition expression (``Dataset.get_fragments(filter=...)``) on
placeholder fragments that are never opened, so a part whose partition values
cannot match is not read at all. Each part that survives is read whole with
one ``read_bytes`` (so every I/O error is the Store's typed error), then
pyarrow applies the column projection and the row filter in memory.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
import pyarrow.dataset as ds  # type: ignore[import-untyped]
import pyarrow.fs as pafs  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]

from storeroom.errors import InvalidArgument
from storeroom.ext.parquet._manifest import DatasetManifest, PartFile

__all__ = ["as_expression", "read_parts"]

#: A ``pyarrow.compute.Expression``, pyarrow's DNF filter lists, or ``None``.
Filters: TypeAlias = Any


def _invalid(message: str, exc: Exception | None = None) -> InvalidArgument:
    err = InvalidArgument(
        message if exc is None else f"{message}: {exc}",
        operation="read_dataset",
        hint="filters take pyarrow's form: [('col', '=', 1), ...], [[...], [...]] "
        "or a pyarrow.compute expression such as pc.field('col') > 1",
    )
    err.__cause__ = exc
    return err


def as_expression(filters: Filters) -> pc.Expression | None:
    """``filters`` as one expression (DNF lists converted by pyarrow); ``None`` stays."""
    if filters is None:
        return None
    if isinstance(filters, pc.Expression):
        return filters
    if isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
        raise _invalid(f"filters must be a list or an expression, got {type(filters).__name__}")
    if not filters:
        return None
    try:
        expr: pc.Expression = pq.filters_to_expression(filters)
    except (TypeError, ValueError, IndexError, pa.ArrowException) as exc:
        raise _invalid("malformed filters", exc) from exc
    return expr


def _partition_expression(schema: pa.Schema, values: dict[str, str | None]) -> pc.Expression:
    expr = ds.scalar(True)
    for col, text in values.items():
        kind = schema.field(col).type
        if text is None:
            cond = ds.field(col).is_null()
        else:
            cond = ds.field(col) == pa.array([text], pa.string()).cast(kind)[0]
        expr = expr & cond
    return expr


def _check_columns(schema: pa.Schema, columns: Sequence[str] | None) -> list[str] | None:
    if columns is None:
        return None
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise _invalid("columns must be a list of column names")
    unknown = [c for c in columns if schema.get_field_index(c) < 0]
    if unknown:
        raise InvalidArgument(
            f"no such column: {', '.join(map(repr, unknown))}",
            operation="read_dataset",
            hint=f"the dataset has columns {schema.names}",
        )
    return list(columns)


def _surviving(
    manifest: DatasetManifest, schema: pa.Schema, expr: pc.Expression | None
) -> list[tuple[PartFile, pc.Expression]]:
    parts = [(f, _partition_expression(schema, f.partition)) for f in manifest.files]
    fmt = ds.ParquetFileFormat()
    # Placeholder fragments: the path is only an index, never opened.
    local = pafs.LocalFileSystem()
    fragments = [
        fmt.make_fragment(f"/{i}", filesystem=local, partition_expression=e)
        for i, (_, e) in enumerate(parts)
    ]
    if expr is None or not fragments:
        return parts
    dataset = ds.FileSystemDataset(fragments, schema, fmt, local)
    try:
        kept = [int(frag.path[1:]) for frag in dataset.get_fragments(filter=expr)]
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise _invalid("filters do not fit the dataset", exc) from exc
    return [parts[i] for i in kept]


def read_parts(
    manifest: DatasetManifest,
    read: Callable[[str], bytes],
    columns: Sequence[str] | None,
    filters: Filters,
) -> pa.Table:
    """The rows of the parts ``manifest`` lists; ``read(part_path)`` fetches one part."""
    expr = as_expression(filters)
    schema = manifest.schema
    if schema is None:  # a manifest without a schema (remote-store): no pruning
        return _read_plain(manifest, read, columns, expr)
    cols = _check_columns(schema, columns)
    fmt = ds.ParquetFileFormat()
    tables = []
    for part, pexpr in _surviving(manifest, schema, expr):
        fragment = fmt.make_fragment(pa.BufferReader(read(part.path)), partition_expression=pexpr)
        try:
            tables.append(fragment.to_table(schema=schema, columns=cols, filter=expr))
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise _invalid(f"cannot read part {part.path!r}", exc) from exc
    if not tables:
        empty = schema.empty_table()
        try:
            empty = empty.filter(expr) if expr is not None else empty
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise _invalid("filters do not fit the dataset", exc) from exc
        return empty.select(cols) if cols is not None else empty
    return pa.concat_tables(tables)


def _read_plain(
    manifest: DatasetManifest,
    read: Callable[[str], bytes],
    columns: Sequence[str] | None,
    expr: pc.Expression | None,
) -> pa.Table:
    tables = []
    for part in manifest.files:
        try:
            tables.append(
                pq.read_table(
                    io.BytesIO(read(part.path)),
                    columns=list(columns) if columns is not None else None,
                    filters=expr,
                )
            )
        except (pa.ArrowException, TypeError, ValueError, KeyError) as exc:
            raise _invalid(f"cannot read part {part.path!r}", exc) from exc
    if not tables:
        raise InvalidArgument("this dataset lists no parts and no schema", operation="read_dataset")
    return pa.concat_tables(tables)
