"""remote-store's backend helpers under ``storeroom.backends``, against the real test servers.

spec: COMPAT-060..064, S3-070, SFTP-080..083, AZURE-050 (serializers: test_rs_serializers.py)
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from storeroom import Capability, RetryPolicy, Store
from storeroom.errors import (
    BackendUnavailable,
    ConfigError,
    PermissionDenied,
    StoreroomError,
)

SRC = Path(__file__).resolve().parents[2] / "src"
SDKS = ("paramiko", "azure.storage.blob", "pyarrow", "sqlalchemy", "s3fs", "botocore")
NAMES = (
    "ReadOnlyHttpBackend",
    "S3PyArrowBackend",
    "SFTPUtils",
    "AzureUtils",
    "ArrowSerializer",
    "ResultSerializer",
)

_sftp = sys.modules["storeroom_service_target_sftp"]
_s3 = sys.modules["storeroom_service_target_s3"]
SFTP_ENV: dict[str, str] | None = _sftp.ENV
S3_ENV: dict[str, str] | None = _s3.ENV
AZ = os.environ.get("STOREROOM_TEST_AZURE_CONNECTION_STRING", "")
needs_sftp = pytest.mark.skipif(SFTP_ENV is None, reason="sftp test server not running")
needs_s3 = pytest.mark.skipif(S3_ENV is None, reason="s3 test server not running")
needs_azure = pytest.mark.skipif(not AZ, reason="azure test server not running")


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# -- the names ---------------------------------------------------------------------------


def test_the_names_import_without_loading_an_sdk() -> None:
    """spec: COMPAT-060"""
    out = _python(
        f"import sys\nfrom storeroom.backends import {', '.join(NAMES)}\n"
        "import storeroom\n"
        f"print(sorted(m for m in {SDKS!r} if m in sys.modules))"
    )
    assert out == "[]"


def test_every_name_remote_store_backends_exports_is_there() -> None:
    """spec: COMPAT-060"""
    import remote_store.backends as rs

    import storeroom.backends as ours

    missing = [n for n in rs.__all__ if not hasattr(ours, n)]
    assert missing == []
    assert set(NAMES) <= set(ours.__all__)


def test_read_only_http_backend_is_the_http_backend() -> None:
    """spec: COMPAT-061"""
    from storeroom.backends import HTTPBackend, ReadOnlyHttpBackend
    from storeroom.backends.http.backend import HTTPBackend as real

    assert ReadOnlyHttpBackend is HTTPBackend is real
    url = os.environ.get("STOREROOM_TEST_HTTP_URL", "")
    if url:
        backend = ReadOnlyHttpBackend(url)
        assert isinstance(backend, HTTPBackend)
        assert Capability.WRITE not in Store(backend).capabilities


# -- S3PyArrowBackend --------------------------------------------------------------------


def _s3_kwargs() -> dict[str, Any]:
    assert S3_ENV is not None
    opts = _s3.options(S3_ENV)
    return {k: v for k, v in opts.items() if k != "bucket"}


@needs_s3
def test_s3_pyarrow_backend_takes_remote_store_arguments_and_moves_data() -> None:
    """spec: S3-070, COMPAT-062"""
    from storeroom.backends import S3Backend, S3PyArrowBackend

    assert S3_ENV is not None
    bucket = _s3.ensure_bucket(S3_ENV)
    root = f"pa-{uuid.uuid4().hex[:10]}"
    backend = S3PyArrowBackend(
        bucket,
        reject_write_under_file_ancestor=True,
        retry=RetryPolicy(),
        client_options={"config_kwargs": {"max_pool_connections": 4}},
        **_s3_kwargs(),
    )
    assert isinstance(backend, S3Backend)
    assert backend.options.engine == "pyarrow" and backend.options.retry_policy is not None
    assert Capability.WRITE_RESULT_NATIVE not in backend.capabilities
    store = Store(backend, root_path=root)
    store.write("a/one.bin", b"x" * 300_000)
    assert store.read_bytes("a/one.bin") == b"x" * 300_000
    assert store.read_range("a/one.bin", 299_998) == b"xx"
    # the bytes are plain S3 objects: the s3fs engine reads them the same
    other = Store(S3Backend(bucket, **_s3_kwargs()), root_path=root)
    assert other.read_bytes("a/one.bin") == b"x" * 300_000
    assert [f.path.name for f in store.list_files("a")] == ["one.bin"]
    with pytest.raises(StoreroomError):
        store.write("a/one.bin/under", b"no")  # the file-ancestor check is on
    copy = pickle.loads(pickle.dumps(backend))
    assert type(copy) is S3PyArrowBackend.load() and copy.options.engine == "pyarrow"
    assert Store(copy, root_path=root).read_bytes("a/one.bin")[:3] == b"xxx"
    store.delete_folder("a", recursive=True)
    assert not other.exists("a/one.bin")


def test_s3_pyarrow_backend_refuses_another_engine() -> None:
    """spec: S3-070"""
    pytest.importorskip("s3fs")
    from storeroom.backends import S3PyArrowBackend

    with pytest.raises(ConfigError, match="engine") as info:
        S3PyArrowBackend("bucket", engine="s3fs")
    assert info.value.key == "engine"
    with pytest.raises(ConfigError):
        S3PyArrowBackend("")  # remote-store: a non-empty bucket is required


# -- SFTPUtils ---------------------------------------------------------------------------


def _sftp_env() -> dict[str, str]:
    assert SFTP_ENV is not None
    return SFTP_ENV


def _host_port() -> tuple[str, int]:
    env = _sftp_env()
    return env["STOREROOM_TEST_SFTP_HOST"], int(env["STOREROOM_TEST_SFTP_PORT"])


def _sftp_store(**over: Any) -> Store:
    from storeroom.backends import SFTPBackend

    opts = {**_sftp.sftp_options(_sftp_env()), **over}
    if "pkey" in over:
        opts.pop("key_filename")
    root = f"u-{uuid.uuid4().hex[:10]}"
    return Store(SFTPBackend(**opts), root_path=root)


def _roundtrip(store: Store) -> None:
    store.write("k.txt", b"hello")
    assert store.read_bytes("k.txt") == b"hello"
    store.delete("k.txt")


@needs_sftp
def test_scan_host_keys_gives_the_known_hosts_line() -> None:
    """spec: SFTP-080"""
    from storeroom.backends import SFTPUtils

    host, port = _host_port()
    line = SFTPUtils.scan_host_keys(host, port, timeout=5.0)
    known = Path(_sftp_env()["STOREROOM_TEST_SFTP_KNOWN_HOSTS"]).read_text().split("\n")
    assert line in [k.strip() for k in known]
    assert line.startswith(f"[{host}]:{port} ")
    # the line is usable as known_host_keys text with strict checking
    _roundtrip(_sftp_store(known_hosts=None, known_host_keys=line + "\n"))


@needs_sftp
def test_load_private_key_from_a_file_and_from_text_authenticates() -> None:
    """spec: SFTP-081"""
    import paramiko

    from storeroom.backends import SFTPUtils

    path = _sftp_env()["STOREROOM_TEST_SFTP_KEY"]
    from_file = SFTPUtils.load_private_key(path, from_file=True)
    text = Path(path).read_text()
    from_text = SFTPUtils.load_private_key(text)
    # line breaks flattened to spaces (as some secret stores hand keys out)
    head, _, rest = text.strip().partition("\n")
    body, _, tail = rest.rpartition("\n")
    flat = SFTPUtils.load_private_key(f"{head} {body.replace(chr(10), ' ')} {tail}")
    for key in (from_file, from_text, flat):
        assert isinstance(key, paramiko.PKey)
        assert key.get_base64() == from_file.get_base64()
    _roundtrip(_sftp_store(pkey=from_text))
    _roundtrip(_sftp_store(pkey=flat))


def test_load_private_key_failures_are_typed(tmp_path: Path) -> None:
    """spec: SFTP-081"""
    pytest.importorskip("paramiko")
    from storeroom.backends import SFTPUtils
    from storeroom.errors import NotFound

    with pytest.raises(ConfigError) as info:
        SFTPUtils.load_private_key("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END")
    assert info.value.key == "pkey" and "AAAA" not in str(info.value)
    with pytest.raises(NotFound):
        SFTPUtils.load_private_key(str(tmp_path / "none"), from_file=True)


@needs_sftp
def test_scan_host_algorithms_returns_the_server_lists() -> None:
    """spec: SFTP-082"""
    import paramiko

    from storeroom.backends import SFTPUtils
    from storeroom.backends.sftp.utils import KEXINIT_FIELDS

    host, port = _host_port()
    info = SFTPUtils.scan_host_algorithms(host, port, timeout=5.0)
    assert set(info) == {"banner", *KEXINIT_FIELDS}
    assert isinstance(info["banner"], str) and info["banner"].startswith("SSH-2.0-")
    assert "ssh-ed25519" in info["server_host_key_algorithms"]
    # what a real handshake negotiates is on the server's lists
    sock = socket.create_connection((host, port), timeout=5)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=5)
        assert transport.remote_version == info["banner"]
        assert transport.host_key_type in info["server_host_key_algorithms"]
        assert transport.remote_cipher in info["encryption_algorithms_stoc"]
        assert transport.local_cipher in info["encryption_algorithms_ctos"]
    finally:
        transport.close()
    assert info["languages_ctos"] == [] or all(info["languages_ctos"])


def test_scans_of_a_closed_port_are_backend_unavailable() -> None:
    """spec: SFTP-080, SFTP-082"""
    pytest.importorskip("paramiko")
    from storeroom.backends import SFTPUtils

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once closed
    for scan in (SFTPUtils.scan_host_keys, SFTPUtils.scan_host_algorithms):
        with pytest.raises(BackendUnavailable) as info:
            scan("127.0.0.1", port, timeout=2.0)
        assert isinstance(info.value, OSError) and info.value.retryable


@needs_sftp
def test_host_key_policy_members_are_option_values(tmp_path: Path) -> None:
    """spec: SFTP-083"""
    from storeroom.backends import SFTPUtils

    policy = SFTPUtils.HostKeyPolicy
    assert policy("tofu") is policy.TRUST_ON_FIRST_USE == "auto_add"
    assert policy("auto") is policy.AUTO_ADD == "warn"
    assert policy("STRICT") is policy.STRICT == "strict"
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(StoreroomError):
        _sftp_store(known_hosts=str(empty), host_key_policy=policy.STRICT).exists("x")
    _roundtrip(_sftp_store(known_hosts=str(empty), host_key_policy=policy.TRUST_ON_FIRST_USE))
    _roundtrip(_sftp_store(known_hosts=str(empty), host_key_policy=policy.AUTO_ADD))


def test_host_key_policy_accepts_remote_store_spellings_in_config() -> None:
    """spec: SFTP-083"""
    from storeroom.backends.sftp.config import SFTPOptions
    from storeroom.backends.sftp.utils import HostKeyPolicy

    def parsed(value: Any) -> Any:
        return SFTPOptions.parse({"host": "h", "host_key_policy": value}).host_key_policy

    assert parsed("tofu") == parsed("TRUST_ON_FIRST_USE") == parsed("auto_add") == "auto_add"
    assert parsed("auto") == parsed(HostKeyPolicy.AUTO_ADD) == "warn"
    assert type(parsed(HostKeyPolicy.STRICT)) is str and parsed("Strict") == "strict"
    with pytest.raises(ConfigError, match="tofu") as info:
        parsed("yolo")
    assert info.value.key == "host_key_policy"
    with pytest.raises(ValueError):
        HostKeyPolicy("yolo")


def test_enable_ssh_rsa_compat_adds_ssh_rsa_once() -> None:
    """spec: SFTP-083 (in a child process: the change is process-wide)"""
    pytest.importorskip("paramiko")
    out = _python(
        "import paramiko\nfrom paramiko.rsakey import RSAKey\n"
        "from storeroom.backends import SFTPUtils\n"
        "T = paramiko.Transport\n"
        "T._preferred_keys = tuple(k for k in T._preferred_keys if k != 'ssh-rsa')\n"
        "T._preferred_pubkeys = tuple(k for k in T._preferred_pubkeys if k != 'ssh-rsa')\n"
        "T._key_info.pop('ssh-rsa', None); RSAKey.HASHES.pop('ssh-rsa', None)\n"
        "SFTPUtils.enable_ssh_rsa_compat(); SFTPUtils.enable_ssh_rsa_compat()\n"
        "print(T._preferred_keys.count('ssh-rsa'), T._preferred_keys[-1],"
        " T._preferred_pubkeys.count('ssh-rsa'), 'ssh-rsa' in T._key_info,"
        " 'ssh-rsa' in RSAKey.HASHES)"
    )
    assert out == "1 ssh-rsa 1 True True"


# -- AzureUtils --------------------------------------------------------------------------


def _conn_parts() -> dict[str, str]:
    return dict(p.split("=", 1) for p in AZ.split(";") if p)


@needs_azure
def test_detect_hns_on_a_flat_account_is_false() -> None:
    """spec: AZURE-050"""
    from storeroom.backends import AzureUtils

    assert AzureUtils.detect_hns(connection_string=AZ) is False
    parts = _conn_parts()
    kw = {
        "account_url": parts["BlobEndpoint"],
        "account_name": parts["AccountName"],
        "account_key": parts["AccountKey"],
    }
    assert AzureUtils.detect_hns(**kw) is False
    assert asyncio.run(AzureUtils.adetect_hns(connection_string=AZ)) is False


@needs_azure
def test_detect_hns_failures_are_typed_and_hide_the_key() -> None:
    """spec: AZURE-050"""
    from storeroom.backends import AzureUtils

    parts = _conn_parts()
    wrong = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5" * 2
    with pytest.raises(PermissionDenied) as info:
        AzureUtils.detect_hns(
            account_url=parts["BlobEndpoint"], account_name=parts["AccountName"], account_key=wrong
        )
    assert wrong not in str(info.value)
    with pytest.raises(ConfigError):
        AzureUtils.detect_hns()  # no account named
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BackendUnavailable):
        AzureUtils.detect_hns(
            account_url=f"http://127.0.0.1:{port}/devstoreaccount1",
            account_name="devstoreaccount1",
            account_key=parts["AccountKey"],
            client_options={"connection_timeout": 2},
        )


# -- the same answers as remote-store 0.33.0 (installed as a dev dependency) -------------


@needs_sftp
def test_sftp_scans_answer_as_remote_store_does() -> None:
    """spec: COMPAT-064"""
    from remote_store.backends import SFTPUtils as Theirs

    from storeroom.backends import SFTPUtils

    host, port = _host_port()
    assert SFTPUtils.scan_host_keys(host, port) == Theirs.scan_host_keys(host, port)
    ours = SFTPUtils.scan_host_algorithms(host, port)
    theirs = Theirs.scan_host_algorithms(host, port)
    assert ours == theirs


@needs_azure
def test_detect_hns_answers_as_remote_store_does() -> None:
    """spec: COMPAT-064"""
    from remote_store.backends import AzureUtils as Theirs

    from storeroom.backends import AzureUtils

    assert AzureUtils.detect_hns(connection_string=AZ) == Theirs.detect_hns(connection_string=AZ)
