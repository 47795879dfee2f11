"""One construction path: ``Backend.from_options`` over each backend's ``_setup``.

For every built-in backend the keyword ``__init__`` and ``from_options`` build
equal backends, and a pickling round trip builds the same one again. Nothing
here connects: construction is lazy everywhere.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from storeroom import Registry, RegistryConfig, register_backend
from storeroom.backend import Backend
from storeroom.backends.http import HTTPBackend
from storeroom.backends.local import LocalBackend
from storeroom.backends.memory import MemoryBackend
from storeroom.backends.mount import MountBackend, TiersBackend
from storeroom.backends.s3 import S3Backend
from storeroom.backends.s3.pyarrow_backend import S3PyArrowBackend
from storeroom.backends.sftp import SFTPBackend
from storeroom.backends.sql import SQLBlobBackend
from storeroom.backends.sqlquery import SQLQueryBackend
from storeroom.errors import ConfigError


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: is the test server running? (scripts/services up)")
    return value


def _s3(cls: type[S3Backend], **extra: str) -> Callable[[Path], Backend]:
    return lambda _tmp: cls(
        "errtable-bucket",
        endpoint_url=_env("STOREROOM_TEST_S3_ENDPOINT"),
        key=_env("STOREROOM_TEST_S3_KEY"),
        secret=_env("STOREROOM_TEST_S3_SECRET"),
        region_name="us-east-1",
        **extra,
    )


def _sqlite(tmp: Path) -> str:
    path = tmp / "db.sqlite"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


def _azure(_tmp: Path) -> Backend:
    from storeroom.backends.azure import AzureBackend

    return AzureBackend(
        "errtable", connection_string=_env("STOREROOM_TEST_AZURE_CONNECTION_STRING"), hns=False
    )


#: Every built-in backend, built with its keyword ``__init__`` (none connects).
BUILT_WITH_INIT: dict[str, Callable[[Path], Backend]] = {
    "local": lambda tmp: LocalBackend(tmp / "root", durable=False),
    "memory": lambda _tmp: MemoryBackend(),
    "s3": _s3(S3Backend),
    "s3-obstore": _s3(S3Backend, engine="obstore"),
    "s3-pyarrow": _s3(S3PyArrowBackend),
    "sftp": lambda _tmp: SFTPBackend(
        _env("STOREROOM_TEST_SFTP_HOST"),
        port=int(_env("STOREROOM_TEST_SFTP_PORT")),
        username=_env("STOREROOM_TEST_SFTP_USER"),
        key_filename=_env("STOREROOM_TEST_SFTP_KEY"),
        known_hosts=_env("STOREROOM_TEST_SFTP_KNOWN_HOSTS"),
        base_path="/data",
    ),
    "sql-blob": lambda tmp: SQLBlobBackend(_sqlite(tmp), chunk_size=4096),
    "sql-query": lambda tmp: SQLQueryBackend(_sqlite(tmp), {"one": "SELECT 1 AS x"}),
    "http": lambda _tmp: HTTPBackend(
        "https://files.example/data", headers={"Authorization": "Bearer t0ken-abc"}
    ),
    "azure": _azure,
}


# spec: BACKEND-034, BACKEND-035
@pytest.mark.parametrize("name", sorted(BUILT_WITH_INIT))
def test_init_from_options_and_pickling_build_equal_backends(name: str, tmp_path: Path) -> None:
    made = BUILT_WITH_INIT[name](tmp_path)
    rebuilt = type(made).from_options(made.options)  # type: ignore[attr-defined]
    unpickled = pickle.loads(pickle.dumps(made))
    try:
        assert type(rebuilt) is type(made) is type(unpickled)
        assert rebuilt.options == made.options == unpickled.options
        assert rebuilt.describe() == made.describe() == unpickled.describe()
        assert rebuilt.capabilities == made.capabilities == unpickled.capabilities
        assert repr(rebuilt) == repr(made)
        # The one implementation: no backend class defines its own from_options.
        owners = [c.__name__ for c in type(made).__mro__ if "from_options" in vars(c)]
        assert owners == ["Backend"]
    finally:
        for b in (made, rebuilt, unpickled):
            b.close()


# spec: BACKEND-035
def test_the_pyarrow_subclass_keeps_its_engine_through_from_options() -> None:
    opts = _s3(S3Backend)(Path()).options  # type: ignore[attr-defined]
    assert opts.engine != "pyarrow"
    backend = S3PyArrowBackend.from_options(opts)
    assert backend.options.engine == "pyarrow"
    assert pickle.loads(pickle.dumps(backend)).options.engine == "pyarrow"


# spec: BACKEND-036
def test_mount_and_tiers_refuse_from_options_and_pickle_as_their_targets() -> None:
    mount = MountBackend({"": MemoryBackend()})
    tiers = TiersBackend([MemoryBackend(), MemoryBackend()])
    given = ({"mounts": {"": "x:"}}, {"tiers": ["x:", "y:"]})
    for backend, options in zip((mount, tiers), given, strict=True):
        with pytest.raises(ConfigError, match="built by a Registry"):
            type(backend).from_options(type(backend).options_class.parse(options))
        assert pickle.loads(pickle.dumps(backend)).describe() == backend.describe()


BUILT: list[dict[str, object]] = []


class _NoSetup(Backend):
    """A third-party backend with a constructor only (no ``_setup``)."""

    type_name = "no-setup"
    options_class = MemoryBackend.options_class

    def __init__(self, **options: object) -> None:
        BUILT.append(options)

    stat = open_read = write = delete = list = MemoryBackend.stat  # never called


# spec: BACKEND-036
def test_a_backend_without_setup_is_built_with_its_constructor() -> None:
    with pytest.raises(TypeError, match="defines no _setup"):
        _NoSetup.from_options(MemoryBackend.options_class())
    register_backend("no-setup", _NoSetup, replace=True)
    config = {"backends": {"b": {"type": "no-setup", "options": {"x": 1}}}, "stores": {}}
    with Registry(RegistryConfig.from_dict(config)) as registry:
        registry.get_backend("b")
    assert BUILT == [{"x": 1}]
