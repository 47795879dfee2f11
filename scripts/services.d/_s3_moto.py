"""Run moto's S3 server with requests handled one at a time.

moto's in-memory S3 model is not thread-safe: when two PUTs of the same key
overlap, the overwrite disposes of the first object's buffer while the first
PUT is still reading it for its ETag, and that PUT fails with HTTP 500 (moto
5.2). Real S3 orders concurrent writes of a key; serialising the WSGI calls
gives moto the same behaviour. Connections are still served by threads, so an
idle keep-alive connection never blocks another client.

It also memoises ``moto.backends.list_of_moto_modules``: moto's dispatcher
calls it for every request, and each call lists moto's package directory and
stats some 180 entries, which was a third of the server's time per request.
The installed modules cannot change while the server runs.

Usage: python _s3_moto.py -H 127.0.0.1 -p PORT (the arguments of moto_server).
"""

from __future__ import annotations

import threading
from typing import Any

from moto import backends, server

_lock = threading.Lock()
_dispatch = server.DomainDispatcherApplication.__call__


def _serialised(self: Any, environ: Any, start_response: Any) -> Any:
    with _lock:
        return _dispatch(self, environ, start_response)


server.DomainDispatcherApplication.__call__ = _serialised  # type: ignore[method-assign]

_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _modules  # type: ignore[assignment]

if __name__ == "__main__":
    server.main()
