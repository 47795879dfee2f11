"""remote-store's SQL result serializers and the ``serializer`` option of ``sql-query``, on SQLite.

spec: COMPAT-063, SQLQ-020..021
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import pytest

from storeroom import Store
from storeroom.errors import ConfigError, InvalidArgument

# -- ArrowSerializer / ResultSerializer --------------------------------------------------


def _sqlite_result(tmp_path: Path) -> tuple[list[Any], list[str], str]:
    sa = pytest.importorskip("sqlalchemy")
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE sales (id INTEGER, name TEXT, amount FLOAT)")
        conn.exec_driver_sql(
            "INSERT INTO sales VALUES (1, 'pen', 1.5), (2, 'ink', 2.25), (3, NULL, 0.0)"
        )
    with engine.connect() as conn:
        result = conn.execute(sa.text("SELECT id, name, amount FROM sales ORDER BY id"))
        columns = list(result.keys())
        rows = list(result.fetchall())
    engine.dispose()
    return rows, columns, url


def test_arrow_serializer_writes_every_format_of_the_sql_query_backend(tmp_path: Path) -> None:
    """spec: SQLQ-020, COMPAT-063"""
    pa = pytest.importorskip("pyarrow")
    import pyarrow.csv as pa_csv
    import pyarrow.ipc as pa_ipc
    import pyarrow.parquet as pq

    from storeroom.backends import ArrowSerializer, ResultSerializer, SQLQueryBackend

    rows, columns, url = _sqlite_result(tmp_path)
    ser = ArrowSerializer()
    assert isinstance(ser, ResultSerializer)
    want = {"id": [1, 2, 3], "name": ["pen", "ink", None], "amount": [1.5, 2.25, 0.0]}
    assert pq.read_table(io.BytesIO(ser.serialize(rows, columns, "parquet"))).to_pydict() == want
    csv = ser.serialize(rows, columns, "csv")
    assert csv.decode().splitlines()[1:] == ['1,"pen",1.5', '2,"ink",2.25', "3,,0"]
    assert pa_csv.read_csv(io.BytesIO(csv)).column_names == columns
    stream = ser.serialize(rows, columns, "arrow")
    assert pa_ipc.open_stream(stream).read_all().to_pydict() == want
    assert ser.serialize(rows, columns, "ipc") == stream  # remote-store's other name
    # one implementation: the sql-query backend gives the same bytes for the query
    store = Store(SQLQueryBackend(url, {"sales": "SELECT id, name, amount FROM sales ORDER BY id"}))
    for fmt in ("csv", "arrow", "parquet"):
        assert store.read_bytes(f"sales.{fmt}") == ser.serialize(rows, columns, fmt)
    empty = pa_ipc.open_stream(ser.serialize([], columns, "arrow")).read_all()
    assert empty.num_rows == 0 and empty.column_names == columns
    assert pa.types.is_null(empty.schema.field("id").type)


def test_arrow_serializer_refuses_bad_input_with_typed_errors() -> None:
    """spec: SQLQ-020"""
    pytest.importorskip("pyarrow")
    from storeroom.backends import ArrowSerializer

    ser = ArrowSerializer()
    with pytest.raises(InvalidArgument, match="format") as info:
        ser.serialize([(1,)], ["a"], "xlsx")
    assert isinstance(info.value, ValueError)  # remote-store raised ValueError
    with pytest.raises(InvalidArgument, match="rows"):
        ser.serialize([(1, 2)], ["a"], "csv")


def test_a_class_with_serialize_is_a_result_serializer() -> None:
    """spec: COMPAT-063"""
    from storeroom.backends import ResultSerializer

    class Lines:
        def serialize(self, rows: Any, columns: Any, format: str) -> bytes:
            return "\n".join(",".join(map(str, r)) for r in rows).encode()

    class NotOne:
        pass

    assert isinstance(Lines(), ResultSerializer)
    assert not isinstance(NotOne(), ResultSerializer)


def test_serializer_reads_back_as_remote_store_output_does(tmp_path: Path) -> None:
    """spec: COMPAT-063"""
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq
    from remote_store.backends import ArrowSerializer as Theirs

    from storeroom.backends import ArrowSerializer

    rows, columns, _ = _sqlite_result(tmp_path)
    ours, theirs = ArrowSerializer(), Theirs()
    assert ours.serialize(rows, columns, "csv") == theirs.serialize(rows, columns, "csv")
    got = pq.read_table(io.BytesIO(ours.serialize(rows, columns, "parquet")))
    want = pq.read_table(io.BytesIO(theirs.serialize(rows, columns, "parquet")))
    assert got.equals(want)


class _Lines:
    """A caller's serializer: one comma-joined line per row, whatever the format."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str]] = []

    def serialize(self, rows: Any, columns: Any, format: str) -> bytes:
        self.calls.append((list(columns), format))
        body = "\n".join(",".join(map(str, r)) for r in rows)
        return f"{format}|{','.join(columns)}\n{body}".encode()


def test_sql_query_backend_takes_a_serializer(tmp_path: Path) -> None:
    """spec: SQLQ-021"""
    pytest.importorskip("pyarrow")
    from storeroom import Registry, RegistryConfig
    from storeroom.backends import ArrowSerializer, SQLQueryBackend

    _, _, url = _sqlite_result(tmp_path)
    queries = {"sales": "SELECT id, name FROM sales ORDER BY id"}
    lines = _Lines()
    store = Store(SQLQueryBackend(url, queries, serializer=lines))
    want = b"csv|id,name\n1,pen\n2,ink\n3,None"
    assert store.read_bytes("sales.csv") == want
    assert store.get_file_info("sales.csv").size == len(want)
    assert store.read_range("sales.csv", 4, 9) == want[4:9]
    assert lines.calls[0] == (["id", "name"], "csv")
    assert store.read_bytes("sales.parquet").startswith(b"parquet|")
    # remote-store's default serializer given explicitly: the built-in bytes
    plain = Store(SQLQueryBackend(url, queries))
    explicit = Store(SQLQueryBackend(url, queries, serializer=ArrowSerializer()))
    for fmt in ("csv", "arrow"):
        assert explicit.read_bytes(f"sales.{fmt}") == plain.read_bytes(f"sales.{fmt}")
    assert pickle.loads(pickle.dumps(explicit.backend)).options.serializer is not None
    assert "<ArrowSerializer object>" in repr(explicit.backend.options)
    # a config file cannot hold one; an object without serialize() is refused
    config = {
        "backends": {"q": {"type": "sql-query", "options": {"url": url, "queries": queries}}},
        "stores": {"s": {"backend": "q"}},
    }
    config["backends"]["q"]["options"]["serializer"] = "ArrowSerializer"
    with pytest.raises(ConfigError, match="serializer") as info:
        Registry(RegistryConfig.from_dict(config)).get_store("s")
    assert "code" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="serializer"):
        SQLQueryBackend(url, queries, serializer=object())


def test_a_failing_serializer_is_a_typed_error(tmp_path: Path) -> None:
    """spec: SQLQ-021"""
    pytest.importorskip("pyarrow")
    from storeroom.backends import SQLQueryBackend

    _, _, url = _sqlite_result(tmp_path)
    queries = {"sales": "SELECT id FROM sales"}

    class Text:
        def serialize(self, rows: Any, columns: Any, format: str) -> Any:
            return "not bytes"

    class Broken:
        def serialize(self, rows: Any, columns: Any, format: str) -> bytes:
            raise ValueError("cannot encode")

    with pytest.raises(InvalidArgument, match="bytes"):
        Store(SQLQueryBackend(url, queries, serializer=Text())).read_bytes("sales.csv")
    with pytest.raises(InvalidArgument) as info:
        Store(SQLQueryBackend(url, queries, serializer=Broken())).read_bytes("sales.csv")
    assert info.value.path == "sales.csv"
