"""Planted secrets appear nowhere: config, registry, store, backend, errors, logs.

Each shape plants its own distinctive value; every view of the configuration
and every error of a failed operation (formatted with its whole
``__cause__``/``__context__`` chain) is searched for it. Failures come from
real servers with wrong credentials and from closed ports on 127.0.0.1.
"""

from __future__ import annotations

import copy
import logging
import os
import pickle
import re
import socket
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest

import storeroom
from services_support import services_disabled
from storeroom import Registry, RegistryConfig, Secret, SecretRedactionFilter
from storeroom._mask import mask_text, mask_url, scrub_exception
from storeroom.errors import ConfigError, StoreroomError

# -- helpers ------------------------------------------------------------------------------


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        if services_disabled():
            pytest.skip("STOREROOM_TEST_NO_SERVICES is set")
        pytest.fail(f'{name} is not set: eval "$(scripts/services up)"')
    return value


def error_text(exc: BaseException) -> str:
    """Everything an error shows: traceback of the whole chain, and str/repr of each link."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        parts += [str(e), repr(e), repr(e.args)]
        stack += [e.__cause__, e.__context__]
    return "\n".join(parts)


def assert_absent(text: str, *secrets: str) -> None:
    """No planted value, nor any piece of it between URL delimiters, appears in ``text``."""
    for secret in secrets:
        for piece in {secret, *re.split(r"[/#?]", secret)}:
            assert piece not in text, f"planted secret {piece!r} found in:\n{text}"


def views(registry: Registry, store_name: str) -> str:
    """Every non-error view of the config, registry, store and backend."""
    config = registry.config
    store = registry.get_store(store_name)
    backend = registry.get_backend(config.stores[store_name].backend)
    plan = store.resolve("some/file.bin")
    return "\n".join(
        [
            repr(config),
            str(config),
            repr(config.to_dict()),
            str(config.to_dict()),
            repr(config.backends),
            repr(registry),
            repr(store),
            str(store),
            repr(backend),
            str(backend.describe()),
            repr(plan),
            str(plan),
            plan.native_path,
            store.native_path("a.txt"),
        ]
    )


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)


def check_failed_operation(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture, *secrets: str
) -> StoreroomError:
    """Build config → registry → store, read a file that cannot be read, search everything."""
    caplog.set_level(logging.DEBUG, logger="storeroom")
    cfg = RegistryConfig.from_dict(config)
    with Registry(cfg) as registry:
        assert_absent(views(registry, "s"), *secrets)
        with pytest.raises(StoreroomError) as info:
            registry.get_store("s").read_bytes("planted/missing.bin")
        assert_absent(error_text(info.value), *secrets)
    assert caplog.records, "the observe layer logs every operation at DEBUG"
    assert_absent(logged(caplog), *secrets)
    return info.value


def one(backend: dict[str, Any]) -> dict[str, Any]:
    """A config with one backend (behind an observe layer) and one store ``s``."""
    return {
        "backends": {"b": {**backend, "layers": ["observe"]}},
        "stores": {"s": {"backend": "b", "root_path": "root"}},
    }


# -- the masking routine ------------------------------------------------------------------


def test_sql_urls_are_masked_as_sqlalchemy_parses_them() -> None:
    # spec: CONFIG-033
    assert (
        mask_url("postgresql+psycopg://u:Pl4nt/ed#S3cr?etM1@127.0.0.1:1/db")
        == "postgresql+psycopg://u:***@127.0.0.1:1/db"
    )
    assert (
        mask_url("postgresql+psycopg://u@h:5/db?sslmode=require&password=PLANTEDm2")
        == "postgresql+psycopg://u@h:5/db?password=***&sslmode=require"  # SQLAlchemy's order
    )
    # Unparseable by SQLAlchemy: only the scheme is shown.
    assert mask_url("postgresql+psycopg://u:PLANTEDm3@h:notaport/db") == "postgresql+psycopg://***"
    assert mask_url("postgresql//u:PLANTEDm4@h/db", sql=True) == "***"
    assert mask_url("sqlite:///data/blobs.db") == "sqlite:///data/blobs.db"


def test_sql_mask_without_sqlalchemy_hides_userinfo_and_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # spec: CONFIG-033
    monkeypatch.setitem(sys.modules, "sqlalchemy.engine", None)  # import fails: no sql extra
    shown = mask_url("postgresql+psycopg://u:Pl4nt/ed#S3cr?etM5@127.0.0.1:1/db?password=PLANTEDm6")
    assert shown == "postgresql+psycopg://***@127.0.0.1:1/db?***"


def test_generic_urls_mask_userinfo_and_credential_parameters() -> None:
    # spec: CONFIG-033
    sas = "https://acct.blob.core.windows.net/c?sv=2021-08-06&sp=r&sig=PLANTEDg1%2B%3D"
    assert mask_url(sas) == "https://acct.blob.core.windows.net/c?sv=2021-08-06&sp=r&sig=***"
    assert mask_url("http://user:PLANTEDg2@host:9000/x") == "http://user:***@host:9000/x"
    assert mask_url("https://PLANTEDg3@host/x") == "https://***@host/x"
    signed = "https://b.s3.amazonaws.com/k?X-Amz-Credential=PLANTEDg4&X-Amz-Signature=PLANTEDg5"
    assert (
        mask_url(signed) == "https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***"
    )
    assert (
        mask_url("https://h/cb#access_token=PLANTEDg6&x=1") == "https://h/cb#access_token=***&x=1"
    )
    text = 'failed: GET "http://u:PLANTEDg7@h:1/a?token=PLANTEDg8" (refused)'
    assert mask_text(text) == 'failed: GET "http://u:***@h:1/a?token=***" (refused)'


def test_scrub_exception_masks_the_whole_chain_in_place() -> None:
    # spec: CONFIG-037
    Secret("PLANTEDchain1")
    # Built apart from the raise lines: a traceback quotes the source line it points at.
    native = OSError(111, "refused by PLANTEDchain1", "http://u:PLANTEDchain2@h/x")
    outer_text = "bad url http://u:PLANTEDchain3@h"
    try:
        try:
            raise native
        except OSError as inner:
            raise ValueError(outer_text) from inner
    except ValueError as outer:
        caught = outer
    assert scrub_exception(caught) is caught
    assert isinstance(caught.__cause__, OSError)  # the native error stays, type and all
    assert_absent(error_text(caught), "PLANTEDchain1", "PLANTEDchain2", "PLANTEDchain3")


# -- SQL --------------------------------------------------------------------------------


def test_sql_password_with_url_delimiters_on_a_closed_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: SQL-002, CONFIG-033, CONFIG-037
    secret = "PLANTEDsa1/PLANTEDsb1#PLANTEDsc1?PLANTEDsd1"
    url = f"postgresql+psycopg://u:{secret}@127.0.0.1:{closed_port()}/db"
    err = check_failed_operation(
        one({"type": "sql-blob", "options": {"url": url, "connect_timeout": 2}}), caplog, secret
    )
    assert err.retryable and "u:***@127.0.0.1" in str(err)


def test_sql_wrong_password_and_query_password_on_the_real_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: SQL-002, CONFIG-033, CONFIG-037
    real = env("STOREROOM_TEST_SQL_URL")
    scheme, _, rest = real.partition("://")
    user, host = rest.split("@", 1)[0].split(":", 1)[0], rest.split("@", 1)[1]
    in_userinfo = "PLANTEDsa2/PLANTEDsb2#PLANTEDsc2?PLANTEDsd2"
    in_query = "PLANTEDsqlq3"
    for url, secret in (
        (f"{scheme}://{user}:{in_userinfo}@{host}", in_userinfo),
        (f"{scheme}://{user}@{host}?password={in_query}", in_query),
    ):
        caplog.clear()
        err = check_failed_operation(
            one({"type": "sql-blob", "options": {"url": url, "connect_timeout": 5}}),
            caplog,
            secret,
        )
        assert type(err).__name__ == "PermissionDenied"


def test_malformed_sql_urls_are_never_echoed(caplog: pytest.LogCaptureFixture) -> None:
    # spec: SQL-002, CONFIG-033
    for url, secret in (
        ("postgresql+psycopg://u:PLANTEDsqlm4@h:notaport/db", "PLANTEDsqlm4"),
        ("sqlite://u:PLANTEDsqlm5@/blobs.db", "PLANTEDsqlm5"),
    ):
        cfg = RegistryConfig.from_dict(one({"type": "sql-blob", "options": {"url": url}}))
        registry = Registry(cfg)
        assert_absent(repr(cfg) + repr(cfg.to_dict()) + repr(registry), secret)
        with pytest.raises(ConfigError) as info:
            registry.get_store("s")
        assert_absent(error_text(info.value), secret)
    with pytest.raises(ConfigError) as no_scheme:
        RegistryConfig.from_dict(
            one({"type": "sql-blob", "options": {"url": "postgresql//u:PLANTEDsqlm6@h/db"}})
        ).validate()
    assert_absent(error_text(no_scheme.value), "PLANTEDsqlm6")


# -- HTTP -------------------------------------------------------------------------------

HEADERS = {
    "Authorization": "Bearer PLANTEDhttpauth1",
    "Cookie": "session=PLANTEDhttpcookie2; theme=dark",
    "X-Api-Key": "PLANTEDhttpkey3",
    "X-Custom-Auth": "PLANTEDhttpcustom4",
    "Accept-Language": "en",  # not a credential: shown as it is
}
HEADER_SECRETS = ("PLANTEDhttpauth1", "PLANTEDhttpcookie2", "PLANTEDhttpkey3", "PLANTEDhttpcustom4")


def http_backend(base_url: str) -> dict[str, Any]:
    return {
        "type": "http",
        "options": {
            "base_url": base_url,
            "headers": dict(HEADERS),
            "secret_headers": ["X-Custom-Auth"],
            "timeout": 2,
        },
    }


def test_http_headers_are_masked_in_config_views() -> None:
    # spec: CONFIG-036, HTTP-030
    cfg = RegistryConfig.from_dict(one(http_backend("http://127.0.0.1:1")))
    headers = cfg.to_dict()["backends"]["b"]["options"]["headers"]
    assert all(isinstance(headers[n], Secret) for n in HEADERS if n != "Accept-Language")
    assert headers["Accept-Language"] == "en"
    assert RegistryConfig.from_dict(cfg.to_dict()) == cfg
    assert_absent(repr(cfg) + str(cfg) + repr(cfg.to_dict()), *HEADER_SECRETS)


def test_http_headers_on_the_real_server_and_a_closed_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: HTTP-030, CONFIG-036, CONFIG-037
    for base in (env("STOREROOM_TEST_HTTP_URL"), f"http://127.0.0.1:{closed_port()}"):
        caplog.clear()
        check_failed_operation(one(http_backend(base)), caplog, *HEADER_SECRETS)


def test_http_credential_header_tokens_are_scrubbed_on_their_own() -> None:
    # spec: HTTP-030, CONFIG-032
    from storeroom.backends.http.config import HTTPOptions
    from storeroom.config.secret import scrub

    HTTPOptions.parse(
        {
            "base_url": "http://127.0.0.1:1",
            "headers": {"Authorization": "Bearer PLANTEDtok1", "X-Sess": "a=PLANTEDtok2; b=1"},
            "secret_headers": ["x-sess"],
        }
    )
    assert scrub("sent PLANTEDtok1 and PLANTEDtok2") == "sent *** and ***"
    with pytest.raises(ConfigError, match="secret_headers: expected a list of header names"):
        HTTPOptions.parse({"base_url": "http://127.0.0.1:1", "secret_headers": [1]})


def test_http_base_url_with_userinfo_is_refused_without_echo() -> None:
    # spec: HTTP-001, CONFIG-035
    cfg = RegistryConfig.from_dict(
        one({"type": "http", "options": {"base_url": "http://u:PLANTEDhttpui5@127.0.0.1:1"}})
    )
    assert_absent(repr(cfg) + repr(cfg.to_dict()), "PLANTEDhttpui5")
    with pytest.raises(ConfigError, match="must not contain a user name or password") as info:
        Registry(cfg)
    assert_absent(error_text(info.value), "PLANTEDhttpui5")


# -- Azure ------------------------------------------------------------------------------


def test_azure_sas_in_account_url_against_azurite(caplog: pytest.LogCaptureFixture) -> None:
    # spec: AZURE-002, CONFIG-035, CONFIG-037
    fields = dict(
        p.split("=", 1) for p in env("STOREROOM_TEST_AZURE_CONNECTION_STRING").split(";") if p
    )
    sas = "sv=2021-08-06&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=PLANTEDazsig1"
    url = f"{fields['BlobEndpoint']}?{sas}"
    backend = {"type": "azure", "options": {"container": "planted", "account_url": url}}
    backend["options"].update(hns=False, connect_timeout=5)
    err = check_failed_operation(one(backend), caplog, "PLANTEDazsig1")
    assert type(err).__name__ == "PermissionDenied"


def test_azure_userinfo_in_account_url_on_a_closed_port(caplog: pytest.LogCaptureFixture) -> None:
    # spec: AZURE-002, CONFIG-035, CONFIG-037
    url = f"http://acct:PLANTEDazui2@127.0.0.1:{closed_port()}/acct?sig=PLANTEDazsig3"
    backend = {"type": "azure", "options": {"container": "planted", "account_url": url}}
    backend["options"].update(hns=False, connect_timeout=2)
    err = check_failed_operation(one(backend), caplog, "PLANTEDazui2", "PLANTEDazsig3")
    assert err.retryable


def test_option_classes_mask_urls_in_repr_and_to_dict() -> None:
    # spec: CONFIG-034, CONFIG-035
    from storeroom.backends.azure.config import AzureOptions
    from storeroom.backends.s3.config import S3Options

    s3 = S3Options.parse({"bucket": "b", "endpoint_url": "http://u:PLANTEDopt1@127.0.0.1:9"})
    azure = AzureOptions.parse(
        {"container": "c", "account_url": "https://a.blob.core.windows.net/?sv=1&sig=PLANTEDopt2"}
    )
    for opts, secret in ((s3, "PLANTEDopt1"), (azure, "PLANTEDopt2")):
        assert_absent(repr(opts) + str(opts) + repr(opts.to_dict()), secret)
        assert type(opts).parse(opts.to_dict()) == opts
    assert "endpoint_url='http://u:***@127.0.0.1:9'" in repr(s3)
    assert isinstance(s3.to_dict()["endpoint_url"], Secret)


# -- S3 ---------------------------------------------------------------------------------


def test_s3_endpoint_userinfo_against_moto_and_a_closed_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: CONFIG-035, CONFIG-037
    moto = env("STOREROOM_TEST_S3_ENDPOINT")
    for endpoint, secret in (
        (moto.replace("://", "://user:PLANTEDs3ui1@", 1), "PLANTEDs3ui1"),
        (f"http://user:PLANTEDs3ui2@127.0.0.1:{closed_port()}", "PLANTEDs3ui2"),
    ):
        caplog.clear()
        options = {"bucket": "planted", "endpoint_url": endpoint, "region_name": "us-east-1"}
        options.update(key="storeroom-test-key", secret="PLANTEDs3secret3", connect_timeout=2)
        check_failed_operation(
            one({"type": "s3", "options": options}), caplog, secret, "PLANTEDs3secret3"
        )


def test_redaction_filter_scrubs_sdk_debug_logs_of_a_planted_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # spec: CONFIG-032, CONFIG-035
    caplog.handler.addFilter(SecretRedactionFilter())
    caplog.set_level(logging.DEBUG)  # every logger, botocore's included
    endpoint = f"http://user:PLANTEDs3log1@127.0.0.1:{closed_port()}"
    options = {"bucket": "planted", "endpoint_url": endpoint, "region_name": "us-east-1"}
    options.update(key="storeroom-test-key", secret="storeroom-test-secret", connect_timeout=2)
    registry = Registry(RegistryConfig.from_dict(one({"type": "s3", "options": options})))
    with registry, pytest.raises(StoreroomError):
        registry.get_store("s").read_bytes("x")
    assert any(r.name.startswith(("botocore", "aiobotocore")) for r in caplog.records)
    assert_absent(logged(caplog), "PLANTEDs3log1")


# -- Secret itself, logging --------------------------------------------------------------


def test_secret_cannot_be_mutated_or_emptied() -> None:
    # spec: CONFIG-031
    secret = Secret("PLANTEDimm1")
    attempts = [
        lambda: setattr(secret, "_value", "other"),
        lambda: object.__setattr__(secret, "_value", "other"),
        lambda: delattr(secret, "_value"),
        lambda: object.__delattr__(secret, "_value"),
        lambda: secret.__init__("other"),  # type: ignore[misc]
        lambda: setattr(secret, "__class__", str),
    ]
    for attempt in attempts:
        with pytest.raises(AttributeError):
            attempt()
    with pytest.raises(TypeError):
        vars(secret)
    with pytest.raises(TypeError):
        type("Leaky", (Secret,), {})
    assert secret.reveal() == "PLANTEDimm1"
    for clone in (copy.copy(secret), copy.deepcopy(secret), pickle.loads(pickle.dumps(secret))):
        assert isinstance(clone, Secret) and clone.reveal() == "PLANTEDimm1"
        assert repr(clone) == "Secret('***')"


def test_package_root_installs_a_null_handler(tmp_path: Path) -> None:
    # spec: CONFIG-038
    code = (
        "import logging, storeroom\n"
        "handlers = logging.getLogger('storeroom').handlers\n"
        "assert any(isinstance(h, logging.NullHandler) for h in handlers), handlers\n"
        "logging.getLogger('storeroom.anything').warning('must not reach stderr')\n"
    )
    src = str(Path(storeroom.__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": src},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
