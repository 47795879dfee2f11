"""What a configured backend needs installed, checked without importing it or connecting.

Used by ``storeroom config check`` (spec CLI-025): each built-in backend's SDK
modules (its pip extra) and, for ``sql-blob``, the database driver its URL
names (``postgresql+psycopg`` needs ``psycopg``), and for ``sql-query`` the same.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from storeroom.backends import BUILTIN_BACKENDS

__all__ = ["Missing", "missing_requirements"]

# (dialect, driver) → (module to find, pip line). ``None`` driver: SQLAlchemy's default.
_SQL_DRIVERS: dict[tuple[str, str | None], tuple[str, str]] = {
    ("sqlite", None): ("sqlite3", "use a Python built with sqlite3"),
    ("sqlite", "pysqlite"): ("sqlite3", "use a Python built with sqlite3"),
    ("postgresql", None): ("psycopg2", "pip install psycopg2-binary"),
    ("postgresql", "psycopg2"): ("psycopg2", "pip install psycopg2-binary"),
    ("postgresql", "psycopg"): ("psycopg", 'pip install "psycopg[binary]"'),
    ("postgresql", "pg8000"): ("pg8000", "pip install pg8000"),
    ("mysql", None): ("MySQLdb", "pip install mysqlclient"),
    ("mysql", "mysqldb"): ("MySQLdb", "pip install mysqlclient"),
    ("mysql", "pymysql"): ("pymysql", "pip install pymysql"),
    ("mysql", "mysqlconnector"): ("mysql.connector", "pip install mysql-connector-python"),
    ("mariadb", "pymysql"): ("pymysql", "pip install pymysql"),
    ("mariadb", "mysqldb"): ("MySQLdb", "pip install mysqlclient"),
    ("mssql", None): ("pyodbc", "pip install pyodbc"),
    ("mssql", "pyodbc"): ("pyodbc", "pip install pyodbc"),
    ("mssql", "pymssql"): ("pymssql", "pip install pymssql"),
    ("oracle", "oracledb"): ("oracledb", "pip install oracledb"),
}


@dataclasses.dataclass(frozen=True)
class Missing:
    """A package a backend needs and cannot find: the module, and how to install it."""

    module: str
    pip_line: str
    what: str  # "the 's3' extra", "the 'postgresql+psycopg' database driver"


def _absent(module: str) -> bool:
    """Whether ``module`` cannot be imported; found by its spec, never imported."""
    if module in sys.modules:
        return sys.modules[module] is None
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a parent package is missing or blocked
        return True


def _sql_driver(url: str) -> tuple[str, str, str] | None:
    """``(dialect+driver, module, pip line)`` for a SQLAlchemy URL, when the driver is known."""
    scheme = unquote(url.split("://", 1)[0]).lower()
    dialect, _, driver = scheme.partition("+")
    found = _SQL_DRIVERS.get((dialect, driver or None))
    return None if found is None else (scheme, *found)


def missing_requirements(backend_type: str, options: Mapping[str, Any]) -> list[Missing]:
    """Every package ``backend_type`` with ``options`` needs that is not installed."""
    info = BUILTIN_BACKENDS.get(backend_type)
    if info is None:
        return []
    out = [
        Missing(
            module,
            info.pip_line,
            f"the {info.extra!r} extra{'s' if ',' in str(info.extra) else ''}",
        )
        for module in info.sdk
        if _absent(module)
    ]
    if backend_type == "s3" and options.get("engine") == "pyarrow" and _absent("pyarrow"):
        out.append(Missing("pyarrow", 'pip install "storeroom[s3,arrow]"', "the 'arrow' extra"))
    if backend_type == "s3" and options.get("engine") == "obstore" and _absent("obstore"):
        out.append(Missing("obstore", 'pip install "storeroom[s3,obstore]"', "the 'obstore' extra"))
    if backend_type == "azure" and options.get("engine") == "obstore" and _absent("obstore"):
        out.append(
            Missing("obstore", 'pip install "storeroom[azure,obstore]"', "the 'obstore' extra")
        )
    url = options.get("url")
    if backend_type in ("sql-blob", "sql-query") and url is not None:
        text = url.reveal() if hasattr(url, "reveal") else str(url)
        driver = _sql_driver(text)
        if driver is not None and _absent(driver[1]):
            scheme, module, pip_line = driver
            out.append(Missing(module, pip_line, f"the {scheme!r} database driver"))
    return out
