"""A TCP proxy adding a fixed one-way delay, to time remote backends as over a network.

The local test servers answer in well under a millisecond of network time, so
client CPU dominates and saving a round trip barely shows. ``delayed(url, ms)``
starts this file as a separate process (its work never competes for the
benchmark's GIL) that forwards to the server, delivering every chunk ``ms``
milliseconds after it arrived, in order, in both directions: a round trip
costs ``2 * ms`` more, bandwidth is unchanged.

Usage as a script: ``python _latency.py LISTEN_PORT HOST:PORT DELAY_MS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()

    sender = asyncio.ensure_future(send())
    try:
        while data := await reader.read(1 << 16):
            queue.put_nowait((loop.time() + delay, data))
    finally:
        queue.put_nowait((loop.time() + delay, b""))
        with contextlib.suppress(Exception):
            await sender
            writer.close()


async def _serve(port: int, host: str, target: int, delay: float) -> None:
    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection(host, target)
        except OSError:
            cw.close()
            return
        for w in (cw, sw):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(_pump(cr, sw, delay), _pump(sr, cw, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def delayed(url: str, ms: float) -> Iterator[str]:
    """``url`` with its host and port replaced by a proxy adding ``ms`` each way."""
    parts = urlsplit(url)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, str(port), f"{parts.hostname}:{parts.port}", str(ms)]
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            time.sleep(0.05)
        yield urlunsplit(parts._replace(netloc=f"127.0.0.1:{port}"))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    host, _, target = sys.argv[2].rpartition(":")
    asyncio.run(_serve(int(sys.argv[1]), host, int(target), float(sys.argv[3]) / 1000))
