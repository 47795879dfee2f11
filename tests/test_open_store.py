"""``storeroom.open_store(url)``: a Store from one URL, against the real test servers."""

from __future__ import annotations

import datetime
import os
import pickle
import socket
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import storeroom_service_target_azure as azure_target
import storeroom_service_target_http as http_target
import storeroom_service_target_s3 as s3_target

from storeroom import open_store, register_layer
from storeroom.backend import Forwarding
from storeroom.backends import (
    AzureBackend,
    HTTPBackend,
    LocalBackend,
    MemoryBackend,
    S3Backend,
    SFTPBackend,
    SQLBlobBackend,
)
from storeroom.errors import (
    CapabilityNotSupported,
    ConfigError,
    StoreroomError,
)
from storeroom.layers.context import ContextLayer
from storeroom.layers.retry import RetryLayer
from storeroom.urls import QueryValue

ENV = os.environ


def _rand() -> str:
    return f"ou-{uuid.uuid4().hex[:10]}"


def _round_trip(store: Any) -> None:
    store.write("a/b.txt", b"hello")
    assert store.read_bytes("a/b.txt") == b"hello"
    assert [str(f.path) for f in store.list_files("", recursive=True)] == ["a/b.txt"]


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _s3_query() -> str:
    return (
        f"endpoint_url={ENV['STOREROOM_TEST_S3_ENDPOINT']}"
        f"&region_name={ENV['STOREROOM_TEST_S3_REGION']}"
    )


def _sftp_netloc() -> str:
    return (
        f"{ENV['STOREROOM_TEST_SFTP_USER']}@{ENV['STOREROOM_TEST_SFTP_HOST']}"
        f":{ENV['STOREROOM_TEST_SFTP_PORT']}"
    )


def _sftp_keys() -> dict[str, str]:
    return {
        "key_filename": ENV["STOREROOM_TEST_SFTP_KEY"],
        "known_hosts": ENV["STOREROOM_TEST_SFTP_KNOWN_HOSTS"],
    }


# -- one scheme at a time, on the real servers ---------------------------------------


def test_file_url_and_plain_path(tmp_path: Path) -> None:
    # spec: URL-001, URL-002, URL-009, URL-020
    with open_store(f"file://{tmp_path}/data") as store:
        _round_trip(store)
        assert store.unwrap(LocalBackend).options.root == f"{tmp_path}/data"
        assert store.root_path == ""
    assert (tmp_path / "data" / "a" / "b.txt").read_bytes() == b"hello"
    with open_store(str(tmp_path / "data")) as again:
        assert again.read_bytes("a/b.txt") == b"hello"
    with open_store(tmp_path / "data", root_path="a") as below:  # a PathLike too
        assert below.read_bytes("b.txt") == b"hello"


def test_memory_url_path_is_the_root_and_each_open_is_private() -> None:
    # spec: URL-003
    with open_store("memory://") as first, open_store("memory://") as second:
        _round_trip(first)
        assert not second.exists("a/b.txt")
    with open_store("memory://bucket/deep/er") as store:
        assert store.root_path == "bucket/deep/er"
        assert isinstance(store.unwrap(MemoryBackend), MemoryBackend)
        _round_trip(store)


def test_s3_url_with_query_options_and_keyword_credentials() -> None:
    # spec: URL-004, URL-010, URL-011
    bucket = s3_target.ensure_bucket(dict(ENV))
    prefix = _rand()
    url = f"s3://{bucket}/{prefix}/x?{_s3_query()}&connect_timeout=5&max_pool_connections=3"
    with open_store(
        url, key=ENV["STOREROOM_TEST_S3_KEY"], secret=ENV["STOREROOM_TEST_S3_SECRET"]
    ) as store:
        _round_trip(store)
        assert store.root_path == f"{prefix}/x"
        opts = store.unwrap(S3Backend).options
        assert opts.connect_timeout == 5.0 and isinstance(opts.connect_timeout, float)
        assert opts.max_pool_connections == 3
        assert store.native_path("a/b.txt") == f"s3://{bucket}/{prefix}/x/a/b.txt"
    # the same object through credentials in the URL's user information
    key, secret = ENV["STOREROOM_TEST_S3_KEY"], ENV["STOREROOM_TEST_S3_SECRET"]
    with open_store(f"s3://{key}:{secret}@{bucket}/{prefix}?{_s3_query()}") as store:
        assert store.read_bytes("x/a/b.txt") == b"hello"
        assert secret not in repr(store) and secret not in str(store.resolve())
        store.delete_folder("x", recursive=True)


def test_sftp_url_absolute_and_home_relative_paths() -> None:
    # spec: URL-005
    base = ENV["STOREROOM_TEST_SFTP_BASE_PATH"]
    folder = _rand()
    url = f"sftp://{_sftp_netloc()}{base}/{folder}?timeout=5&pool_size=2"
    with open_store(url, **_sftp_keys()) as store:
        _round_trip(store)
        opts = store.unwrap(SFTPBackend).options
        assert opts.base_path == f"{base}/{folder}" and opts.port == int(
            ENV["STOREROOM_TEST_SFTP_PORT"]
        )
        assert opts.timeout == 5.0 and opts.pool_size == 2
    home = "/home/" + ENV["STOREROOM_TEST_SFTP_USER"]
    assert base.startswith(home + "/")
    relative = base[len(home) + 1 :]
    with open_store(f"sftp://{_sftp_netloc()}/~/{relative}", **_sftp_keys()) as store:
        assert store.read_bytes(f"{folder}/a/b.txt") == b"hello"
        store.delete_folder(folder, recursive=True)


@pytest.mark.parametrize("scheme", ["az", "abfs"])
def test_azure_url_with_keyword_connection_string(scheme: str) -> None:
    # spec: URL-006
    cs = ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]
    prefix = _rand()
    url = f"{scheme}://{azure_target.CONTAINER}/{prefix}?create_container=true"
    with open_store(url, connection_string=cs) as store:
        _round_trip(store)
        assert store.root_path == prefix
        assert store.unwrap(AzureBackend).options.create_container is True
        store.mapper().clear()


def _container_sas(container: str) -> tuple[str, str]:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    cs = ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"]
    fields = dict(p.split("=", 1) for p in cs.split(";") if "=" in p)
    perms = ContainerSasPermissions(read=True, write=True, delete=True, list=True, create=True)
    expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    sas = generate_container_sas(
        fields["AccountName"],
        container,
        account_key=fields["AccountKey"],
        permission=perms,
        expiry=expiry,
    )
    return sas, fields["BlobEndpoint"]


def test_azure_url_with_a_sas_in_the_query_is_masked() -> None:
    # spec: URL-006, URL-030
    prefix = _rand()
    with open_store(
        f"az://{azure_target.CONTAINER}/{prefix}",
        connection_string=ENV["STOREROOM_TEST_AZURE_CONNECTION_STRING"],
        create_container=True,
    ) as setup:
        setup.write("seed", b"s")
    sas, endpoint = _container_sas(azure_target.CONTAINER)
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    with open_store(f"az://{azure_target.CONTAINER}/{prefix}?{sas}", account_url=endpoint) as st:
        assert st.read_bytes("seed") == b"s"
        _round_trip(st.child("sub"))
        shown = [repr(st), str(st.backend), str(st.resolve()), str(st.backend.describe())]
        assert not any(signature in text for text in shown)
        st.mapper().clear()


def test_url_text_is_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # spec: URL-010
    monkeypatch.setenv("OPEN_STORE_X", "substituted")
    with open_store(f"file://{tmp_path}/${{OPEN_STORE_X}}") as store:
        store.write("f", b"1")
    assert (tmp_path / "${OPEN_STORE_X}" / "f").exists()
    assert not (tmp_path / "substituted").exists()


def test_abfs_container_at_account_form_needs_no_io() -> None:
    # spec: URL-006
    url = "abfs://box@myacct.dfs.core.windows.net/deep/p?hns=false&connect_timeout=2"
    with open_store(url, account_key="a2V5a2V5a2V5") as store:
        opts = store.unwrap(AzureBackend).options
        assert (opts.container, opts.account_name, opts.hns) == ("box", "myacct", False)
        assert opts.connect_timeout == 2.0 and store.root_path == "deep/p"


def test_sql_driver_parameters_stay_in_the_url(tmp_path: Path) -> None:
    # spec: URL-007
    with open_store(f"sqlite:///{tmp_path}/d.db?timeout=7&chunk_size=8192") as store:
        _round_trip(store)
        opts = store.unwrap(SQLBlobBackend).options
        assert opts.url.reveal() == f"sqlite:///{tmp_path}/d.db?timeout=7"
        assert opts.chunk_size == 8192


def test_sqlite_url_with_options_in_the_query(tmp_path: Path) -> None:
    # spec: URL-007, URL-009, URL-011
    url = f"sqlite:///{tmp_path}/blobs.db?chunk_size=4096&table_name=files"
    with open_store(url, root_path="r") as store:
        _round_trip(store)
        opts = store.unwrap(SQLBlobBackend).options
        assert opts.chunk_size == 4096 and opts.table_name == "files"
        assert opts.url.reveal() == f"sqlite:///{tmp_path}/blobs.db"
        assert store.root_path == "r"
    assert (tmp_path / "blobs.db").stat().st_size > 0


@pytest.mark.parametrize("driver", ["postgresql+psycopg", "postgresql"])
def test_postgres_url_password_masked(driver: str) -> None:
    # spec: URL-007, URL-030
    url = ENV["STOREROOM_TEST_SQL_URL"]
    rest = url.split("://", 1)[1]
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    with open_store(f"{driver}://{rest}", root_path=_rand()) as store:
        _round_trip(store)
        for text in (repr(store), str(store.backend), str(store.resolve())):
            assert password not in text and "***" in text
        store.mapper().clear()


def test_http_url_reads_through_the_read_only_backend() -> None:
    # spec: URL-008
    prefix = _rand()
    seeder = http_target.ServerSeeder(http_target.URL)
    seeder.put(f"{prefix}/a/b.txt", b"served")
    try:
        headers = {"Authorization": f"Bearer {http_target.TOKEN}"}
        with open_store(f"{http_target.URL}/auth/{prefix}?timeout=5", headers=headers) as store:
            assert store.read_bytes("a/b.txt") == b"served"
            assert store.root_path == f"auth/{prefix}"
            assert store.unwrap(HTTPBackend).options.timeout == 5.0
            with pytest.raises(CapabilityNotSupported):
                store.write("new.txt", b"x")
            assert http_target.TOKEN not in repr(store) + str(store.resolve())
    finally:
        seeder.remove(prefix)


# -- options, layers, errors -------------------------------------------------------------


def test_query_values_convert_like_env_values(tmp_path: Path) -> None:
    # spec: URL-011
    with open_store(f"file://{tmp_path}?durable=no&create_root=on") as store:
        opts = store.unwrap(LocalBackend).options
        assert opts.durable is False and opts.create_root is True
    with pytest.raises(ConfigError) as info:
        open_store(f"file://{tmp_path}?durable=perhaps")
    assert "URL query parameter 'durable'" in str(info.value)
    assert "'perhaps'" in str(info.value) and info.value.key == "durable"
    value = QueryValue("3", "n")
    assert pickle.loads(pickle.dumps(value)).origin() == "URL query parameter 'n'"


@pytest.mark.parametrize("query", ["retry=3", "headers=x", "client_options=a"])
def test_table_options_are_keywords_only(query: str) -> None:
    # spec: URL-011
    url = f"https://h/p?{query}" if query != "client_options=a" else f"s3://b/p?{query}"
    name = query.split("=")[0]
    with pytest.raises(ConfigError, match=f"{name}: takes a table or a list") as info:
        open_store(url)
    assert info.value.key == name and f"pass {name}=" in str(info.value)


def test_unknown_option_names_it(tmp_path: Path) -> None:
    # spec: URL-012
    with pytest.raises(ConfigError) as info:
        open_store(f"file://{tmp_path}?durabel=false")
    assert info.value.key == "durabel" and "did you mean 'durable'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        open_store("memory://", colour="blue")
    assert info.value.key == "colour" and "memory" in str(info.value)


def test_an_option_given_twice_is_refused(tmp_path: Path) -> None:
    # spec: URL-013
    with pytest.raises(ConfigError, match="durable: given twice"):
        open_store(f"file://{tmp_path}?durable=false", durable=True)
    with pytest.raises(ConfigError, match="bucket: given twice"):
        open_store("s3://b/p", bucket="other")
    with pytest.raises(ConfigError, match="given twice"):
        open_store(f"file://{tmp_path}?durable=1&durable=0")


def test_unknown_scheme_lists_the_known_ones() -> None:
    # spec: URL-014
    with pytest.raises(ConfigError) as info:
        open_store("gopher://host/x")
    text = str(info.value)
    for scheme in ("file://", "memory://", "s3://", "sftp://", "az://", "sqlite://", "https://"):
        assert scheme in text
    with pytest.raises(ConfigError, match="unknown URL scheme 's3\\+x'"):
        open_store("s3+x://b/p")  # only SQL schemes take a +driver


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file://server/share", "not on host"),
        ("s3:///prefix", "needs a bucket"),
        ("sftp:///path", "needs a host"),
        ("sftp://h:99999/p", "port"),
        ("az:///path", "needs a container"),
        ("memory://a#frag", "fragment"),
        ("s3:bucket/p", "s3://"),
        ("memory://a/../../up", "root_path"),
        ("s3://b/p?anon", "has no value"),
        ("az://user:pw@box/p", "no user:password"),
        ("", "expected a URL"),
    ],
)
def test_malformed_urls_are_config_errors(url: str, words: str) -> None:
    # spec: URL-015
    with pytest.raises(ConfigError, match=words):
        open_store(url)


def test_retry_and_store_layers_as_in_a_config() -> None:
    # spec: URL-016, URL-017
    with open_store("memory://", retry={"attempts": 7}) as store:
        assert store.unwrap(RetryLayer).options.attempts == 7
        assert isinstance(store.unwrap(ContextLayer), ContextLayer)
    with open_store("memory://x", layers=[{"type": "readonly"}]) as store:
        with pytest.raises(CapabilityNotSupported) as info:
            store.write("f", b"x")
        assert info.value.path == "f"
    with pytest.raises(ConfigError) as info2:
        open_store("memory://", layers=[{"type": "nosuch"}])
    assert "unknown layer type 'nosuch'" in str(info2.value)
    assert "backends." not in str(info2.value) and "stores." not in str(info2.value)


class _CloseSpy(Forwarding):
    """A store layer that records that close reached the stack."""

    closed: list[str] = []

    def close(self) -> None:
        _CloseSpy.closed.append("closed")
        super().close()


@pytest.fixture
def close_spy() -> Iterator[list[str]]:
    register_layer("open-store-close-spy", _CloseSpy, replace=True)
    _CloseSpy.closed.clear()
    yield _CloseSpy.closed


def test_the_store_owns_its_backend(close_spy: list[str], tmp_path: Path) -> None:
    # spec: URL-018
    store = open_store("memory://", layers=["open-store-close-spy"])
    assert close_spy == []
    store.close()
    assert close_spy == ["closed"]
    store.child("sub").close()  # a child shares the backend and does not close it
    assert close_spy == ["closed"]
    with open_store(f"sqlite:///{tmp_path}/o.db", layers=["open-store-close-spy"]) as st:
        st.write("x", b"1")
    assert close_spy == ["closed", "closed"]


def test_name_keyword_names_the_store() -> None:
    # spec: URL-019
    with open_store("memory://", name="scratch") as store, open_store("memory://") as anon:
        assert store.name == "scratch" and anon.name is None
        with pytest.raises(StoreroomError) as info:
            store.read_bytes("missing")
        assert info.value.store == "scratch"


def test_import_storeroom_does_not_load_the_url_module() -> None:
    # spec: URL-021
    code = (
        "import sys, storeroom; before = 'storeroom.urls' in sys.modules; "
        "from storeroom import open_store; print(before, 'storeroom.urls' in sys.modules, "
        "open_store.__module__, 'open_store' in storeroom.__all__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "storeroom.urls", "True"]
    import storeroom

    with pytest.raises(AttributeError):
        storeroom.no_such_name  # noqa: B018


# -- credentials planted in every URL shape ---------------------------------------------


def _planted() -> str:
    return f"PLANTED{uuid.uuid4().hex[:12]}"


def _shapes(dead: int) -> list[tuple[str, str, dict[str, Any]]]:
    """``(url, secret, keywords)`` for each place a URL can carry a credential."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    local = f"http://127.0.0.1:{dead}"
    s = _planted()
    out.append((f"s3://AKIAPLANT:{s}@bkt/p?endpoint_url={local}&connect_timeout=1", s, {}))
    s = _planted()
    url = f"s3://bkt/p?endpoint_url={local}&key=AKIAPLANT&secret={s}&connect_timeout=1"
    out.append((url, s, {}))
    s = _planted()
    url = f"s3://bkt/p?endpoint_url=http://u:{s}@127.0.0.1:{dead}&connect_timeout=1"
    out.append((url, s, {"key": "AKIAPLANT", "secret": "not-this-one"}))
    s = _planted()
    out.append((f"sftp://user:{s}@127.0.0.1:{dead}/srv/data?timeout=1", s, {}))
    s = _planted()
    out.append((f"az://box/p?sv=2024-05-04&sr=c&sp=r&sig={s}", s, {"account_url": local}))
    s = _planted()
    out.append((f"postgresql+psycopg://user:{s}@127.0.0.1:{dead}/db?connect_timeout=1", s, {}))
    return out


def _everything_shown(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


@pytest.mark.parametrize("index", range(6))
def test_planted_secret_never_shown(index: int) -> None:
    # spec: URL-030
    url, secret, keywords = _shapes(_dead_port())[index]
    with pytest.raises(StoreroomError) as info:
        store = open_store(url, **keywords)  # azure asks the account its kind when built
        try:
            shown = [repr(store), str(store.backend), str(store.resolve("a"))]
            shown += [str(store.backend.describe()), store.native_path("a")]
            assert not any(secret in text for text in shown), shown
            store.read_bytes("a")
        finally:
            store.close()
    assert not isinstance(info.value, ConfigError)
    assert info.value.retryable  # the connection failed: not a configuration problem
    text = _everything_shown(info.value)
    assert secret not in text
    assert "Traceback" in text


@pytest.mark.parametrize(
    "template",
    [
        "https://user:{s}@127.0.0.1/p",  # the http backend refuses user information
        "https://127.0.0.1/p?secret={s}",  # not an http option
        "s3://bkt/p?secret={s}",  # a secret without its key
        "sftp://u:{s}@h/p?port=notanumber",  # a failure at option parsing
        "gopher://u:{s}@h/p",  # an unknown scheme
        "postgresql://u:{s}@h/db?pool_size=0",  # an invalid option value
    ],
)
def test_planted_secret_not_in_config_errors(template: str) -> None:
    # spec: URL-030
    secret = _planted()
    with pytest.raises(ConfigError) as info:
        open_store(template.format(s=secret))
    assert secret not in _everything_shown(info.value)
