"""Every backend's error table has one entry point, ``TABLE.map``, and maps real native errors.

Each native error here comes from the real library or server (the filesystem,
the moto S3 server, the sshd, SQLite, the HTTP test server), never a mock.
"""

from __future__ import annotations

import http.client
import importlib
import os
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from every_backend import registry_on
from storeroom.backends._errtable import ErrorTable
from storeroom.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    StoreroomError,
    UnexpectedError,
)

#: Backends that meet native errors (azure's table is unified at merge; see BACKEND-030).
MODULES = {
    "local": "storeroom.backends.local.errors",
    "s3": "storeroom.backends.s3.errors",
    "sftp": "storeroom.backends.sftp.errors",
    "sql-blob": "storeroom.backends.sql.errors",
    "sql-query": "storeroom.backends.sqlquery.errors",
    "http": "storeroom.backends.http.errors",
    "azure": "storeroom.backends.azure.errors",
}


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: is the test server running? (scripts/services up)")
    return value


def _table(backend: str) -> ErrorTable:
    return importlib.import_module(MODULES[backend]).TABLE  # type: ignore[no-any-return]


def _check(err: StoreroomError, cls: type[StoreroomError], key: str, backend: str) -> None:
    assert type(err) is cls
    assert err.path == key and err.backend == backend and err.operation == "read"
    assert key in str(err) and backend in str(err)


# spec: BACKEND-030, BACKEND-032
@pytest.mark.parametrize("backend", sorted(MODULES))
def test_every_table_has_the_one_entry_point(backend: str) -> None:
    table = _table(backend)
    assert isinstance(table, ErrorTable) and table.backend == backend
    passed = NotFound("gone", path="k")
    assert table.map(passed, "k", operation="stat") is passed
    unknown = table.map(KeyError("x"), "a/b", operation="stat")
    assert isinstance(unknown, (UnexpectedError, InvalidArgument))
    assert (unknown.path, unknown.backend, unknown.operation) == ("a/b", backend, "stat")
    module = importlib.import_module(MODULES[backend])
    old = {"map_os_error", "map_error", "classify", "failure_error", "map_db_error"}
    old |= {"map_query_error", "conversion_error", "map_status", "map_exception"}
    old |= {"map_azure_error"}
    assert not old & set(vars(module)), "old entry points are gone"


# spec: BACKEND-033
def test_local_maps_a_real_os_error(tmp_path: Path) -> None:
    try:
        (tmp_path / "missing.bin").open("rb")
    except OSError as exc:
        err = _table("local").map(exc, "dir/missing.bin", operation="read")
    _check(err, NotFound, "dir/missing.bin", "local")
    assert str(tmp_path) not in str(err)


# spec: BACKEND-033
def test_s3_maps_a_real_client_error_from_the_server() -> None:
    import boto3
    import botocore.exceptions

    secret = _env("STOREROOM_TEST_S3_SECRET")
    client = boto3.client(
        "s3",
        endpoint_url=_env("STOREROOM_TEST_S3_ENDPOINT"),
        aws_access_key_id=_env("STOREROOM_TEST_S3_KEY"),
        aws_secret_access_key=secret,
        region_name=_env("STOREROOM_TEST_S3_REGION"),
    )
    bucket = f"errtable-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            client.get_object(Bucket=bucket, Key="a/missing.txt")
        err = _table("s3").map(caught.value, "a/missing.txt", operation="read", bucket=bucket)
    finally:
        client.delete_bucket(Bucket=bucket)
    _check(err, NotFound, "a/missing.txt", "s3")
    assert "NoSuchKey" in str(err) and bucket in str(err)
    assert secret not in str(err) and secret not in repr(err)


# spec: BACKEND-033
def test_sftp_maps_a_real_status_from_the_server(tmp_path: Path) -> None:
    registry = registry_on("sftp", tmp_path)
    try:
        from storeroom.backends.sftp import SFTPBackend

        backend = registry.get_store("s").unwrap(SFTPBackend)
        with backend._pool.hold() as conn, pytest.raises(OSError) as caught:
            conn.sftp.stat(f"missing-{uuid.uuid4().hex}")
        err = _table("sftp").map(caught.value, "a/missing.txt", operation="read")
        bare = None
        with backend._pool.hold() as conn:
            name = f"errtable-{uuid.uuid4().hex[:8]}"
            path = backend._path(name)
            conn.sftp.open(path, "wb").close()
            try:
                conn.sftp.mkdir(path)  # OpenSSH answers a bare SSH_FX_FAILURE
            except OSError as exc:
                bare = exc
            finally:
                conn.sftp.remove(path)
    finally:
        registry.close()
    _check(err, NotFound, "a/missing.txt", "sftp")
    assert bare is not None
    exists = _table("sftp").map(bare, name, operation="write", found="file")
    assert type(exists) is AlreadyExists and exists.path == name


# spec: BACKEND-033
def test_sql_blob_maps_a_real_sqlite_error(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (k TEXT PRIMARY KEY)")
            conn.exec_driver_sql("INSERT INTO t VALUES ('a/b.txt')")
        with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES ('a/b.txt')")
    finally:
        engine.dispose()
    assert isinstance(caught.value.orig, sqlite3.IntegrityError)
    err = _table("sql-blob").map(caught.value, "a/b.txt", operation="read", where="sqlite:///x")
    _check(err, AlreadyExists, "a/b.txt", "sql-blob")
    assert err.hint == "pass overwrite=True to replace it"
    assert "a/b.txt')" not in str(err)  # never the statement or the driver's text


# spec: BACKEND-033
def test_sql_query_maps_a_real_sqlite_error_and_a_conversion_error(tmp_path: Path) -> None:
    import pyarrow as pa

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with pytest.raises(sa.exc.OperationalError) as caught, engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
    finally:
        engine.dispose()
    table = _table("sql-query")
    err = table.map(caught.value, "q.csv", operation="read", query="q", where="sqlite:///db")
    _check(err, InvalidArgument, "q.csv", "sql-query")
    assert "query 'q'" in str(err) and "no_such_table" in str(err)
    with pytest.raises(pa.ArrowException) as bad:
        pa.array(["x"], type=pa.int64())
    conv = table.map(bad.value, "q.csv", operation="read", query="q")
    _check(conv, InvalidArgument, "q.csv", "sql-query")
    assert "cannot be converted to Arrow" in str(conv)


def _get(url: str, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.getheader("Retry-After")
    finally:
        conn.close()


# spec: BACKEND-031, BACKEND-033
def test_http_maps_real_error_answers_and_a_refused_connection() -> None:
    from storeroom.backends.http.errors import HTTPStatusError

    url = _env("STOREROOM_TEST_HTTP_URL")
    table = _table("http")
    wrong = "Bearer wrong-token-5f1c9a"
    status, retry = _get(url, f"/auth/missing-{uuid.uuid4().hex}", {"Authorization": wrong})
    denied = table.map(HTTPStatusError(status, retry), "a/b.txt", operation="read")
    _check(denied, PermissionDenied, "a/b.txt", "http")
    assert "wrong-token" not in str(denied) and "wrong-token" not in repr(denied)
    status, retry = _get(url, "/_test/status/503/7", {})
    busy = table.map(HTTPStatusError(status, retry), "a/b.txt", operation="read")
    assert busy.retryable and busy.retry_after == 7.0
    with pytest.raises(OSError) as refused:
        _get("http://127.0.0.1:9", "/", {})
    down = table.map(refused.value, "a/b.txt", operation="read")
    assert down.retryable and down.backend == "http"


# spec: BACKEND-033
def test_azure_maps_a_real_error_from_azurite() -> None:
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    conn_str = _env("STOREROOM_TEST_AZURE_CONNECTION_STRING")
    service = BlobServiceClient.from_connection_string(conn_str)
    container = service.get_container_client(f"errtable-{uuid.uuid4().hex[:10]}")
    try:
        container.create_container()
    except ResourceExistsError:  # the SDK retried a create the server had already done
        pass
    try:
        with pytest.raises(ResourceNotFoundError) as caught:
            container.get_blob_client("a/missing.txt").download_blob().readall()
        err = _table("azure").map(caught.value, "a/missing.txt", operation="read")
    finally:
        container.delete_container()
    _check(err, NotFound, "a/missing.txt", "azure")
    key = conn_str.split("AccountKey=")[1].split(";")[0]
    assert key not in str(err) and key not in repr(err)
