"""``exists`` as two S3 requests in flight at once, so a miss costs one round trip of wall time.

The HEAD of the key and the one-key listing of ``key/`` are sent together on
the caller's lane loop (no extra thread). A request whose answer is no longer
needed (the listing after a HEAD hit) is left to finish on the lane: it is not
cancelled, which would drop its pooled connection, and its outcome is ignored.
"""

from __future__ import annotations

import asyncio
from typing import Any

from storeroom.backends.s3._core import status

__all__ = ["exists"]


def _ignore(task: asyncio.Future[Any]) -> None:
    """Let ``task`` finish unobserved: its result or failure is consumed, never logged."""
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def _has_children(resp: Any) -> bool:
    return bool(resp.get("KeyCount") or resp.get("Contents"))


async def exists(client: Any, bucket: str, key: str) -> bool:
    """A file at ``key`` (HEAD) or an object under ``key/`` (one-key listing), sent together.

    Decides on the first conclusive answer: a HEAD hit, or a non-empty listing.
    A HEAD failure other than 404 raises; a listing failure raises unless the
    HEAD hits (a hit never depended on the listing).
    """
    head = asyncio.ensure_future(client.head_object(Bucket=bucket, Key=key))
    listing = asyncio.ensure_future(
        client.list_objects_v2(Bucket=bucket, Prefix=key + "/", MaxKeys=1)
    )
    for task in (head, listing):  # whichever outcome goes unread is never logged
        _ignore(task)
    pending: set[asyncio.Future[Any]] = {head, listing}
    list_error: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        if head in done:
            exc = head.exception()
            if exc is None:
                return True
            if status(exc) != 404:
                raise exc
            if list_error is not None:
                raise list_error
        if listing in done:
            list_error = listing.exception()
            if list_error is None and _has_children(listing.result()):
                return True
            if list_error is not None and head.done():
                raise list_error
    return False
