"""Fork-aware pool of event-loop "lanes", each with its own aiobotocore client from s3fs.

Why lanes: s3fs runs every coroutine on one background I/O thread, so each
call costs two thread wake-ups (the loop thread when the answer arrives, then
the caller) and extra GIL hand-offs; on a busy machine that added 10-30 % to a
small request. A lane is an event loop that is *not* running in any thread
plus the aiobotocore client built on it by ``s3fs.S3FileSystem.set_session``
(same credentials chain, endpoint and config handling as s3fs). A call takes a
free lane, runs the coroutine to completion *on the calling thread*
(``run_until_complete``) and gives the lane back. Threads never share a lane
at the same time, so concurrent callers each get their own (the pool grows to
the number of threads that call at once). A streaming GET keeps its lane until
the body is read or closed.

A caller that already runs an event loop in its thread cannot nest
``run_until_complete``: its calls run on a short-lived helper thread instead.

After ``os.fork()`` the child inherits lanes whose sockets belong to the
parent: every entry point compares the process id and, in a new process,
forgets the inherited lanes (never touching them) and builds fresh ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from storeroom.backends.s3._creds import aio_credentials, credential_source
from storeroom.backends.s3.config import S3Options
from storeroom.config.secret import reveal
from storeroom.credentials import Credentials, CredentialSource

__all__ = ["Connection", "Lane"]

T = TypeVar("T")

#: Lanes inherited over a fork: kept referenced, never closed (their sockets are the parent's).
_INHERITED: list[Any] = []


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
    if not opts.anon:  # s3fs sets UNSIGNED itself; explicit SigV4 keeps presigned URLs off SigV2
        config["signature_version"] = "s3v4"
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


def _timestamp(value: Any) -> Any:
    """An S3 timestamp: ISO 8601 (listings) by the standard library, else botocore's parser.

    botocore parses every timestamp with dateutil, about 0.1 ms each: a third
    of the client's time for a listing of 1,000 objects. HTTP dates (HEAD) and
    anything unusual still go through botocore's own parser.
    """
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass
    import botocore.parsers  # type: ignore[import-untyped]

    return botocore.parsers.DEFAULT_TIMESTAMP_PARSER(value)


def _session(profile: str | None) -> Any:
    """A new aiobotocore session sharing one data loader per process.

    Only the parsed API models are shared (loading them costs hundreds of
    milliseconds per client); credentials are resolved by each session anew.
    Its responses parse timestamps with ``_timestamp``.
    """
    import aiobotocore.session  # type: ignore[import-untyped]
    import botocore.loaders  # type: ignore[import-untyped]

    with _LOADER_LOCK:
        if not _LOADER:
            _LOADER.append(botocore.loaders.create_loader())
        loader = _LOADER[0]
    session = aiobotocore.session.AioSession(profile=profile)
    session.register_component("data_loader", loader)
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=_timestamp
    )
    return session


def _s3fs(opts: S3Options, source: CredentialSource[Credentials] | None, **extra: Any) -> Any:
    import s3fs  # type: ignore[import-untyped]

    kwargs = s3fs_kwargs(opts)
    if source is not None:
        # Refreshing credentials: the session signs with botocore's refreshable
        # credentials backed by the shared source (never the static key/secret).
        for name in ("key", "secret", "token", "profile"):
            kwargs.pop(name, None)
        kwargs["session"] = _session(None)
        kwargs["session"]._credentials = aio_credentials(source)
    elif "session" not in kwargs:
        kwargs["session"] = _session(kwargs.pop("profile", None))
    fs = s3fs.S3FileSystem(**kwargs, **extra)
    fs.retries = 1  # s3fs's own retry loop, used by its high-level calls
    return fs


async def _timed(coro: Awaitable[T], seconds: float) -> T:
    async with asyncio.timeout(seconds):
        return await coro


def _on_helper_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a new thread and wait (for callers inside a running event loop)."""
    box: list[Any] = []

    def target() -> None:
        try:
            box.append((True, fn()))
        except BaseException as exc:
            box.append((False, exc))

    thread = threading.Thread(target=target, name="storeroom-s3", daemon=True)
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    result: T = value
    return result


async def _settle(client: Any) -> None:
    """Cancel the requests left running on this loop (an ``exists`` listing), close ``client``."""
    strays = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in strays:
        task.cancel()
    await asyncio.gather(*strays, return_exceptions=True)
    await client.close()


def _shut(loop: asyncio.AbstractEventLoop, client: Any, pid: int) -> None:
    """Close ``client``'s HTTP sessions on its idle ``loop``, then the loop (best effort)."""
    if pid != os.getpid() or loop.is_closed() or loop.is_running():
        return
    try:
        if asyncio._get_running_loop() is None:
            loop.run_until_complete(_timed(_settle(client), 5))
        else:
            _on_helper_thread(lambda: loop.run_until_complete(_timed(_settle(client), 5)))
    except BaseException:  # the connection may be gone already
        pass
    try:
        loop.close()
    except BaseException:
        pass


class Lane:
    """An idle event loop and the aiobotocore client bound to it; one user at a time."""

    __slots__ = ("__weakref__", "_closer", "client", "fs", "loop", "pid")

    def __init__(self, opts: S3Options, source: CredentialSource[Credentials] | None) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        try:
            self.fs = _s3fs(opts, source, asynchronous=True)
            self.client: Any = self._start(self.fs.set_session())
        except BaseException:
            self.loop.close()
            raise
        # Closed when dropped or at interpreter exit, so no session is left unclosed.
        self._closer = weakref.finalize(self, _shut, self.loop, self.client, self.pid)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run ``coro`` to completion on this lane's loop, in the calling thread."""
        return self._start(coro if timeout is None else _timed(coro, timeout))

    def _start(self, job: Coroutine[Any, Any, T]) -> T:
        # A caller inside async code (a notebook cell, an async web handler) has a
        # running loop on this thread, which forbids running another one here.
        if asyncio._get_running_loop() is not None:
            return _on_helper_thread(lambda: self.loop.run_until_complete(job))
        return self.loop.run_until_complete(job)

    def close(self) -> None:
        """Close the client's HTTP sessions and the loop (best effort, idempotent)."""
        self._closer()


class Connection:
    """The pool of lanes of one backend (and an s3fs filesystem for ``unwrap_s3fs``)."""

    def __init__(self, opts: S3Options) -> None:
        self._opts = opts
        self._timeout = opts.request_timeout
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._free: list[Lane] = []
        self._epoch = 0  # bumped by close(): lanes of an older epoch are closed on release
        self._fs: Any = None
        #: The backend's refreshing credentials shared by all lanes, or None.
        self.credentials = credential_source(opts)

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    # Inherited lanes talk over the parent's sockets: forget, never close.
                    _INHERITED.extend(self._free)
                    self._free = []
                    self._fs = None
                    self._epoch += 1
                    self._pid = os.getpid()

    def acquire(self) -> tuple[Lane, int]:
        """A free lane (built when none is free) and the epoch to give back with it."""
        self._check_pid()
        with self._lock:
            epoch = self._epoch
            if self._free:
                return self._free.pop(), epoch
        return Lane(self._opts, self.credentials), epoch

    def release(self, lane: Lane, epoch: int, *, broken: bool = False) -> None:
        """Give ``lane`` back; a broken lane or one from before ``close()`` is closed."""
        if lane.pid != os.getpid():
            return
        with self._lock:
            if not broken and epoch == self._epoch and self._pid == lane.pid:
                self._free.append(lane)
                return
        lane.close()

    def run_on(self, lane: Lane, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on a lane the caller holds (a streaming body's, for instance)."""
        return lane.run(coro, self._timeout)

    def run(self, fn: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
        """Run the coroutine ``fn(client)`` on a free lane; return its result."""
        lane, epoch = self.acquire()
        try:
            result = lane.run(fn(lane.client), self._timeout)
        except Exception:
            self.release(lane, epoch)
            raise
        except BaseException:  # interrupted mid-request: the loop may hold a pending task
            self.release(lane, epoch, broken=True)
            raise
        self.release(lane, epoch)
        return result

    def call(self, method: str, **kwargs: Any) -> Any:
        """One S3 API call, e.g. ``call("head_object", Bucket=..., Key=...)``."""
        lane, epoch = self.acquire()
        try:
            result = lane.run(getattr(lane.client, method)(**kwargs), self._timeout)
        except Exception:
            self.release(lane, epoch)
            raise
        except BaseException:
            self.release(lane, epoch, broken=True)
            raise
        self.release(lane, epoch)
        return result

    def hold(self, method: str, **kwargs: Any) -> tuple[Any, Lane, int]:
        """Like ``call``, but the caller keeps the lane (to read a streaming body on it)
        and gives it back with ``release(lane, epoch)``."""
        lane, epoch = self.acquire()
        try:
            result = lane.run(getattr(lane.client, method)(**kwargs), self._timeout)
        except Exception:
            self.release(lane, epoch)
            raise
        except BaseException:
            self.release(lane, epoch, broken=True)
            raise
        return result, lane, epoch

    @property
    def fs(self) -> Any:
        """A synchronous ``s3fs.S3FileSystem`` with the same options (built on first use)."""
        self._check_pid()
        with self._lock:
            if self._fs is None:
                self._fs = _s3fs(self._opts, self.credentials)
            return self._fs

    def close(self) -> None:
        """Close every idle lane; lanes in use close when given back. Idempotent."""
        self._check_pid()
        with self._lock:
            lanes, self._free = self._free, []
            self._epoch += 1
            self._fs = None
        for lane in lanes:
            lane.close()
