"""Transactions: metadata, missing_ok, and sql-blob's one database transaction (TXN-021)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from storeroom import Store
from storeroom.backends import MemoryBackend
from storeroom.backends.sql import SQLBlobBackend
from storeroom.errors import InvalidArgument, NotFound


def _files(store: Store) -> dict[str, bytes]:
    files = store.list_files("", recursive=True)
    return {str(f.path): store.read_bytes(str(f.path)) for f in files}


@pytest.mark.parametrize("kind", ["memory", "sql"])
# spec: TXN-001, TXN-021
def test_metadata_is_published_and_missing_ok_deletes_nothing(kind: str, tmp_path: Path) -> None:
    backend = MemoryBackend() if kind == "memory" else SQLBlobBackend(f"sqlite:///{tmp_path}/b.db")
    store = Store(backend)
    with store.transaction() as tx:
        tx.write("m.txt", b"m", metadata={"owner": "ana"})
        tx.delete("never-there.txt", missing_ok=True)
        with pytest.raises(NotFound):
            tx.delete("never-there.txt")
    assert store.get_file_info("m.txt").metadata == {"owner": "ana"}
    store.close()


# spec: TXN-021
def test_a_failure_late_in_a_sql_commit_rolls_back_the_writes_already_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/b.db"
    store = Store(SQLBlobBackend(url, max_blob_size=10))
    store.write("keep.txt", b"k")
    with pytest.raises(InvalidArgument), store.transaction() as tx:
        tx.write("a.txt", b"small")
        tx.move("keep.txt", "moved.txt")
        tx.write("z.txt", b"far too large for the limit")  # only the commit sees the size
    assert _files(store) == {"keep.txt": b"k"}
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # no stash row, no orphan chunk left in the database
        paths = [r[0] for r in conn.exec_driver_sql("SELECT path FROM storeroom_files")]
    engine.dispose()
    assert paths == ["keep.txt"]
    store.close()


# spec: TXN-021
def test_a_remote_store_flat_table_publishes_in_one_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flat.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE files (key TEXT PRIMARY KEY, data BLOB)")
    engine.dispose()
    store = Store(SQLBlobBackend(url, table_name="files"))
    store.write("old.txt", b"o")
    with store.transaction() as tx:
        tx.write("new.txt", b"n")
        tx.move("old.txt", "dir/old.txt")
        assert _files(store) == {"old.txt": b"o"}
    assert _files(store) == {"new.txt": b"n", "dir/old.txt": b"o"}
    store.close()


# spec: TXN-030
def test_a_local_store_whose_root_is_missing_gives_a_typed_error(tmp_path: Path) -> None:
    from storeroom.backends.local import LocalBackend

    store = Store(LocalBackend(tmp_path / "absent", create_root=False))
    with pytest.raises(NotFound) as info:
        store.transaction()
    assert info.value.operation == "transaction"


# spec: TXN-031
def test_sync_from_a_local_folder_skips_an_open_transactions_staging_folder(
    tmp_path: Path,
) -> None:
    from storeroom.backends.local import LocalBackend
    from storeroom.ext.sync import plan

    store = Store(LocalBackend(tmp_path / "d"))
    store.write("real.txt", b"r")
    with store.transaction() as tx:
        tx.write("staged.txt", b"s")
        assert any((tmp_path / "d").rglob("s1"))  # the staged file is on disk
        actions = plan(str(tmp_path / "d"), Store(MemoryBackend()))
        assert sorted(str(a.path) for a in actions) == ["real.txt"]


# spec: TXN-046
def test_azure_with_a_hierarchical_namespace_offers_no_transactions() -> None:
    import os

    from storeroom.backends.azure import AzureBackend
    from storeroom.capabilities import Capability
    from storeroom.errors import CapabilityNotSupported

    conn = os.environ.get("STOREROOM_TEST_AZURE_CONNECTION_STRING")
    if not conn:
        pytest.fail("STOREROOM_TEST_AZURE_CONNECTION_STRING is not set (scripts/services up)")
    flat = AzureBackend("txn-flat", connection_string=conn, hns=False)
    hns = AzureBackend("txn-hns", connection_string=conn, hns=True)  # no request is made
    assert Capability.TRANSACTION in flat.capabilities
    assert Capability.TRANSACTION not in hns.capabilities
    with pytest.raises(CapabilityNotSupported):
        Store(hns).transaction()
    flat.close()
    hns.close()
