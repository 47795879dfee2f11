"""Bulk delete for S3: ``DeleteObjects`` with up to 1,000 keys per request (spec S3-040..043).

S3 deletes a missing key silently, while the contract wants ``NotFound`` for
it, so each chunk first learns which keys exist, cheaply: keys are grouped
by parent folder and each group of more than a few keys is answered by a
delimited ``ListObjectsV2`` over just the name range the group spans
(``StartAfter`` .. its last key; subfolders collapse into one prefix each);
small groups, and any keys a bounded number of pages did not reach, are
answered by a ``HEAD`` each. The groups of a chunk are asked concurrently.
Then one quiet ``DeleteObjects`` deletes the keys that exist; its per-key
errors go through the error table. A failed request is reported on every
key it covered, never raised.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import botocore.exceptions as bx  # type: ignore[import-untyped]

from storeroom.backends.s3.errors import BACKEND, TABLE
from storeroom.errors import InvalidPath, NotFound, StoreroomError

if TYPE_CHECKING:
    from storeroom.backends.s3.backend import S3Backend

__all__ = ["CHUNK", "delete_many"]

#: S3's limit of keys per ``DeleteObjects`` request.
CHUNK = 1000
#: Groups this small are checked with one HEAD per key instead of a listing.
_HEAD_GROUP = 3
#: Listing pages allowed per group beyond what its size needs; the rest is HEADed.
_EXTRA_PAGES = 2


def delete_many(backend: S3Backend, keys: Sequence[str]) -> dict[str, StoreroomError | None]:
    """Delete ``keys``; ``key -> None`` or the error ``backend.delete(key)`` would raise."""
    unique = list(dict.fromkeys(keys))
    results: dict[str, StoreroomError | None] = {}
    for i in range(0, len(unique), CHUNK):
        chunk = unique[i : i + CHUNK]
        try:
            results.update(backend._conn.run(functools.partial(_delete_chunk, backend, chunk)))
        except Exception as exc:  # the whole chunk failed (e.g. the request timed out)
            for key in chunk:
                results[key] = _error(backend, exc, key)
    return results


def _error(backend: S3Backend, exc: BaseException, key: str) -> StoreroomError:
    err = TABLE.map(exc, key, operation="delete", bucket=backend.bucket)
    if err is not exc:
        err.__cause__ = exc
    return err


async def _delete_chunk(
    backend: S3Backend, chunk: list[str], client: Any
) -> dict[str, StoreroomError | None]:
    bucket = backend.bucket
    out: dict[str, StoreroomError | None] = {}
    groups: dict[str, list[str]] = {}
    for key in chunk:
        if not key:
            out[key] = InvalidPath(
                "the backend root is not a file", path=key, backend=BACKEND, operation="delete"
            )
        else:
            groups.setdefault(key.rpartition("/")[0], []).append(key)
    found: set[str] = set()
    failed: dict[str, BaseException] = {}
    await asyncio.gather(
        *(
            _existing(client, bucket, parent, sorted(names), found, failed)
            for parent, names in groups.items()
        )
    )
    present = []
    for key in chunk:
        if key in out:
            continue
        if key in failed:
            out[key] = _error(backend, failed[key], key)
        elif key not in found:
            out[key] = NotFound("file not found", path=key, backend=BACKEND, operation="delete")
        else:
            present.append(key)
            out[key] = None
    if not present:
        return out
    request = {"Objects": [{"Key": k} for k in present], "Quiet": True}
    try:
        resp = await client.delete_objects(Bucket=bucket, Delete=request)
    except Exception as exc:
        for key in present:
            out[key] = _error(backend, exc, key)
        return out
    for item in resp.get("Errors") or ():
        key = item.get("Key")
        if key in out:
            failure = bx.ClientError({"Error": item}, "DeleteObjects")
            out[key] = _error(backend, failure, key)
    return out


async def _existing(
    client: Any,
    bucket: str,
    parent: str,
    names: list[str],
    found: set[str],
    failed: dict[str, BaseException],
) -> None:
    """Add the ``names`` (sorted, all in folder ``parent``) that are objects to ``found``."""
    rest = names
    if len(names) > _HEAD_GROUP:
        try:
            rest = await _listed(client, bucket, parent, names, found)
        except Exception as exc:
            for key in names:
                failed[key] = exc
            return
    if rest:
        await asyncio.gather(*(_head(client, bucket, key, found, failed) for key in rest))


async def _listed(
    client: Any, bucket: str, parent: str, names: list[str], found: set[str]
) -> list[str]:
    """List the range ``names`` spans; return the keys the page budget did not reach."""
    wanted = set(names)
    last = names[-1]
    query: dict[str, Any] = {
        "Bucket": bucket,
        "Prefix": parent + "/" if parent else "",
        "Delimiter": "/",
        "MaxKeys": CHUNK,
        # A proper prefix of the first key sorts before it: the range starts there.
        "StartAfter": names[0][:-1],
    }
    reached = ""
    for _ in range(len(names) // CHUNK + 1 + _EXTRA_PAGES):
        resp = await client.list_objects_v2(**query)
        for obj in resp.get("Contents") or ():
            name = obj["Key"]
            if name in wanted:
                found.add(name)
            reached = max(reached, name)
        for pre in resp.get("CommonPrefixes") or ():
            reached = max(reached, pre["Prefix"])
        token = resp.get("NextContinuationToken")
        if not resp.get("IsTruncated") or not token or reached >= last:
            return []
        query["ContinuationToken"] = token
    return [k for k in names if k > reached]


async def _head(
    client: Any, bucket: str, key: str, found: set[str], failed: dict[str, BaseException]
) -> None:
    try:
        await client.head_object(Bucket=bucket, Key=key)
    except bx.ClientError as exc:
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if status != 404:
            failed[key] = exc
        return
    except Exception as exc:
        failed[key] = exc
        return
    found.add(key)
