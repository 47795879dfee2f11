"""Tests of the read-only ``sql-query`` backend (spec 47-backend-sql-query.md).

SQLite tests use a temp-file database filled with SQLAlchemy; PostgreSQL tests
use the real test server (``STOREROOM_TEST_SQL_URL``) with a table of a random
name, dropped afterwards. Results are read back with pyarrow and compared to
the rows that were inserted.
"""

from __future__ import annotations

import io
import math
import pickle
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
import sql_query_support
import sqlalchemy as sa
from sql_query_support import DB, NASTY, ROWS, _expected, _pg_url, _store, _table

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends import SQLQueryBackend
from storeroom.capabilities import Capability
from storeroom.errors import (
    CapabilityNotSupported,
    ConfigError,
    InvalidArgument,
    InvalidPath,
    NotFound,
    PermissionDenied,
)

#: The shared fixtures (a filled table on SQLite, or on both databases).
lite = sql_query_support.lite
db = sql_query_support.db

# -- options -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"queries": {}}, "queries"),
        ({"queries": {"../up": "SELECT 1"}}, "queries.../up"),
        ({"queries": {"a": {"sql": ""}}}, "queries.a.sql"),
        ({"queries": {"a": {"sql": "SELECT 1", "parms": {}}}}, "queries.a.parms"),
        ({"queries": {"a": {"sql": "SELECT :x", "params": {"x": [1]}}}}, "queries.a.params.x"),
        ({"formats": ["csv", "json"]}, "formats"),
        ({"formats": []}, "formats"),
        ({"batch_rows": 0}, "batch_rows"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"colour": "red"}, "options.colour"),
    ],
)
def test_bad_options_are_config_errors_naming_the_key(
    options: dict[str, Any], key: str, tmp_path: Path
) -> None:
    # spec: SQLQ-001
    raw = {"url": f"sqlite:///{tmp_path / 'x.db'}", "queries": {"a": "SELECT 1"}, **options}
    cfg = {
        "backends": {"q": {"type": "sql-query", "options": raw}},
        "stores": {"s": {"backend": "q"}},
    }
    with pytest.raises(ConfigError) as info:
        Registry(RegistryConfig.from_dict(cfg)).get_store("s")
    assert key in str(info.value)


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ({"sql": "SELECT :a", "params": {"a": 1, "b": 2}}, "queries.q.params.b"),
        ({"sql": "SELECT :a, :c", "params": {"a": 1}}, "queries.q.params"),
        ({"sql": "SELECT 1 AS x", "types": {"x": "no-such-type"}}, "queries.q.types.x"),
        ({"sql": "SELECT 1 AS x", "types": {"x": "decimal128(12)"}}, "queries.q.types.x"),
    ],
)
def test_parameters_and_types_are_checked_when_built(
    query: dict[str, Any], key: str, tmp_path: Path
) -> None:
    # spec: SQLQ-001, SQLQ-009
    with pytest.raises(ConfigError) as info:
        SQLQueryBackend(url=f"sqlite:///{tmp_path / 'x.db'}", queries={"q": query})
    assert info.value.key == key
    assert info.value.backend == "sql-query"


def test_password_is_never_shown(lite: DB) -> None:
    # spec: SQLQ-002
    url = "postgresql+psycopg://reader:Pl4ntedSQpw@127.0.0.1:9/db"
    backend = SQLQueryBackend(url=url, queries={"a": "SELECT 1"}, connect_timeout=1)
    cfg = RegistryConfig.from_dict(
        {
            "backends": {
                "q": {"type": "sql-query", "options": {"url": url, "queries": {"a": "x"}}}
            },
            "stores": {"s": {"backend": "q"}},
        }
    )
    for shown in (repr(backend), str(backend.describe()), repr(backend.options), repr(cfg)):
        assert "Pl4ntedSQpw" not in shown
    with pytest.raises(Exception) as info:  # nothing listens on port 9
        Store(backend).read_bytes("a.csv")
    assert "Pl4ntedSQpw" not in str(info.value)
    assert info.value.path == "a.csv" and info.value.backend == "sql-query"  # type: ignore[attr-defined]
    assert backend.options.url.reveal() == url


def test_a_refused_login_is_permission_denied_without_the_password() -> None:
    # spec: SQLQ-002, SQLQ-010
    wrong = sa.make_url(_pg_url()).set(password="Wr0ngPlantedPw")
    url = wrong.render_as_string(hide_password=False)
    store = Store(SQLQueryBackend(url=url, queries={"a": "SELECT 1"}))
    with pytest.raises(PermissionDenied) as info:
        store.read_bytes("a.csv")
    assert not info.value.retryable and info.value.path == "a.csv"
    assert "Wr0ngPlantedPw" not in str(info.value)
    with pytest.raises(PermissionDenied):
        store.backend.ping()


def test_pickles_as_its_options(lite: DB) -> None:
    # spec: SQLQ-002
    store = _store(lite)
    again = pickle.loads(pickle.dumps(store.backend))
    assert isinstance(again, SQLQueryBackend)
    assert Store(again).read_bytes("sales.csv") == store.read_bytes("sales.csv")


# -- read-only ---------------------------------------------------------------------------


def test_capabilities_are_read_list_metadata(lite: DB) -> None:
    # spec: SQLQ-003
    store = _store(lite)
    assert store.backend.capabilities == frozenset(
        {Capability.READ, Capability.LIST, Capability.METADATA}
    )
    assert store.supports(Capability.GLOB) and not store.supports(Capability.SEEKABLE_READ)


def test_every_change_is_refused_like_a_read_only_store(lite: DB) -> None:
    # spec: SQLQ-003
    store = _store(lite)
    calls = [
        lambda: store.write("sales.csv", b"x", overwrite=True),
        lambda: store.write("new.csv", b"x"),
        lambda: store.delete("sales.csv"),
        lambda: store.move("sales.csv", "other.csv"),
        lambda: store.copy("sales.csv", "other.csv"),
        lambda: store.delete_folder("reports", recursive=True),
        lambda: store.write_atomic("sales.csv", b"x", overwrite=True),
        lambda: store.open_atomic("new.csv").__enter__(),
    ]
    for call in calls:
        with pytest.raises(CapabilityNotSupported) as info:
            call()
        assert info.value.backend == "sql-query"
    backend = store.backend
    with pytest.raises(CapabilityNotSupported) as direct:
        backend.write("sales.csv", b"x", overwrite=True)
    assert direct.value.path == "sales.csv" and direct.value.capability == "write"
    for call in (
        lambda: backend.delete("sales.csv"),
        lambda: backend.move("sales.csv", "b.csv"),
        lambda: backend.copy("sales.csv", "b.csv"),
        lambda: backend.remove_folder("reports", recursive=True),
    ):
        with pytest.raises(CapabilityNotSupported):
            call()
    assert lite.count() == len(ROWS) + 1


def test_a_query_that_changes_data_is_refused(db: DB) -> None:
    # spec: SQLQ-003, SQLQ-010
    delete = f"DELETE FROM {db.table} RETURNING id"
    if db.url.startswith("sqlite"):
        changing = delete
    else:  # a server-side cursor only takes a SELECT: the change hides in a function call
        changing = f"SELECT nextval('{db.table}_seq')"
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SEQUENCE {db.table}_seq")
    store = _store(db, queries={"change": changing, "delete": delete})
    try:
        with pytest.raises(PermissionDenied) as info:
            store.read_bytes("change.csv")
        assert "read-only" in str(info.value) and info.value.path == "change.csv"
        with pytest.raises((PermissionDenied, InvalidArgument)):
            store.read_bytes("delete.csv")  # PostgreSQL: DECLARE refuses a DELETE
        assert db.count() == len(ROWS) + 1
    finally:
        if not db.url.startswith("sqlite"):
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP SEQUENCE {db.table}_seq")


# -- listing and stat --------------------------------------------------------------------


def test_listing_shows_every_query_in_every_format(lite: DB) -> None:
    # spec: SQLQ-004
    store = _store(lite)
    files = [str(f.path) for f in store.list_files("", recursive=True)]
    assert files == [
        "reports/cheap.arrow",
        "reports/cheap.csv",
        "reports/cheap.parquet",
        "sales.arrow",
        "sales.csv",
        "sales.parquet",
    ]
    top = [(str(e.path), type(e).__name__) for e in store.iter_children("")]
    assert top == [
        ("reports", "FolderEntry"),
        ("sales.arrow", "FileInfo"),
        ("sales.csv", "FileInfo"),
        ("sales.parquet", "FileInfo"),
    ]
    kinds = {f.name: (f.size, f.content_type) for f in store.list_files("reports")}
    assert kinds == {
        "cheap.arrow": (0, "application/vnd.apache.arrow.stream"),
        "cheap.csv": (0, "text/csv"),
        "cheap.parquet": (0, "application/vnd.apache.parquet"),
    }
    assert [str(f.path) for f in store.glob("*/*.csv")] == ["reports/cheap.csv"]
    only = _store(lite, formats=["parquet"])
    assert [str(f.path) for f in only.list_files("", recursive=True)] == [
        "reports/cheap.parquet",
        "sales.parquet",
    ]
    with pytest.raises(NotFound):
        only.read_bytes("sales.csv")


def test_existence_needs_no_query_but_stat_runs_it(lite: DB) -> None:
    # spec: SQLQ-005
    store = _store(lite, queries={"ok": lite.sql(), "broken": "SELECT * FROM no_such_table"})
    assert store.exists("broken.csv") and store.exists("ok.parquet")
    assert not store.exists("broken.json") and not store.exists("nope.csv")
    assert store.is_folder("") and not store.is_folder("ok.csv")
    for fmt in ("csv", "parquet", "arrow"):
        info = store.get_file_info(f"ok.{fmt}")
        assert info.size == len(store.read_bytes(f"ok.{fmt}")) > 0
        assert info.modified_at is None and info.etag is None
    with pytest.raises(InvalidArgument) as info:
        store.get_file_info("broken.csv")
    assert "'broken'" in str(info.value) and info.value.path == "broken.csv"


def test_unknown_names_and_folders(lite: DB) -> None:
    # spec: SQLQ-004, SQLQ-005
    store = _store(lite)
    for name in ("nope.csv", "sales.json", "sales", "reports/cheap"):
        with pytest.raises(NotFound) as info:
            store.read_bytes(name)
        assert info.value.backend == "sql-query"
    with pytest.raises(InvalidPath):
        store.read_bytes("reports")
    with pytest.raises(NotFound):
        store.backend.stat("reports")
    assert store.is_folder("reports") and not store.is_file("reports")


def test_a_store_under_a_query_folder(lite: DB) -> None:
    # spec: SQLQ-004, SQLQ-012
    queries = {"sales": lite.sql(), "reports/cheap": lite.sql("WHERE amount < 10 AND id < 90")}
    options = {"url": lite.url, "queries": queries, "formats": ["csv"]}
    cfg = {
        "backends": {"q": {"type": "sql-query", "options": options}},
        "stores": {"r": {"backend": "q", "root_path": "reports"}},
    }
    store = Registry(RegistryConfig.from_dict(cfg)).get_store("r")
    assert [str(f.path) for f in store.list_files("", recursive=True)] == ["cheap.csv"]
    assert [str(e.path) for e in store.iter_children("")] == ["cheap.csv"]
    got = _table("csv", store.read_bytes("cheap.csv")).to_pydict()
    assert got == _expected(lambda r: r[2] < 10)
    assert store.get_file_info("cheap.csv").size == len(store.read_bytes("cheap.csv"))
    assert not store.exists("sales.csv")


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv", "arrow"])
def test_each_format_reads_back_as_the_rows(db: DB, fmt: str) -> None:
    # spec: SQLQ-006, SQLQ-007
    store = _store(db, batch_rows=7)
    table = _table(fmt, store.read_bytes(f"sales.{fmt}"))
    assert table.to_pydict() == _expected()
    cheap = _table(fmt, store.read_bytes(f"reports/cheap.{fmt}"))
    assert cheap.to_pydict() == _expected(lambda r: r[2] < 10)
    if fmt == "parquet":
        meta = pq.ParquetFile(io.BytesIO(store.read_bytes("sales.parquet"))).metadata
        assert meta.num_row_groups == math.ceil(len(ROWS) / 7)  # one row group per batch
    if fmt == "arrow":
        batches = list(pa_ipc.open_stream(store.read_bytes("sales.arrow")))
        assert [b.num_rows for b in batches] == [7, 7, 7, 4]


def test_ranged_and_seekable_reads(lite: DB) -> None:
    # spec: SQLQ-008
    store = _store(lite, batch_rows=4)
    whole = store.read_bytes("sales.csv")
    assert store.read_range("sales.csv", 10, 60) == whole[10:60]
    assert store.read_range("sales.csv", len(whole) - 5) == whole[-5:]
    assert store.read_range("sales.csv", len(whole) + 10) == b""
    assert store.read_range("sales.csv", 3, 3) == b""
    with store.read_seekable("sales.parquet") as f:
        assert pq.read_table(f).to_pydict() == _expected()


def test_types_override_and_empty_results(lite: DB) -> None:
    # spec: SQLQ-011
    typed = {
        "sql": lite.sql(),
        "types": {"id": "decimal128(10, 0)", "amount": "float32", "name": "large_string"},
    }
    empty = {"sql": lite.sql("WHERE id < 0"), "types": {"id": "int64"}}
    store = _store(lite, queries={"typed": typed, "empty": empty})
    schema = _table("arrow", store.read_bytes("typed.arrow")).schema
    assert schema.field("id").type == pa.decimal128(10, 0)
    assert schema.field("amount").type == pa.float32()
    assert schema.field("name").type == pa.large_string()
    for fmt in ("parquet", "arrow"):
        got = _table(fmt, store.read_bytes(f"empty.{fmt}"))
        assert got.num_rows == 0 and got.column_names == ["id", "name", "amount"]
        assert got.schema.field("id").type == pa.int64()
        assert got.schema.field("name").type == pa.null()
    assert store.read_bytes("empty.csv") == b'"id","name","amount"\n'
    wrong = _store(lite, queries={"w": {"sql": lite.sql(), "types": {"idd": "int64"}}})
    with pytest.raises(InvalidArgument, match="idd"):
        wrong.read_bytes("w.csv")


def test_postgresql_types_keep_their_arrow_types() -> None:
    # spec: SQLQ-007, SQLQ-011
    sql = (
        "SELECT DATE '2024-01-02' AS day, TIMESTAMPTZ '2024-01-02 03:04:05+00' AS at, "
        "TRUE AS ok, 12.50::numeric(6, 2) AS price, NULL::integer AS missing, "
        "'é ünïcode' AS text"
    )
    queries = {"t": {"sql": sql, "types": {"missing": "int32"}}}
    store = Store(SQLQueryBackend(url=_pg_url(), queries=queries))
    for fmt in ("parquet", "arrow"):
        table = _table(fmt, store.read_bytes(f"t.{fmt}"))
        types = {f.name: f.type for f in table.schema}
        assert types["day"] == pa.date32() and types["ok"] == pa.bool_()
        assert pa.types.is_timestamp(types["at"]) and types["at"].tz is not None
        assert types["price"] == pa.decimal128(38, 2) and types["missing"] == pa.int32()
        row = table.to_pylist()[0]
        assert str(row["day"]) == "2024-01-02" and row["ok"] is True
        assert str(row["price"]) == "12.50" and row["missing"] is None
        assert row["text"] == "é ünïcode" and row["at"].isoformat().startswith(
            "2024-01-02T03:04:05"
        )


def test_a_value_that_breaks_the_first_batch_schema_is_invalid_argument(lite: DB) -> None:
    # spec: SQLQ-010, SQLQ-011
    sql = f"SELECT CASE WHEN id > 1 THEN id END AS late FROM {lite.table} ORDER BY id"
    store = _store(lite, queries={"late": sql}, batch_rows=1)
    with pytest.raises(InvalidArgument) as info:
        store.read_bytes("late.parquet")
    assert info.value.path == "late.parquet" and "types" in (info.value.hint or "")
    fixed = _store(lite, queries={"late": {"sql": sql, "types": {"late": "int64"}}}, batch_rows=1)
    assert _table("parquet", fixed.read_bytes("late.parquet")).column("late").null_count == 1


def test_parameter_values_are_data_never_sql(db: DB) -> None:
    # spec: SQLQ-009
    nasty = NASTY.format(table=db.table)
    queries = {
        "by_name": {"sql": db.sql("WHERE name = :name"), "params": {"name": nasty}},
        "quoted": {"sql": db.sql("WHERE name = :name"), "params": {"name": "item 3' OR '1'='1"}},
    }
    store = _store(db, queries=queries)
    got = _table("arrow", store.read_bytes("by_name.arrow")).to_pydict()
    assert got == {"id": [99], "name": [nasty], "amount": [0.0]}
    assert _table("arrow", store.read_bytes("quoted.arrow")).num_rows == 0
    assert db.count() == len(ROWS) + 1  # the table is still there, untouched


def test_sql_errors_name_the_query_and_backend(db: DB) -> None:
    # spec: SQLQ-010
    store = _store(db, queries={"typo": "SELEC 1", "gone": "SELECT * FROM no_such_tab"})
    for name in ("typo.csv", "gone.parquet"):
        with pytest.raises(InvalidArgument) as info:
            store.read_bytes(name)
        err = info.value
        assert err.path == name and err.backend == "sql-query" and err.operation == "read_bytes"
        assert f"query {name.split('.')[0]!r}" in str(err)
        assert isinstance(err.__cause__, sa.exc.SQLAlchemyError)
        if "@" in db.url:
            password = sa.make_url(db.url).password
            assert password and password not in str(err)
