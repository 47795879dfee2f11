"""Conformance targets of the ``sql-blob`` backend: SQLite (always) and PostgreSQL.

``sql-sqlite`` needs no server: each test gets its own database file in its
private directory, so a second Registry, an unpickled Store or a spawned
worker built from the same table opens the same file (persistent,
cross-process). ``sql-postgres`` uses the server of ``scripts/services up
postgres`` (``STOREROOM_TEST_SQL_URL``); tests share its database and are
kept apart by the suite's random ``root_path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from services_support import service_env
from storeroom.testing.conformance.targets import Target, register_target


def _sqlite_config(tmp_path: Path) -> dict[str, Any]:
    return {"type": "sql-blob", "options": {"url": f"sqlite:///{tmp_path / 'blobs.db'}"}}


register_target(Target("sql-sqlite", _sqlite_config))

_env = service_env("postgres", "STOREROOM_TEST_SQL_URL")
if _env is not None:
    PG_URL = _env["STOREROOM_TEST_SQL_URL"]
    PG_PASSWORD = urlsplit(PG_URL).password or ""

    def _pg_config(tmp_path: Path) -> dict[str, Any]:
        return {"type": "sql-blob", "options": {"url": PG_URL}}

    register_target(
        Target("sql-postgres", _pg_config, secrets=(PG_PASSWORD,) if PG_PASSWORD else ())
    )


def _rs_sqlite_config(tmp_path: Path) -> dict[str, Any]:
    """A SQLite file holding remote-store's table: sql-blob serves its one-table layout."""
    url = f"sqlite:///{tmp_path / 'rs.db'}"
    db = tmp_path / "rs.db"
    if not db.exists():
        from remote_store.backends._sqlalchemy import SQLBlobBackend as RemoteStoreSQL

        RemoteStoreSQL(url).close()  # creates remote_store_objects, as remote-store does
    return {"type": "sql-blob", "options": {"url": url}}


try:
    import remote_store  # noqa: F401 - the dev environment has remote-store 0.33.0
except ImportError:
    pass
else:
    register_target(Target("sql-remote-store", _rs_sqlite_config))
