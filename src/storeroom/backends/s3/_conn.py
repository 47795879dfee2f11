"""One lazily built, fork-aware s3fs filesystem and its aiobotocore client.

The backend drives the aiobotocore client that s3fs creates (same session,
credential chain, endpoint and event loop) and runs each coroutine on s3fs's
I/O loop thread. After ``os.fork()`` the child inherits a client bound to a
loop whose thread no longer exists: every entry point compares the process id
and, in a new process, drops the inherited objects (never touching them) and
builds fresh ones.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from fsspec.asyn import sync  # type: ignore[import-untyped]

from storeroom.backends.s3.config import S3Options
from storeroom.config.secret import reveal

__all__ = ["Connection"]

T = TypeVar("T")


def _merged(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    out = dict(base)
    if extra:
        out.update(dict(extra))
    return out


def s3fs_kwargs(opts: S3Options) -> dict[str, Any]:
    """Keyword arguments for ``s3fs.S3FileSystem`` (secrets revealed: never log them)."""
    extra = dict(opts.client_options or {})
    config: dict[str, Any] = {
        # The retry layer owns retrying: exactly one attempt per call here.
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "connect_timeout": opts.connect_timeout,
        "read_timeout": opts.read_timeout,
        "max_pool_connections": opts.max_pool_connections,
    }
    client: dict[str, Any] = {}
    if opts.region_name:
        client["region_name"] = opts.region_name
    if opts.tls_ca_bundle:
        client["verify"] = opts.tls_ca_bundle
    kwargs: dict[str, Any] = {
        "key": reveal(opts.key),
        "secret": reveal(opts.secret),
        "token": reveal(opts.token),
        "endpoint_url": opts.endpoint_url,
        "anon": opts.anon,
        "skip_instance_cache": True,
        "use_listings_cache": False,
    }
    if opts.profile:
        kwargs["profile"] = opts.profile
    kwargs["config_kwargs"] = _merged(config, extra.pop("config_kwargs", None))
    kwargs["client_kwargs"] = _merged(client, extra.pop("client_kwargs", None))
    kwargs.update(extra)
    return kwargs


_LOADER: list[Any] = []  # botocore's data loader: API models only, no credentials
_LOADER_LOCK = threading.Lock()


def _session(profile: str | None) -> Any:
    """A new aiobotocore session sharing one data loader per process.

    Only the parsed API models are shared (loading them costs hundreds of
    milliseconds per client); credentials are resolved by each session anew.
    """
    import aiobotocore.session  # type: ignore[import-untyped]
    import botocore.loaders  # type: ignore[import-untyped]

    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(botocore.loaders.create_loader())
        loader = _LOADER[0]
    session = aiobotocore.session.AioSession(profile=profile)
    session.register_component("data_loader", loader)
    return session


class Connection:
    """The s3fs filesystem, its client and loop for one backend, rebuilt after a fork."""

    def __init__(self, opts: S3Options) -> None:
        self._opts = opts
        self._lock = threading.Lock()
        self._pid = -1
        self._fs: Any = None
        self._client: Any = None
        self._loop: Any = None

    def _build(self) -> None:
        import s3fs  # type: ignore[import-untyped]

        kwargs = s3fs_kwargs(self._opts)
        if "session" not in kwargs:
            kwargs["session"] = _session(kwargs.pop("profile", None))
        fs = s3fs.S3FileSystem(**kwargs)
        fs.retries = 1  # s3fs's own retry loop, used by its high-level calls
        client = sync(fs.loop, fs.set_session)
        self._fs, self._client, self._loop = fs, client, fs.loop
        self._pid = os.getpid()

    def _ready(self) -> tuple[Any, Any]:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # Inherited objects belong to the parent's loop thread: drop them.
                    self._fs = self._client = self._loop = None
                    self._build()
        return self._client, self._loop

    @property
    def fs(self) -> Any:
        """The ``s3fs.S3FileSystem`` (built on first use)."""
        self._ready()
        return self._fs

    def run(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """Run coroutine function ``fn(*args, **kwargs)`` on the I/O loop; return its result."""
        _, loop = self._ready()
        result: T = sync(loop, fn, *args, timeout=self._opts.request_timeout, **kwargs)
        return result

    def call(self, method: str, **kwargs: Any) -> Any:
        """One S3 API call, e.g. ``call("head_object", Bucket=..., Key=...)``."""
        client, loop = self._ready()
        return sync(loop, getattr(client, method), timeout=self._opts.request_timeout, **kwargs)

    @property
    def client(self) -> Any:
        """The aiobotocore S3 client (use it only inside coroutines passed to ``run``)."""
        return self._ready()[0]

    def close(self) -> None:
        """Close the client's HTTP sessions; the next call reconnects. Idempotent."""
        with self._lock:
            client, loop, pid = self._client, self._loop, self._pid
            self._fs = self._client = self._loop = None
            self._pid = -1
        if client is None or pid != os.getpid() or loop is None or loop.is_closed():
            return
        try:
            sync(loop, client.close, timeout=5)
        except Exception:  # closing is best effort: the connection may be gone already
            pass
