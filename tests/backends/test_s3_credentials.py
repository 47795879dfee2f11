"""Refreshing S3 credentials against the moto server (spec 19-credentials.md).

moto accepts any key, so every test puts a recording relay between the
backend and moto and checks, per request, which access key signed it: the
key must come from the provider (or STS) and must not have expired when the
request arrived; the provider must have been called again before each expiry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("s3fs")

from credentials_support import assert_hidden, round_trips, shown
from s3_recorder import Relay
from s3_support import ENV

from storeroom import Registry, RegistryConfig, SecretRedactionFilter, Store
from storeroom.backends.s3.backend import S3Backend
from storeroom.backends.s3.config import S3Options
from storeroom.credentials import Credentials
from storeroom.errors import (
    BackendUnavailable,
    ConfigError,
    PermissionDenied,
    StoreroomError,
)

pytestmark = pytest.mark.skipif(ENV is None, reason="no S3 test server")
UTC = dt.UTC


def _bucket() -> str:
    assert ENV is not None
    return sys.modules["storeroom_service_target_s3"].ensure_bucket(ENV)  # type: ignore[no-any-return]


class Rotating:
    """A provider issuing new keys that live ``life`` seconds; remembers each issue."""

    def __init__(self, life: float, tag: str = "") -> None:
        self.life = life
        self.tag = tag or uuid.uuid4().hex[:8]
        self.issued: list[tuple[float, str, float]] = []  # (called at, key id, expires at)
        self.lock = threading.Lock()

    def secret(self, n: int) -> str:
        return f"planted-secret-{self.tag}-{n}"

    def token(self, n: int) -> str:
        return f"planted-token-{self.tag}-{n}"

    def __call__(self) -> Credentials:
        with self.lock:
            n = len(self.issued)
            now = time.time()
            key = f"AKIDROT{self.tag.upper()}{n}"
            self.issued.append((now, key, now + self.life))
        return Credentials(
            access_key_id=key,
            secret_access_key=self.secret(n),
            session_token=self.token(n),
            expires_at=dt.datetime.fromtimestamp(now + self.life, UTC),
        )


def _store(relay: Relay, **opts: Any) -> Store:
    assert ENV is not None
    backend = S3Backend(
        _bucket(), endpoint_url=relay.url, region_name=ENV["STOREROOM_TEST_S3_REGION"], **opts
    )
    return Store(backend, root_path=uuid.uuid4().hex)


def _check_signed_fresh(relay: Relay, issued: list[tuple[float, str, float]]) -> set[str]:
    """Every request was signed with an issued key that had not expired; the keys used."""
    expiry = {key: exp for _, key, exp in issued}
    used = set()
    assert relay.seen
    for req in relay.seen:
        assert req.access_key_id in expiry, f"{req.method} {req.path} signed with an unknown key"
        assert req.at < expiry[req.access_key_id], "a request was signed with expired credentials"
        used.add(req.access_key_id)
    return used


# spec: CRED-002, CRED-003, CRED-006, CRED-011
def test_rotating_provider_keeps_working_across_expiries() -> None:
    assert ENV is not None
    provider = Rotating(life=3.0)
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=provider)
        start = time.time()
        ops = round_trips(store, 8.0, threads=3)
        elapsed = time.time() - start
        store.close()
    assert ops > 30
    used = _check_signed_fresh(relay, provider.issued)
    # Renewed before each expiry: every new key was issued before the previous one expired.
    for (_, _, exp), (called, _, _) in zip(provider.issued, provider.issued[1:], strict=False):
        assert called < exp
    # Default margin is a quarter of the 3 s lifetime: a new key about every 2.25 s,
    # shared by all three threads (not one per thread or per connection).
    assert 3 <= len(provider.issued) <= elapsed / 2.25 + 2
    assert len(used) >= 3
    # The session token of the same issue travelled with each key.
    tokens = {key: provider.token(n) for n, (_, key, _) in enumerate(provider.issued)}
    assert all(r.token == tokens[r.access_key_id] for r in relay.seen if r.access_key_id)


# spec: CRED-011
def test_pyarrow_engine_reads_with_renewed_keys() -> None:
    assert ENV is not None
    provider = Rotating(life=3.0)
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=provider, engine="pyarrow")
        round_trips(store, 6.0)
        store.close()
    used = _check_signed_fresh(relay, provider.issued)
    assert len(used) >= 3
    gets = {r.access_key_id for r in relay.seen if r.method == "GET"}
    assert len(gets) >= 3  # reads (Arrow's own client) moved to new keys too


# spec: CRED-011, S3-082
def test_obstore_engine_signs_with_renewed_keys() -> None:
    pytest.importorskip("obstore")
    assert ENV is not None
    provider = Rotating(life=3.0)
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=provider, engine="obstore")
        round_trips(store, 6.0)
        store.close()
    used = _check_signed_fresh(relay, provider.issued)
    assert len(used) >= 3
    puts = {r.access_key_id for r in relay.seen if r.method == "PUT"}
    assert len(puts) >= 3  # obstore's own requests moved to new keys too


# spec: CRED-004
def test_refresh_margin_option_sets_when_to_refresh() -> None:
    assert ENV is not None
    provider = Rotating(life=60.0)
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=provider, refresh_margin=58.5)
        round_trips(store, 4.0)
        store.close()
    _check_signed_fresh(relay, provider.issued)
    # Fresh for 1.5 s each: 4 s of work needs 3 or 4 issues (a 60 s lifetime alone needs 1).
    assert 3 <= len(provider.issued) <= 5


_PROCESS = """\
import datetime, json, pathlib, sys, uuid
log = pathlib.Path(sys.argv[1])
n = len(log.read_text().splitlines()) if log.exists() else 0
key = "AKIDPROC" + uuid.uuid4().hex[:8].upper()
exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
with log.open("a") as f:
    f.write(json.dumps([key, exp.timestamp()]) + "\\n")
print(json.dumps({"Version": 1, "AccessKeyId": key,
                  "SecretAccessKey": "planted-proc-secret-%d" % n,
                  "SessionToken": "planted-proc-token-%d" % n,
                  "Expiration": exp.isoformat().replace("+00:00", "Z")}))
"""


# spec: CRED-020
def test_credential_process_from_a_config_file(tmp_path: Path) -> None:
    assert ENV is not None
    script = tmp_path / "creds.py"
    script.write_text(_PROCESS)
    log = tmp_path / "issued.log"
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        toml = tmp_path / "storeroom.toml"
        toml.write_text(
            f"""
[backends.b]
type = "s3"
[backends.b.options]
bucket = "{_bucket()}"
endpoint_url = "{relay.url}"
region_name = "{ENV["STOREROOM_TEST_S3_REGION"]}"
credential_process = '"{sys.executable}" "{script}" "{log}"'
[stores.s]
backend = "b"
root_path = "{uuid.uuid4().hex}"
"""
        )
        registry = Registry(RegistryConfig.from_toml(toml))
        store = registry.get_store("s")
        round_trips(store, 5.0)
        registry.close()
    issued = [(0.0, k, e) for k, e in map(json.loads, log.read_text().splitlines())]
    used = _check_signed_fresh(relay, issued)
    assert len(issued) >= 2 and len(used) >= 2


# spec: CRED-021
def test_credential_process_failure_is_typed(tmp_path: Path) -> None:
    assert ENV is not None
    script = tmp_path / "fail.py"
    script.write_text("import sys; sys.stderr.write('no session: run sso login'); sys.exit(3)")
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_process=f'"{sys.executable}" "{script}"')
        with pytest.raises(PermissionDenied, match="credential_process failed") as info:
            store.write("x.txt", b"x")
        store.close()
    assert "no session: run sso login" in str(info.value)  # the command's own words help
    assert not relay.seen  # nothing was sent unsigned or with other credentials


# spec: CRED-030, CRED-031
def test_role_arn_assumes_the_role_through_sts_and_renews() -> None:
    assert ENV is not None
    import boto3

    endpoint = ENV["STOREROOM_TEST_S3_ENDPOINT"]
    session_name = f"storeroom-{uuid.uuid4().hex[:8]}"
    with Relay(endpoint) as relay:
        store = _store(
            relay,
            key=ENV["STOREROOM_TEST_S3_KEY"],
            secret=ENV["STOREROOM_TEST_S3_SECRET"],
            role_arn="arn:aws:iam::123456789012:role/storeroom-reader",
            role_session_name=session_name,
            external_id="ext-42",
            duration_seconds=900,
            sts_endpoint_url=endpoint,
            refresh_margin=898.5,  # 900 s credentials count as fresh for 1.5 s
        )
        round_trips(store, 4.0)
        store.close()
    keys = {r.access_key_id for r in relay.seen}
    assert ENV["STOREROOM_TEST_S3_KEY"] not in keys  # S3 never saw the base key
    assert len(keys) >= 2  # renewed during the run
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    for key in keys:  # moto knows each key as the assumed role's session
        arn = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key="unused",
        ).get_caller_identity()["Arn"]
        assert arn.endswith(f":assumed-role/storeroom-reader/{session_name}")
    assert sts is not None


# spec: CRED-031
def test_unreachable_sts_is_retryable_and_names_the_option() -> None:
    assert ENV is not None
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(
            relay,
            key=ENV["STOREROOM_TEST_S3_KEY"],
            secret=ENV["STOREROOM_TEST_S3_SECRET"],
            role_arn="arn:aws:iam::123456789012:role/storeroom-reader",
            sts_endpoint_url=f"http://127.0.0.1:{closed}",
        )
        with pytest.raises(BackendUnavailable, match="role_arn: could not reach STS") as info:
            store.exists("x")
        store.close()
    assert info.value.retryable
    assert not relay.seen  # S3 was never asked with any other credentials


# spec: CRED-005, CRED-007
def test_secrets_of_refreshed_credentials_stay_hidden(caplog: pytest.LogCaptureFixture) -> None:
    assert ENV is not None
    provider = Rotating(life=2.0)
    fail = threading.Event()

    def flaky() -> Credentials:
        if fail.is_set():
            raise RuntimeError("vault sealed")
        return provider()

    redact = SecretRedactionFilter()
    caplog.handler.addFilter(redact)
    caplog.set_level(logging.DEBUG)
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=flaky)
        round_trips(store, 2.5)
        fail.set()
        time.sleep(2.1)  # the last credentials expired: the next call must refresh and fails
        with pytest.raises(StoreroomError) as info:
            store.read_bytes("t0/f0.txt")
        texts = [*shown(store, info.value), repr(store._given._core.options)]
        store.close()
    err = info.value
    assert isinstance(err, PermissionDenied) and "credential_provider failed" in str(err)
    texts.extend(caplog.handler.format(r) for r in caplog.records)
    planted = [provider.secret(n) for n in range(len(provider.issued))]
    planted += [provider.token(n) for n in range(len(provider.issued))]
    assert len(planted) >= 4
    assert "vault sealed" in str(err)  # the provider's own words
    assert_hidden(planted, texts)
    assert any("Sending http request" in r.getMessage() for r in caplog.records)


# spec: CRED-010
@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"credential_provider": "not callable"}, "credential_provider"),
        ({"credential_process": "x", "key": "k", "secret": "s"}, "key"),
        ({"credential_process": "x", "credential_provider": print}, "credential_process"),
        ({"role_arn": "arn:aws:iam::1:role/r", "anon": True}, "anon"),
        ({"external_id": "e"}, "external_id"),
        ({"role_arn": "arn:aws:iam::1:role/r", "duration_seconds": 60}, "duration_seconds"),
        ({"refresh_margin": 10}, "refresh_margin"),
        ({"role_arn": "r", "sts_endpoint_url": "ftp://x"}, "sts_endpoint_url"),
        ({"credential_process": "x", "client_options": {"session": object()}}, "session"),
    ],
)
def test_options_are_checked(options: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        S3Options(bucket="b", **options)
    assert info.value.message.startswith(key) or key in str(info.value)


# spec: CRED-010
def test_provider_is_code_only_and_process_is_plain_config() -> None:
    with pytest.raises(ConfigError, match="credential_provider: expects a callable"):
        S3Options.parse({"bucket": "b", "credential_provider": "my.module:fn"})
    opts = S3Options.parse({"bucket": "b", "credential_process": "aws-vault exec dev --json"})
    assert opts.credential_process == "aws-vault exec dev --json"


# spec: CRED-005
def test_provider_returning_the_wrong_type_is_a_config_error() -> None:
    assert ENV is not None
    with Relay(ENV["STOREROOM_TEST_S3_ENDPOINT"]) as relay:
        store = _store(relay, credential_provider=lambda: {"AccessKeyId": "x"})
        with pytest.raises(ConfigError, match=r"expected storeroom\.credentials\.Credentials"):
            store.exists("x")
        store.close()


# spec: CRED-001
def test_credentials_wrap_secrets_and_read_naive_times_as_utc() -> None:
    from storeroom import Secret, Token

    creds = Credentials(
        "AKIDX",
        "planted-dataclass-secret",
        "planted-dataclass-token",
        expires_at=dt.datetime(2030, 1, 1, 12),
    )
    assert isinstance(creds.secret_access_key, Secret)
    assert isinstance(creds.session_token, Secret)
    assert creds.expires_at == dt.datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert "planted-dataclass" not in repr(creds)
    token = Token("planted-dataclass-bearer")
    assert "planted-dataclass" not in repr(token) and token.expires_at is None
    with pytest.raises(ConfigError, match="secret_access_key"):
        Credentials("AKIDX", "")
    with pytest.raises(ConfigError, match="expires_at"):
        Credentials("AKIDX", "s3cret", expires_at="2030-01-01")  # type: ignore[arg-type]


# spec: CRED-002
def test_source_survives_a_fork_with_its_lock_held() -> None:
    import os
    import signal

    from storeroom.credentials import CredentialSource

    provider = Rotating(life=3600.0)
    source = CredentialSource(provider, Credentials, margin=None, what="credential_provider")
    source.current()
    source._lock.acquire()  # another thread is mid-refresh when the process forks
    try:
        pid = os.fork()
        if pid == 0:  # the child: must not wait forever on the copied lock
            signal.alarm(10)  # a hang ends the child with SIGALRM, failing the test
            os._exit(0 if source.current().access_key_id else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        source._lock.release()
    assert os.waitstatus_to_exitcode(status) == 0
