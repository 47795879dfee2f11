"""Transactions of the ``sql-blob`` backend: the whole publish is one database transaction.

Staged content is spooled on the client; the commit runs every write,
delete and move on one connection inside one transaction, so other readers
see all of it or none of it, on SQLite and PostgreSQL alike (TXN-021).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from storeroom._store_support import TMP_PREFIX
from storeroom._txn_core import Plan, SpooledTransaction, publish_by_primitives

if TYPE_CHECKING:
    import sqlalchemy as sa

    from storeroom.backends.sql.backend import SQLBlobBackend

__all__ = ["SQLTransaction"]


class SQLTransaction(SpooledTransaction):
    """Spooled changes published by one database transaction."""

    backend: SQLBlobBackend

    def _publish(self, plan: Plan) -> None:
        b = self.backend
        stash = f"{TMP_PREFIX}txn-{uuid.uuid4().hex}"

        def put(key: str, handle: Any, overwrite: bool) -> None:
            spool, metadata = handle
            spool.seek(0)
            b.write(key, spool, overwrite=overwrite, metadata=metadata)

        def body(conn: sa.Connection) -> None:
            b._txn_local.conn = conn  # every call below joins this transaction
            try:
                publish_by_primitives(b, plan, stash, put)
            finally:
                b._txn_local.conn = None

        b._run("", "transaction", body, write=True)
