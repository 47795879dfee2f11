"""Pairs of stores on the test servers for ``bench_ext.py``.

Each pair is two stores, ``a`` (the source) and ``b`` (the destination), on
one server, under a fresh prefix that is removed afterwards. ``s3`` puts them
on two backend objects (same bucket), so ``transfer`` streams every file
through the client; ``s3-same`` puts both stores on one backend, so
``transfer`` copies server-side (one ``CopyObject`` per file).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from storeroom import Registry, Store
from storeroom.registry import known_backend_types

__all__ = ["REMOTE", "missing", "remote_pair"]

S3_VARS = ("STOREROOM_TEST_S3_ENDPOINT", "STOREROOM_TEST_S3_KEY", "STOREROOM_TEST_S3_SECRET")
AZURE_VARS = ("STOREROOM_TEST_AZURE_CONNECTION_STRING",)
PG_VARS = ("STOREROOM_TEST_SQL_URL",)


def _s3_options() -> dict[str, Any]:
    import boto3

    env = os.environ
    bucket = f"storeroom-bench-{uuid.uuid4().hex[:10]}"
    region = env.get("STOREROOM_TEST_S3_REGION", "us-east-1")
    boto3.client(
        "s3",
        endpoint_url=env["STOREROOM_TEST_S3_ENDPOINT"],
        aws_access_key_id=env["STOREROOM_TEST_S3_KEY"],
        aws_secret_access_key=env["STOREROOM_TEST_S3_SECRET"],
        region_name=region,
    ).create_bucket(Bucket=bucket)
    return {
        "type": "s3",
        "options": {
            "bucket": bucket,
            "endpoint_url": env["STOREROOM_TEST_S3_ENDPOINT"],
            "key": env["STOREROOM_TEST_S3_KEY"],
            "secret": env["STOREROOM_TEST_S3_SECRET"],
            "region_name": region,
        },
    }


@functools.cache
def _test_target(name: str) -> ModuleType:
    """``tests/service_targets/<name>.py``, the one place that maps a server's
    variables to backend options (loaded by path: that folder holds an
    ``http.py`` that must not shadow the standard library)."""
    tests = Path(__file__).resolve().parent.parent / "tests"
    if str(tests) not in sys.path:
        sys.path.append(str(tests))  # for its ``services_support`` import
    spec = importlib.util.spec_from_file_location(
        f"_bench_target_{name}", tests / "service_targets" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sftp_vars() -> tuple[str, ...]:
    # Loaded only when an sftp pair is asked for: the module registers a
    # conformance target, which a test process has done already.
    return tuple(_test_target("sftp").ENV_NAMES)


def _sftp_options() -> dict[str, Any]:
    target = _test_target("sftp")
    env = {name: os.environ[name] for name in target.ENV_NAMES}
    return {"type": "sftp", "options": target.sftp_options(env)}


def _azure_options() -> dict[str, Any]:
    return {
        "type": "azure",
        "options": {
            "container": f"bench-ext-{uuid.uuid4().hex[:10]}",
            "connection_string": os.environ["STOREROOM_TEST_AZURE_CONNECTION_STRING"],
            "create_container": True,
        },
    }


def _pg_options() -> dict[str, Any]:
    return {"type": "sql-blob", "options": {"url": os.environ["STOREROOM_TEST_SQL_URL"]}}


#: name -> (backend type, variables, backend config factory, one shared backend?)
REMOTE: dict[str, tuple[str, Callable[[], tuple[str, ...]], Callable[[], dict[str, Any]], bool]] = {
    "s3": ("s3", lambda: S3_VARS, _s3_options, False),
    "s3-same": ("s3", lambda: S3_VARS, _s3_options, True),
    "sftp": ("sftp", _sftp_vars, _sftp_options, False),
    "azure": ("azure", lambda: AZURE_VARS, _azure_options, False),
    "postgres": ("sql-blob", lambda: PG_VARS, _pg_options, False),
}


def missing(name: str) -> str | None:
    """Why ``name`` cannot run here, or ``None`` when it can."""
    kind, variables, _, _ = REMOTE[name]
    if kind not in known_backend_types():
        return f"the {kind} backend type is not available in this build"
    absent = [v for v in variables() if not os.environ.get(v)]
    if absent:
        return f'set {", ".join(absent)} (eval "$(scripts/services up)")'
    return None


def remote_pair(name: str) -> AbstractContextManager[tuple[Store, Store]]:
    """Stores ``a`` and ``b`` on the server of ``name`` (see ``REMOTE``)."""
    return _pair(name)


@contextmanager
def _pair(name: str) -> Iterator[tuple[Store, Store]]:
    _, _, factory, shared = REMOTE[name]
    backend = factory()
    run = f"bench-ext-{uuid.uuid4().hex[:8]}"
    backends = {"one": backend} if shared else {"a": backend, "b": backend}
    config = {
        "backends": backends,
        "stores": {
            "a": {"backend": "one" if shared else "a", "root_path": f"{run}/a"},
            "b": {"backend": "one" if shared else "b", "root_path": f"{run}/b"},
            "top": {"backend": "one" if shared else "a"},
        },
    }
    with Registry(config) as registry:
        try:
            yield registry.get_store("a"), registry.get_store("b")
        finally:
            registry.get_store("top").delete_folder(run, recursive=True, missing_ok=True)
