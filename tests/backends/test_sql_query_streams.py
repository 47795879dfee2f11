"""``sql-query``: streaming large results, config files, the CLI and the extras (spec 47)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pyarrow.ipc as pa_ipc
import pytest
import sql_query_support
from sql_query_support import DB, SRC, _expected, _pg_url, _store, _table

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends import BUILTIN_BACKENDS, SQLQueryBackend
from storeroom.backends._requirements import missing_requirements
from storeroom.cli import main
from storeroom.errors import InvalidArgument

#: The shared fixture: a filled table on SQLite and on PostgreSQL.
db = sql_query_support.db

# -- streaming ---------------------------------------------------------------------------


def _counting_query(url: str, rows: int) -> str:
    pad = "'-padding-padding-padding-padding'"
    if url.startswith("sqlite"):
        return (
            f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) "
            f"SELECT x AS n, 'row ' || x || {pad} AS label FROM c"
        )
    return f"SELECT g AS n, 'row ' || g || {pad} AS label FROM generate_series(1, {rows}) g"


@pytest.mark.parametrize("which", ["sqlite", "postgres"])
def test_a_large_result_streams_with_flat_memory(which: str, tmp_path: Path) -> None:
    # spec: SQLQ-006
    url = f"sqlite:///{tmp_path / 'x.db'}" if which == "sqlite" else _pg_url()
    rows, batch = 200_000, 2_000
    backend = SQLQueryBackend(
        url=url,
        queries={"big": _counting_query(url, rows), "small": "SELECT 1 AS n"},
        batch_rows=batch,
    )
    store = Store(backend)
    store.read_bytes("small.csv")  # warm up: driver, compiled statement caches
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        total = lines = 0
        with store.read("big.csv") as stream:
            while chunk := stream.read(64 * 1024):
                total += len(chunk)
                lines += chunk.count(b"\n")
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == rows + 1 and total > 9_000_000
    assert peak < 3_000_000, f"peak {peak} bytes while streaming {total} bytes"
    batches = [b.num_rows for b in pa_ipc.open_stream(store.read_bytes("big.arrow"))]
    assert batches == [batch] * (rows // batch)
    backend.close()


@pytest.mark.parametrize("which", ["sqlite", "postgres"])
def test_an_error_deep_in_the_result_surfaces_typed_from_read(which: str, tmp_path: Path) -> None:
    # spec: SQLQ-006, SQLQ-010
    if which == "sqlite":
        url = f"sqlite:///{tmp_path / 'x.db'}"
        sql = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
            "SELECT CASE WHEN x > 15000 THEN abs(-9223372036854775808) ELSE x END AS v FROM c"
        )
    else:
        url = _pg_url()
        sql = "SELECT 1 / (g - 15000) AS v FROM generate_series(1, 20000) g"
    backend = SQLQueryBackend(url=url, queries={"late": sql}, batch_rows=1000)
    got = 0
    with pytest.raises(InvalidArgument) as info, Store(backend).read("late.csv") as stream:
        while chunk := stream.read(4096):
            got += len(chunk)
    assert got > 0  # the first batches arrived before the failing one
    assert info.value.path == "late.csv" and "query 'late'" in str(info.value)
    assert backend._engine.pool.checkedout() == 0


def test_closing_early_returns_the_connection(db: DB) -> None:
    # spec: SQLQ-006
    store = _store(db, batch_rows=3)
    backend = store.backend
    assert isinstance(backend, SQLQueryBackend)
    with store.read("sales.csv") as stream:
        assert stream.read(10)
        assert backend._engine.pool.checkedout() == 1
    assert backend._engine.pool.checkedout() == 0
    store.read_bytes("sales.arrow")
    assert backend._engine.pool.checkedout() == 0


# -- config, CLI, extras -----------------------------------------------------------------


def _config_file(tmp_path: Path, db: DB) -> Path:
    path = tmp_path / "storeroom.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [backends.shop]
            type = "sql-query"

            [backends.shop.options]
            url = {json.dumps(db.url)}
            batch_rows = 5
            formats = ["csv", "parquet"]

            [backends.shop.options.queries]
            sales = {json.dumps(db.sql("WHERE id < 90"))}

            [backends.shop.options.queries."reports/cheap"]
            sql = {json.dumps(db.sql("WHERE amount < :most AND id < 90"))}
            params = {{ most = 10 }}

            [stores.shop]
            backend = "shop"
            """
        )
    )
    return path


def test_from_a_config_file_through_the_registry(db: DB, tmp_path: Path) -> None:
    # spec: SQLQ-012
    registry = Registry(RegistryConfig.from_file(_config_file(tmp_path, db)))
    store = registry.get_store("shop")
    assert _table("csv", store.read_bytes("sales.csv")).to_pydict() == _expected()
    cheap = _table("parquet", store.read_bytes("reports/cheap.parquet"))
    assert cheap.to_pydict() == _expected(lambda r: r[2] < 10)
    registry.close()


def test_cli_ls_and_cat(db: DB, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    # spec: SQLQ-012
    config = str(_config_file(tmp_path, db))
    assert main(["--config", config, "ls", "-r", "shop:"]) == 0
    listed = capsysbinary.readouterr().out.decode().split()
    assert listed == ["reports/cheap.csv", "reports/cheap.parquet", "sales.csv", "sales.parquet"]
    assert main(["--config", config, "cat", "shop:sales.csv"]) == 0
    out = capsysbinary.readouterr().out
    assert _table("csv", out).to_pydict() == _expected()
    local = tmp_path / "up.csv"
    local.write_bytes(b"a\n1\n")
    for argv in (["put", str(local), "shop:x.csv"], ["rm", "shop:sales.csv"]):
        code = main(["--config", config, *argv])
        err = capsysbinary.readouterr().err.decode()
        assert code != 0 and "'sql-query' backend does not support" in err, err


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        check=False,
    )


BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("sqlalchemy", "pyarrow"):
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
sys.meta_path.insert(0, _Block())
"""


def test_naming_the_class_imports_neither_sqlalchemy_nor_pyarrow() -> None:
    # spec: SQLQ-013
    code = """
import json, sys
def loaded():
    return sorted({m.partition(".")[0] for m in sys.modules} & {"sqlalchemy", "pyarrow"})
import storeroom
from storeroom.backends import SQLQueryBackend
from storeroom.backends.sqlquery import SQLQueryOptions
named = loaded()
# Options are validated without pyarrow (masking the url may use SQLAlchemy's URL parser).
SQLQueryOptions.parse({"url": "sqlite://", "queries": {"a": "SELECT 1"}})
print(json.dumps([named, loaded()]))
"""
    result = _python(code)
    assert result.returncode == 0, result.stderr
    named, parsed = json.loads(result.stdout)
    assert named == [] and "pyarrow" not in parsed


def test_without_the_extras_building_is_a_config_error_with_the_pip_line(tmp_path: Path) -> None:
    # spec: SQLQ-013
    code = BLOCK + textwrap.dedent(
        """
        from storeroom.backends import SQLQueryBackend
        from storeroom.errors import ConfigError
        try:
            SQLQueryBackend(url="sqlite://", queries={"a": "SELECT 1"})
        except ConfigError as exc:
            print(exc)
        """
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert 'pip install "storeroom[sql,arrow]"' in result.stdout
    path = tmp_path / "storeroom.toml"
    path.write_text(
        '[backends.q]\ntype = "sql-query"\n[backends.q.options]\n'
        'url = "postgresql+psycopg://u@127.0.0.1:9/db"\nqueries = { a = "SELECT 1" }\n'
    )
    check = BLOCK + "import sys\nfrom storeroom.cli import main\nsys.exit(main(sys.argv[1:]))"
    result = _python(check, "--config", str(path), "config", "check")
    assert result.returncode == 4, (result.stdout, result.stderr)
    assert "backends.q (type 'sql-query') needs sqlalchemy" in result.stderr
    assert "pyarrow (the 'sql,arrow' extras)" in result.stderr


def test_requirements_include_the_database_driver() -> None:
    # spec: SQLQ-013
    info = BUILTIN_BACKENDS["sql-query"]
    assert info.pip_line == 'pip install "storeroom[sql,arrow]"'
    assert missing_requirements("sql-query", {"url": "postgresql+psycopg://u@h/db"}) == []
    missing = missing_requirements("sql-query", {"url": "mysql+nosuchdriver://u@h/db"})
    assert missing == []  # an unknown driver is not guessed at
