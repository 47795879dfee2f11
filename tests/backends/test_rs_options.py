"""remote-store's backend constructor options, each against the real test servers.

spec: SFTP-070..074, HTTP-060..061, SQL-050..052, AZURE-040..043, S3-060
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from storeroom import Registry, RegistryConfig, Store
from storeroom.backends.http.backend import HTTPBackend
from storeroom.backends.sql.backend import SQLBlobBackend
from storeroom.errors import ConfigError, InvalidArgument, InvalidPath, StoreroomError
from storeroom.testing.conformance.targets import registered_targets

paramiko = pytest.importorskip("paramiko")

_sftp = sys.modules["storeroom_service_target_sftp"]
SFTP_ENV: dict[str, str] | None = _sftp.ENV
needs_sftp = pytest.mark.skipif(SFTP_ENV is None, reason="sftp test server not running")
AZ = os.environ.get("STOREROOM_TEST_AZURE_CONNECTION_STRING", "")
needs_azure = pytest.mark.skipif(not AZ, reason="azure test server not running")
HTTP_URL = os.environ.get("STOREROOM_TEST_HTTP_URL", "")


def _store(table: dict[str, Any]) -> Store:
    config = {
        "backends": {"b": table},
        "stores": {"s": {"backend": "b", "root_path": f"o-{uuid.uuid4().hex[:10]}"}},
    }
    return Registry(RegistryConfig.from_dict(config)).get_store("s")


# -- SFTP ------------------------------------------------------------------------------


def _sftp_opts(**over: Any) -> dict[str, Any]:
    assert SFTP_ENV is not None
    opts: dict[str, Any] = _sftp.sftp_options(SFTP_ENV)
    opts.update(over)
    return {k: v for k, v in opts.items() if v is not None}


def _host_keys(host: str, port: int) -> str:
    """The test server's known_hosts text, relabelled for ``host:port``."""
    assert SFTP_ENV is not None
    lines = Path(SFTP_ENV["STOREROOM_TEST_SFTP_KNOWN_HOSTS"]).read_text().splitlines()
    label = f"[{host}]:{port}" if port != 22 else host
    return "\n".join(f"{label} {' '.join(line.split()[1:])}" for line in lines if line.strip())


def _roundtrip(store: Store) -> None:
    store.write("k.txt", b"payload")
    assert store.read_bytes("k.txt") == b"payload"
    store.delete("k.txt")


@needs_sftp
def test_sftp_known_host_keys_text_replaces_the_file() -> None:
    """SFTP-070: known_host_keys (text) trusts the server; empty text trusts nothing."""
    env = SFTP_ENV or {}
    text = _host_keys(env["STOREROOM_TEST_SFTP_HOST"], int(env["STOREROOM_TEST_SFTP_PORT"]))
    direct = _sftp_opts(known_hosts=None, known_host_keys=text)
    _roundtrip(_store({"type": "sftp", "options": direct}))
    # remote-store's spelling: config = {known_host_keys = ...}
    inline = _sftp_opts(known_hosts=None, config={"known_host_keys": text})
    _roundtrip(_store({"type": "sftp", "options": inline}))
    # The text replaces the file: a good file plus empty text is refused.
    refused = _store({"type": "sftp", "options": _sftp_opts(known_host_keys="# none\n")})
    with pytest.raises(StoreroomError):
        refused.write("k.txt", b"x")


@needs_sftp
def test_sftp_host_keys_path_is_known_hosts() -> None:
    """SFTP-071: host_keys_path is the known_hosts option; two different values refused."""
    env = SFTP_ENV or {}
    path = env["STOREROOM_TEST_SFTP_KNOWN_HOSTS"]
    alias = _sftp_opts(known_hosts=None, host_keys_path=path)
    _roundtrip(_store({"type": "sftp", "options": alias}))
    same = _sftp_opts(host_keys_path=path)  # known_hosts is the same path: one option
    _roundtrip(_store({"type": "sftp", "options": same}))
    with pytest.raises(ConfigError, match="one option"):
        _store({"type": "sftp", "options": _sftp_opts(host_keys_path="/elsewhere")})


@needs_sftp
def test_sftp_pkey_object_from_code_is_masked() -> None:
    """SFTP-072: a paramiko PKey object works from code and never shows in reprs."""
    env = SFTP_ENV or {}
    key = paramiko.PKey.from_path(env["STOREROOM_TEST_SFTP_KEY"])
    store = _store({"type": "sftp", "options": _sftp_opts(key_filename=None, pkey=key)})
    _roundtrip(store)
    shown = repr(store) + repr(store.backend) + repr(RegistryConfig)
    from storeroom.backends.sftp.backend import SFTPBackend

    opts = store.unwrap(SFTPBackend).options
    assert "pkey='***'" in repr(opts)
    assert key.get_base64() not in repr(opts) + shown
    with pytest.raises(ConfigError, match="pkey"):
        _store({"type": "sftp", "options": _sftp_opts(key_filename=None, pkey={"a": 1})})


@needs_sftp
def test_sftp_connect_kwargs_reach_paramiko() -> None:
    """SFTP-073: connect_kwargs go to SSHClient.connect; the backend's own keys are refused."""
    from storeroom.backends.sftp.backend import SFTPBackend

    store = _store({"type": "sftp", "options": _sftp_opts(connect_kwargs={"compress": True})})
    _roundtrip(store)
    pool = store.unwrap(SFTPBackend)._pool
    transport = pool._idle[0].client.get_transport()
    assert transport is not None and transport.local_compression != "none"
    plain = _store({"type": "sftp", "options": _sftp_opts()})
    _roundtrip(plain)
    t2 = plain.unwrap(SFTPBackend)._pool._idle[0].client.get_transport()
    assert t2 is not None and t2.local_compression == "none"
    with pytest.raises(ConfigError, match=r"connect_kwargs\.port"):
        _store({"type": "sftp", "options": _sftp_opts(connect_kwargs={"port": 1})})


class _StallProxy:
    """TCP proxy to the sshd; ``stall()`` stops server-to-client bytes of open connections."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled: list[threading.Event] = []
        self.socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            flag = threading.Event()
            self.stalled.append(flag)
            self.socks += [client, server]
            threading.Thread(target=self._pump, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, flag), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, flag: threading.Event | None) -> None:
        try:
            while data := src.recv(65536):
                while flag is not None and flag.is_set():
                    time.sleep(0.05)  # hold the bytes: the peer sees silence
                dst.sendall(data)
        except OSError:
            pass

    def stall(self) -> None:
        for flag in self.stalled:
            flag.set()

    def close(self) -> None:
        self.listener.close()
        for flag in self.stalled:
            flag.clear()
        for s in self.socks:
            s.close()


@pytest.fixture
def proxy() -> Iterator[_StallProxy]:
    env = SFTP_ENV or {}
    p = _StallProxy(env["STOREROOM_TEST_SFTP_HOST"], int(env["STOREROOM_TEST_SFTP_PORT"]))
    yield p
    p.close()


@needs_sftp
def test_sftp_io_timeout_bounds_a_stalled_request(proxy: _StallProxy) -> None:
    """SFTP-074: io_timeout (not timeout) bounds a request on a silent connection."""
    keys = _host_keys("127.0.0.1", proxy.port)
    over = {"host": "127.0.0.1", "port": proxy.port, "known_hosts": None}
    opts = _sftp_opts(**over, known_host_keys=keys, timeout=30.0, io_timeout=1.0)
    store = _store({"type": "sftp", "options": opts})
    store.write("k.txt", b"before")
    proxy.stall()  # the pooled connection goes silent; new connections work
    began = time.monotonic()
    assert store.read_bytes("k.txt") == b"before"  # reconnected after the bound
    took = time.monotonic() - began
    assert 0.9 <= took < 10, took
    store.delete("k.txt")
    with pytest.raises(ConfigError, match="io_timeout"):
        _store({"type": "sftp", "options": _sftp_opts(io_timeout=0)})


# -- HTTP ------------------------------------------------------------------------------


@pytest.mark.skipif(not HTTP_URL, reason="http test server not running")
def test_http_verify_ssl_and_http_client() -> None:
    """HTTP-060/061: verify_ssl is verify_tls; http_client is accepted and checked."""
    checked = HTTPBackend(base_url="https://example.org")
    assert checked._pool.ssl_context().verify_mode == ssl.CERT_REQUIRED
    loose = HTTPBackend(base_url="https://example.org", verify_ssl=False)
    ctx = loose._pool.ssl_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert loose.options.verify_tls is False
    with pytest.raises(ConfigError, match="one option"):
        HTTPBackend(base_url="https://example.org", verify_ssl=False, verify_tls=True)
    target = sys.modules["storeroom_service_target_http"]
    ServerSeeder, http_config = target.ServerSeeder, target.http_config
    root = f"o-{uuid.uuid4().hex[:10]}"
    seeder = ServerSeeder(HTTP_URL)
    seeder.put(f"{root}/f.txt", b"served")
    try:
        for client in ("urllib", "requests", "httpx"):
            table = http_config(HTTP_URL, http_client=client)
            stores = {"s": {"backend": "b", "root_path": root}}
            config = {"backends": {"b": table}, "stores": stores}
            store = Registry(RegistryConfig.from_dict(config)).get_store("s")
            assert store.read_bytes("f.txt") == b"served"
    finally:
        seeder.remove(root)
    with pytest.raises(ConfigError, match="http_client"):
        HTTPBackend(base_url="https://example.org", http_client="curl")


# -- sql-blob ----------------------------------------------------------------------------


def test_sql_engine_from_code_is_used_and_not_disposed(tmp_path: Path) -> None:
    """SQL-050: a caller's engine serves the backend, from code and from_dict; close keeps it."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'e.db'}")
    pool = engine.pool
    backend = SQLBlobBackend(engine=engine)
    backend.write("a/b.txt", b"via engine")
    backend.close()
    assert engine.pool is pool  # not disposed
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from storeroom_files")).scalar() == 1
    store = _store({"type": "sql-blob", "options": {"engine": engine}})
    store.write("x.txt", b"y")
    assert store.read_bytes("x.txt") == b"y"
    assert "<Engine object>" in repr(backend.options)
    toml = tmp_path / "s.toml"
    toml.write_text('[backends.b]\ntype = "sql-blob"\noptions = {engine = "sqlite:///x.db"}\n')
    with pytest.raises(ConfigError, match="engine") as info:
        Registry(RegistryConfig.from_file(toml))
    assert "in code" in (info.value.hint or "")


@pytest.fixture(params=["sqlite", "postgres"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'b.db'}"
    url = os.environ.get("STOREROOM_TEST_SQL_URL", "")
    if not url:
        pytest.fail("STOREROOM_TEST_SQL_URL is not set")
    return url


def test_sql_max_blob_size_refuses_and_writes_nothing(sql_url: str) -> None:
    """SQL-051: a write over max_blob_size is InvalidArgument and leaves nothing behind."""
    import io

    store = _store({"type": "sql-blob", "options": {"url": sql_url, "max_blob_size": 10_000}})
    store.write("ok.bin", b"x" * 10_000)
    with pytest.raises(InvalidArgument, match="max_blob_size"):
        store.write("big.bin", b"x" * 10_001)
    with pytest.raises(InvalidArgument):
        store.write("big.bin", io.BytesIO(b"x" * 50_000))
    with pytest.raises(InvalidArgument):
        store.write("ok.bin", io.BytesIO(b"y" * 10_001), overwrite=True)
    assert not store.exists("big.bin")
    assert store.read_bytes("ok.bin") == b"x" * 10_000


def test_sql_reject_write_under_file_ancestor(sql_url: str) -> None:
    """SQL-052: sql-blob refuses a/b under a file a, with the option given or not."""
    for flag in (True, False):
        opts = {"url": sql_url, "reject_write_under_file_ancestor": flag}
        store = _store({"type": "sql-blob", "options": opts})
        store.write("a", b"file")
        with pytest.raises(InvalidPath, match="parent"):
            store.write("a/b", b"x")


# -- S3 ------------------------------------------------------------------------------------


def test_s3_reject_write_under_file_ancestor(tmp_path: Path) -> None:
    """S3-060: with the option, a/b under a file a is InvalidPath; without, it is written."""
    if "s3" not in registered_targets():
        pytest.fail("no s3 target")
    table = registered_targets()["s3"].backend_table(tmp_path)
    strict = dict(table, options={**table["options"], "reject_write_under_file_ancestor": True})
    store = _store(strict)
    store.write("a", b"file")
    with pytest.raises(InvalidPath, match="parent"):
        store.write("a/b", b"x")
    loose = _store(table)
    loose.write("a", b"file")
    loose.write("a/b", b"x")
    assert loose.read_bytes("a/b") == b"x"


# -- Azure ----------------------------------------------------------------------------------


def _az(container: str, **over: Any) -> dict[str, Any]:
    opts = {"container": container, "connection_string": AZ, "create_container": True, "hns": False}
    opts.update(over)
    return {"type": "azure", "options": {k: v for k, v in opts.items() if v is not None}}


@pytest.fixture(scope="module")
def az_container() -> Iterator[str]:
    name = f"o{uuid.uuid4().hex[:16]}"
    yield name
    from azure.storage.blob import BlobServiceClient

    try:
        BlobServiceClient.from_connection_string(AZ, retry_total=0).delete_container(name)
    except Exception:
        pass


@needs_azure
def test_azure_client_options_and_max_concurrency(az_container: str) -> None:
    """AZURE-040/042: client_options reach the SDK clients; max_concurrency the downloads."""
    from storeroom.backends.azure.backend import AzureBackend

    table = _az(az_container, client_options={"user_agent": "rs-compat-probe"}, max_concurrency=3)
    store = _store(table)
    store.write("c.bin", b"z" * 1000)
    backend = store.unwrap(AzureBackend)
    assert "rs-compat-probe" in backend._service()._config.user_agent_policy.user_agent
    with backend.open_read(store.root_path + "/c.bin") as fh:
        assert fh._dl._max_concurrency == 3  # the SDK downloader of this read
        assert fh.read() == b"z" * 1000
    with pytest.raises(ConfigError, match="max_concurrency"):
        _store(_az(az_container, max_concurrency=0))


@needs_azure
def test_azure_credential_object_from_code(az_container: str, tmp_path: Path) -> None:
    """AZURE-041: an SDK credential object works from code, is masked, refused in files."""
    from azure.core.credentials import AzureNamedKeyCredential

    parts = dict(p.split("=", 1) for p in AZ.split(";") if "=" in p)
    cred = AzureNamedKeyCredential(parts["AccountName"], parts["AccountKey"])
    url = parts["BlobEndpoint"]
    store = _store(_az(az_container, connection_string=None, account_url=url, credential=cred))
    store.write("k.txt", b"with credential")
    assert store.read_bytes("k.txt") == b"with credential"
    from storeroom.backends.azure.backend import AzureBackend

    assert "credential='***'" in repr(store.unwrap(AzureBackend).options)
    toml = tmp_path / "a.toml"
    toml.write_text(
        '[backends.b]\ntype = "azure"\n'
        f'options = {{container = "c", account_url = "{url}", credential = "text"}}\n'
    )
    with pytest.raises(ConfigError, match="credential"):
        Registry(RegistryConfig.from_file(toml))


@needs_azure
def test_azure_reject_write_under_file_ancestor(az_container: str) -> None:
    """AZURE-043: with the option, a/b under a blob a is InvalidPath; without, written."""
    store = _store(_az(az_container, reject_write_under_file_ancestor=True))
    store.write("a", b"file")
    with pytest.raises(InvalidPath, match="parent"):
        store.write("a/b", b"x")
    with pytest.raises(InvalidPath, match="parent"):
        store.copy("a", "a/c")
    loose = _store(_az(az_container))
    loose.write("a", b"file")
    loose.write("a/b", b"x")
    assert loose.read_bytes("a/b") == b"x"


# -- declaration rules, no server needed -------------------------------------------------------


def test_code_objects_are_masked_and_plain_values_refused(tmp_path: Path) -> None:
    """SQL-050/SFTP-072/AZURE-041: objects show only their type; text for an object option is
    refused naming the key, with a hint to build the backend in code."""
    key = paramiko.RSAKey.generate(1024)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    config = RegistryConfig.from_dict(
        {
            "backends": {
                "s": {"type": "sftp", "options": {"host": "h", "pkey": key}},
                "q": {"type": "sql-blob", "options": {"engine": engine}},
            },
            "stores": {"x": {"backend": "s"}},
        }
    )
    shown = repr(config)
    assert f"<{type(key).__name__} object>" in shown and "<Engine object>" in shown
    assert key.get_base64() not in shown and key.fingerprint not in shown
    with pytest.raises(ConfigError, match="engine") as info:
        SQLBlobBackend(engine="sqlite:///x.db")
    assert "in code" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="exactly one"):
        SQLBlobBackend(url=f"sqlite:///{tmp_path / 'n.db'}", engine=engine)
    with pytest.raises(ConfigError, match=r"config\.hosts"):
        from storeroom.backends.sftp.backend import SFTPBackend

        SFTPBackend("h", config={"hosts": "x"})
    with pytest.raises(ConfigError, match="one option"):
        SFTPBackend("h", known_host_keys="a", config={"known_host_keys": "b"})
