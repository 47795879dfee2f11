"""Tests specific to the ``sftp`` backend, against the private sshd of ``scripts/services``.

The shared behaviour is covered by the conformance suite (target ``sftp``);
here: the error tables (SFTP-020..023), host key policies (SFTP-010..013),
reconnect and pooling (SFTP-030, SFTP-031) and the fault tests (SFTP-041, SFTP-042).
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storeroom import Registry, RegistryConfig, Store
from storeroom.errors import (
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    DirectoryNotEmpty,
    InvalidPath,
    NotFound,
    PermissionDenied,
    UnexpectedError,
)

paramiko = pytest.importorskip("paramiko")

from storeroom.backends.sftp import errors as E  # noqa: E402
from storeroom.backends.sftp.backend import SFTPBackend  # noqa: E402
from storeroom.backends.sftp.config import SFTPOptions  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
# Loaded by tests/conftest.py, which registers the conformance target.
_target = sys.modules["storeroom_service_target_sftp"]
ENV: dict[str, str] | None = _target.ENV
needs_server = pytest.mark.skipif(ENV is None, reason="sftp test server not running")


def options(**over: Any) -> dict[str, Any]:
    assert ENV is not None
    opts = _target.sftp_options(ENV)
    opts.update(over)
    return opts


def make_store(name: str = "files", **over: Any) -> tuple[Registry, Store]:
    config = RegistryConfig.from_dict(
        {
            "backends": {"remote": {"type": "sftp", "options": options(**over)}},
            "stores": {name: {"backend": "remote", "root_path": f"t-{uuid.uuid4().hex}"}},
        }
    )
    registry = Registry(config)
    return registry, registry.get_store(name)


def cleanup(store: Store) -> None:
    """Remove the store's root folder on the server."""
    try:
        store.unwrap(SFTPBackend).remove_folder(store.root_path, recursive=True)
    except NotFound:
        pass


@pytest.fixture
def store() -> Iterator[Store]:
    registry, s = make_store()
    yield s
    cleanup(s)
    registry.close()


def services(cmd: str) -> None:
    subprocess.run(
        [str(REPO / "scripts/services"), cmd, "sftp"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )


def sshd_children() -> list[int]:
    """PIDs of the per-connection processes of our own sshd (never anyone else's)."""
    state = Path(os.environ.get("STOREROOM_SERVICES_DIR", REPO / ".services"))
    pid = (state / "sftp" / "pid").read_text().strip()
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", pid], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


# -- options (no server) ---------------------------------------------------------


def test_options_mask_secrets_and_reject_unknown_keys() -> None:
    """SFTP-001: credentials are Secret; unknown keys and bad values are ConfigError."""
    opts = SFTPOptions.parse({"host": "h", "password": "hunter2-pw", "pkey": "KEYTEXT-1234"})
    assert "hunter2-pw" not in repr(opts) and "KEYTEXT-1234" not in repr(opts)
    with pytest.raises(ConfigError, match="host_key_polic"):
        SFTPOptions.parse({"host": "h", "host_key_polcy": "strict"})
    with pytest.raises(ConfigError):
        SFTPOptions.parse({"host": "h", "host_key_policy": "yolo"})
    with pytest.raises(ConfigError, match="retry"):
        SFTPOptions.parse({"host": "h", "retry": {"max_attemps": 3}})
    SFTPOptions.parse({"host": "h", "retry": {"max_attempts": 3}})
    with pytest.raises(ConfigError, match="not both"):
        SFTPOptions.parse({"host": "h", "pkey": "x", "key_filename": "/k"})
    with pytest.raises(ConfigError, match="base_path"):
        SFTPOptions.parse({"host": "h", "base_path": "a/../b"})
    assert SFTPOptions.parse({"host": "h", "base_path": "/srv//data/./x/"}).root() == "/srv/data/x"


def test_backend_pickles_as_configuration() -> None:
    """SFTP-002: no connection is opened on construction; pickling keeps options only."""
    backend = SFTPBackend("127.0.0.1", port=9, password="pw-secret-1")
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.options == backend.options
    assert "pw-secret-1" not in repr(clone)


# -- error tables (no server) ------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        (E.SFTPStatusError(E.FX_NO_SUCH_FILE, "No such file"), NotFound, False),
        (E.SFTPStatusError(E.FX_PERMISSION_DENIED, "Permission denied"), PermissionDenied, False),
        (E.SFTPStatusError(E.FX_BAD_MESSAGE, "Bad message"), InvalidPath, False),
        (E.SFTPStatusError(E.FX_CONNECTION_LOST, "lost"), BackendUnavailable, True),
        (E.SFTPStatusError(E.FX_OP_UNSUPPORTED, "nope"), UnexpectedError, False),
        (E.SFTPStatusError(E.FX_FAILURE, "Failure"), UnexpectedError, False),
        (TimeoutError("timed out"), BackendUnavailable, True),
        (EOFError(), BackendUnavailable, True),
        (ConnectionRefusedError(111, "refused"), BackendUnavailable, True),
        (paramiko.SSHException("Server connection dropped"), BackendUnavailable, True),
        (paramiko.AuthenticationException("auth"), PermissionDenied, False),
        (paramiko.PasswordRequiredException("pw"), ConfigError, False),
        (E.HostKeyRejected("unknown"), PermissionDenied, False),
        (RuntimeError("boom"), UnexpectedError, False),
    ],
)
def test_error_table(exc: BaseException, cls: type, retryable: bool) -> None:
    """SFTP-020: one table per kind of failure; never the message text."""
    err = E.TABLE.map(exc, "a/b.txt", operation="write")
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.path == "a/b.txt" and err.backend == "sftp"


@pytest.mark.parametrize(
    ("op", "found", "cls"),
    [
        ("write", "file", AlreadyExists),
        ("write", "folder", InvalidPath),
        ("move", "file", AlreadyExists),
        ("open_read", "folder", InvalidPath),
        ("delete", "folder", InvalidPath),
        ("remove_folder", "folder", DirectoryNotEmpty),
        ("mkdir", "file", InvalidPath),
        ("delete", "missing", NotFound),
        ("write", "missing", UnexpectedError),
    ],
)
def test_failure_table(op: str, found: E.Found, cls: type) -> None:
    """SFTP-021: a bare SSH_FX_FAILURE is decided by (operation, what a stat found)."""
    bare = E.SFTPStatusError(E.FX_FAILURE, "Failure")
    assert type(E.TABLE.map(bare, "k", operation=op, found=found)) is cls


def test_message_text_is_never_used() -> None:
    """SFTP-022: the same text with another code maps differently."""
    a = E.TABLE.map(E.SFTPStatusError(E.FX_NO_SUCH_FILE, "Permission denied"), "k")
    b = E.TABLE.map(E.SFTPStatusError(E.FX_PERMISSION_DENIED, "No such file"), "k")
    assert isinstance(a, NotFound) and isinstance(b, PermissionDenied)


# -- against the server ---------------------------------------------------------------


@needs_server
def test_failure_is_disambiguated_by_stat(store: Store) -> None:
    """SFTP-021: a Failure reply is disambiguated by a stat (the mapped classes on every
    case are checked by the conformance suite on target ``sftp``)."""
    store.write("d/f.txt", b"one")
    with pytest.raises(AlreadyExists) as info:
        store.write("d/f.txt", b"two")
    cause = info.value.__cause__
    assert isinstance(cause, E.SFTPStatusError) and cause.code == E.FX_FAILURE
    assert store.read_bytes("d/f.txt") == b"one"


@needs_server
def test_strict_policy_rejects_an_unknown_host(tmp_path: Path) -> None:
    """SFTP-010: strict + host missing from known_hosts -> PermissionDenied with a hint."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    registry, store = make_store(known_hosts=str(empty))
    with registry, pytest.raises(PermissionDenied) as info:
        store.exists("x")
    assert "known_hosts" in str(info.value) and "sftp" in str(info.value)


@needs_server
def test_strict_policy_rejects_a_changed_host_key(tmp_path: Path) -> None:
    """SFTP-011: a different key for the host is refused (possible interception)."""
    assert ENV is not None
    other = paramiko.RSAKey.generate(1024)
    line = f"[127.0.0.1]:{ENV['STOREROOM_TEST_SFTP_PORT']} ssh-ed25519 "
    # Same host, same key type, another key: build an ed25519 line from a random blob.
    fake = paramiko.Ed25519Key(data=_ed25519_blob())
    kh = tmp_path / "known_hosts"
    kh.write_text(line + fake.get_base64() + "\n")
    del other
    registry, store = make_store(known_hosts=str(kh))
    with registry, pytest.raises(PermissionDenied, match="does not match"):
        store.exists("x")


def _ed25519_blob() -> bytes:
    msg = paramiko.Message()
    msg.add_string("ssh-ed25519")
    msg.add_string(os.urandom(32))
    return msg.asbytes()


@needs_server
def test_auto_add_trusts_on_first_use(tmp_path: Path) -> None:
    """SFTP-012: auto_add connects to an unknown host and remembers its key."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    registry, store = make_store(known_hosts=str(empty), host_key_policy="auto_add")
    with registry:
        store.write("a.txt", b"ok")
        assert store.read_bytes("a.txt") == b"ok"
        cleanup(store)
    assert empty.read_text() == ""  # learned in memory only


@needs_server
def test_warn_policy_logs_and_connects(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SFTP-013: warn logs the unknown key and connects."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    registry, store = make_store(known_hosts=str(empty), host_key_policy="warn")
    with registry, caplog.at_level(logging.WARNING, logger="storeroom.backends.sftp"):
        assert store.exists("nothing-here") is False
    assert any("unknown host key" in r.getMessage() for r in caplog.records)


@needs_server
def test_wrong_key_is_permission_denied_without_secret() -> None:
    """SFTP-041: a key the server does not know -> PermissionDenied naming backend and store."""
    key = paramiko.RSAKey.generate(2048)
    import io

    buf = io.StringIO()
    key.write_private_key(buf)
    text = buf.getvalue()
    registry, store = make_store("vault", key_filename=None, pkey=text)
    with registry, pytest.raises(PermissionDenied) as info:
        store.write("x.txt", b"data")
    message = str(info.value) + repr(info.value)
    assert "backend='sftp'" in message and "store='vault'" in message
    assert text not in message and text.splitlines()[1] not in message
    assert not info.value.retryable


@needs_server
def test_unreachable_host_is_backend_unavailable_within_timeout() -> None:
    """SFTP-041: nothing listening, or no answer at all -> BackendUnavailable in time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    registry, store = make_store(port=free_port, timeout=2.0)
    with registry, pytest.raises(BackendUnavailable) as info:
        store.exists("x")
    assert info.value.retryable
    # A listener that never speaks SSH: the banner wait must end at the timeout.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        registry, store = make_store(port=silent.getsockname()[1], timeout=1.0)
        started = time.monotonic()
        with registry, pytest.raises(BackendUnavailable):
            store.exists("x")
        assert time.monotonic() - started < 5.0


@needs_server
def test_reconnects_after_the_connection_is_dropped(store: Store) -> None:
    """SFTP-031: killing the server side of pooled connections is invisible to the Store."""
    store.write("a.txt", b"before")
    kids = sshd_children()
    assert kids
    for pid in kids:
        os.kill(pid, 9)
    time.sleep(0.2)
    assert store.read_bytes("a.txt") == b"before"
    store.write("b.txt", b"after")
    assert sorted(f.path for f in store.list_files()) == ["a.txt", "b.txt"]


@needs_server
def test_reconnects_after_the_transport_is_closed(store: Store) -> None:
    """SFTP-031: a pooled connection closed under us is replaced on next use."""
    store.write("a.txt", b"x")
    backend = store.unwrap(SFTPBackend)
    for conn in list(backend._pool._idle):
        conn.client.close()
    assert store.exists("a.txt")
    assert store.read_bytes("a.txt") == b"x"


@needs_server
def test_pool_is_thread_safe(store: Store) -> None:
    """SFTP-030: many threads share one Store; every byte lands where it should."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(15):
                data = os.urandom(1000 + n * 97 + i)
                store.write(f"t{n}/f{i}.bin", data, overwrite=True)
                assert store.read_bytes(f"t{n}/f{i}.bin") == data
                assert store.exists(f"t{n}/f{i}.bin")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert len(list(store.list_files(recursive=True))) == 8 * 15
    backend = store.unwrap(SFTPBackend)
    assert len(backend._pool._idle) <= backend.options.pool_size


@needs_server
def test_open_streams_hold_their_own_connection(store: Store) -> None:
    """SFTP-030, SFTP-043: reading two files interleaved, and writing while reading, works."""
    a, b = os.urandom(3 << 20), os.urandom(3 << 20)
    store.write("a", a)
    store.write("b", b)
    with store.read("a") as ra, store.read("b") as rb:
        got_a, got_b = [], []
        while chunk := ra.read(100_000):
            got_a.append(chunk)
            got_b.append(rb.read(100_000))
            store.write(f"w/{len(got_a)}", b"x")
        got_b.append(rb.read())
    assert b"".join(got_a) == a and b"".join(got_b) == b


@needs_server
def test_server_stopped_mid_write_leaves_no_partial_file() -> None:
    """SFTP-042, SFTP-040: stop mid-write -> retryable BackendUnavailable, no file (not even
    the hidden temporary one, once the store is used again); restart ok."""
    registry, store = make_store()
    stopped = False

    def chunks() -> Iterator[bytes]:
        nonlocal stopped
        for i in range(64):
            if i == 8:
                services("down")
                stopped = True
            yield os.urandom(256 * 1024)

    try:
        store.write("seed.txt", b"seed")
        with pytest.raises(BackendUnavailable) as info:
            store.write("big.bin", chunks())
        assert stopped and info.value.retryable
        assert "backend='sftp'" in str(info.value)
    finally:
        services("up")
    try:
        assert not store.exists("big.bin")
        assert "big.bin" not in [f.path for f in store.list_files()]
        store.write("big.bin", b"complete")
        assert store.read_bytes("big.bin") == b"complete"
        assert store.read_bytes("seed.txt") == b"seed"
        # The half-written temporary file was removed by the next connection.
        backend = store.unwrap(SFTPBackend)
        names = backend._call("t", "", lambda c: c.sftp.listdir(backend._path(store.root_path)))
        assert sorted(names) == ["big.bin", "seed.txt"]
        assert not backend._orphans
    finally:
        cleanup(store)
        registry.close()
