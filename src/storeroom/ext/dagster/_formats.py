"""How values become files: the format chosen for a value, and encoding/decoding it.

Tables (pandas, polars eager and lazy, pyarrow) are Parquet (or CSV when
asked); ``dict``/``list`` are JSON when asked; everything else is pickle. The
kind of table written is kept in the Parquet schema metadata so it loads back
as the same kind when the input has no annotation.
"""

from __future__ import annotations

import json
import pickle
import tempfile
from dataclasses import dataclass
from typing import IO, Any

from storeroom.errors import ConfigError, InvalidArgument, StoreroomError, UnexpectedError
from storeroom.store import Store

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "Encoded",
    "choose_format",
    "decode",
    "encode",
    "kind_of_type",
    "table_kind",
]

#: The formats a ``StoreIOManager`` knows; ``auto`` picks by the value's type.
FORMATS = ("auto", "pickle", "json", "parquet", "csv")
#: File extension of each stored format.
EXTENSIONS = {"pickle": "pkl", "json": "json", "parquet": "parquet", "csv": "csv"}
_TABLE_FORMATS = ("parquet", "csv")
_KIND_KEY = b"storeroom.kind"
_SPOOL = 8 * 1024 * 1024

# (module prefix, class name) -> table kind; matched without importing the libraries
_KINDS = {
    ("pandas", "DataFrame"): "pandas",
    ("polars", "DataFrame"): "polars",
    ("polars", "LazyFrame"): "polars-lazy",
    ("pyarrow", "Table"): "arrow",
}


def kind_of_type(tp: Any) -> str | None:
    """The table kind of a class (``pandas.DataFrame`` → ``"pandas"``), else ``None``."""
    if not isinstance(tp, type):
        return None
    root = tp.__module__.split(".", 1)[0]
    return _KINDS.get((root, tp.__name__))


def table_kind(value: object) -> str | None:
    """The table kind of a value, else ``None``."""
    return kind_of_type(type(value))


def _fits(value: object, fmt: str) -> bool:
    if fmt in _TABLE_FORMATS:
        return table_kind(value) is not None
    if fmt == "json":
        return isinstance(value, dict | list)
    return True  # pickle takes anything


def choose_format(value: object, requested: str, *, explicit: bool, where: str) -> str:
    """The stored format for ``value``.

    ``requested`` is the IO manager's ``format`` or, when ``explicit``, the
    output's ``storeroom/format`` metadata, which must fit the value.
    """
    if requested not in FORMATS:
        raise InvalidArgument(
            f"{where}: unknown format {requested!r}",
            hint=f"use one of {', '.join(FORMATS)}",
        )
    if requested != "auto" and _fits(value, requested):
        return requested
    if explicit and requested != "auto":
        raise InvalidArgument(
            f"{where}: format {requested!r} cannot store a {type(value).__name__}",
            hint="return a table for parquet/csv or a dict/list for json, "
            "or change the 'storeroom/format' output metadata",
        )
    return "parquet" if table_kind(value) is not None else "pickle"


def _to_arrow(value: Any, kind: str) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    if kind == "pandas":
        table = pa.Table.from_pandas(value)
    elif kind == "polars":
        table = value.to_arrow()
    elif kind == "polars-lazy":
        table = value.collect().to_arrow()
    else:
        table = value
    meta = dict(table.schema.metadata or {})
    meta[_KIND_KEY] = kind.encode()
    return table.replace_schema_metadata(meta)


def _from_arrow(table: Any, kind: str | None) -> Any:
    if kind is None:
        stored = (table.schema.metadata or {}).get(_KIND_KEY)
        kind = stored.decode() if stored else "arrow"
    if kind == "pandas":
        return table.to_pandas()
    if kind in ("polars", "polars-lazy"):
        import polars as pl

        frame = pl.DataFrame(pl.from_arrow(table))
        return frame.lazy() if kind == "polars-lazy" else frame
    return table


@dataclass
class Encoded:
    """A value ready to write: its bytes (spooled) and, for tables, its Arrow schema and rows."""

    body: IO[bytes]
    schema: Any = None
    rows: int | None = None


def encode(value: Any, fmt: str, where: str) -> Encoded:
    """Serialize ``value`` in ``fmt`` into a spooled temporary file, rewound.

    A value the format cannot encode is ``InvalidArgument``; a missing library ``ConfigError``.
    """
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - returned to caller
    try:
        return _encode(spool, value, fmt)
    except BaseException as exc:
        spool.close()
        _reraise_missing(exc, where, fmt)
        if isinstance(exc, StoreroomError) or not isinstance(exc, Exception):
            raise
        raise InvalidArgument(
            f"{where}: cannot store a {type(value).__name__} as {fmt}: {exc}",
            hint="return a value that format can hold, or choose another format "
            "with the 'storeroom/format' output metadata",
        ) from exc


def _reraise_missing(exc: BaseException, where: str, fmt: str) -> None:
    if isinstance(exc, ImportError):
        extra = "arrow" if exc.name and exc.name.startswith("pyarrow") else None
        hint = 'pip install "storeroom[arrow]"' if extra else f"pip install {exc.name or fmt}"
        raise ConfigError(
            f"{where}: {fmt} needs {exc.name or 'a missing library'}", hint=hint
        ) from exc


def _encode(spool: IO[bytes], value: Any, fmt: str) -> Encoded:
    schema = rows = None
    if fmt in _TABLE_FORMATS:
        kind = table_kind(value)
        assert kind is not None  # choose_format checked it
        table = _to_arrow(value, kind)
        schema, rows = table.schema, table.num_rows
        if fmt == "parquet":
            import pyarrow.parquet as pq  # type: ignore[import-untyped]

            pq.write_table(table, spool)
        else:
            import pyarrow.csv as pcsv  # type: ignore[import-untyped]

            pcsv.write_csv(table, spool)
    elif fmt == "json":
        spool.write(json.dumps(value).encode())
    else:
        spool.write(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    spool.seek(0)
    return Encoded(spool, schema, rows)


def decode(store: Store, path: str, fmt: str, kind: str | None, where: str) -> Any:
    """Read ``path`` stored in ``fmt``; tables come back as ``kind`` (or as written).

    Content that does not decode is ``UnexpectedError``; a missing library ``ConfigError``.
    """
    try:
        return _decode(store, path, fmt, kind)
    except Exception as exc:
        _reraise_missing(exc, where, fmt)
        if isinstance(exc, StoreroomError):
            raise
        raise UnexpectedError(
            f"{where}: cannot read {path} as {fmt}: {exc}",
            hint="the file was not written in that format by StoreIOManager; "
            "materialize the asset again",
            path=path,
            operation="load_input",
        ) from exc


def _decode(store: Store, path: str, fmt: str, kind: str | None) -> Any:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from storeroom.ext.arrow import arrow_filesystem

        return _from_arrow(pq.read_table(path, filesystem=arrow_filesystem(store)), kind)
    if fmt == "csv":
        import pyarrow.csv as pcsv

        with store.read(path) as stream:
            return _from_arrow(pcsv.read_csv(stream), kind or "arrow")
    data = store.read_bytes(path)
    if fmt == "json":
        return json.loads(data)
    return pickle.loads(data)  # the store is the pipeline's own storage
