"""Shared fixtures of the ``sql-query`` tests: a filled SQLite or PostgreSQL table.

SQLite tests use a temp-file database filled with SQLAlchemy; PostgreSQL tests
use the real test server (``STOREROOM_TEST_SQL_URL``) with a table of a random
name, dropped afterwards.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.ipc as pa_ipc
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from storeroom import Store
from storeroom.backends import SQLQueryBackend

SRC = Path(__file__).resolve().parents[2] / "src"
ROWS = [(i, f"item {i}", round(i * 1.25, 2)) for i in range(1, 26)]
NASTY = "x'; DROP TABLE {table}; --"


class DB:
    """A database with one ``sales`` table of a random name, filled with ``ROWS``."""

    def __init__(self, url: str, table: str) -> None:
        self.url = url
        self.table = table
        self.engine = sa.create_engine(url)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                f"CREATE TABLE {table} (id INTEGER, name VARCHAR(80), amount FLOAT)"
            )
            rows = [{"i": i, "n": n, "a": a} for i, n, a in ROWS]
            rows.append({"i": 99, "n": NASTY.format(table=table), "a": 0.0})
            conn.execute(sa.text(f"INSERT INTO {table} VALUES (:i, :n, :a)"), rows)

    def sql(self, where: str = "") -> str:
        return f"SELECT id, name, amount FROM {self.table} {where} ORDER BY id"

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {self.table}").scalar_one())

    def drop(self) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.table}")
        self.engine.dispose()


def _pg_url() -> str:
    url = os.environ.get("STOREROOM_TEST_SQL_URL", "")
    if not url:
        pytest.fail("STOREROOM_TEST_SQL_URL is not set: source /tmp/services_env.sh first")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DB]:
    url = f"sqlite:///{tmp_path / 'shop.db'}" if request.param == "sqlite" else _pg_url()
    database = DB(url, f"sq_{uuid.uuid4().hex[:10]}")
    try:
        yield database
    finally:
        database.drop()


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[DB]:
    database = DB(f"sqlite:///{tmp_path / 'shop.db'}", "sales")
    try:
        yield database
    finally:
        database.drop()


def _store(db: DB, **options: Any) -> Store:
    queries = options.pop("queries", None) or {
        "sales": db.sql("WHERE id < 90"),
        "reports/cheap": {
            "sql": db.sql("WHERE amount < :most AND id < 90"),
            "params": {"most": 10},
        },
    }
    return Store(SQLQueryBackend(url=db.url, queries=queries, **options))


def _expected(where: Any = None) -> dict[str, list[Any]]:
    rows = [r for r in ROWS if where is None or where(r)]
    return {
        "id": [r[0] for r in rows],
        "name": [r[1] for r in rows],
        "amount": [r[2] for r in rows],
    }


def _table(fmt: str, data: bytes) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(data))
    if fmt == "csv":
        return pa_csv.read_csv(io.BytesIO(data))
    return pa_ipc.open_stream(data).read_all()
