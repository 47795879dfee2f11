"""``await write_with_hash(astore, path, content)``: an async write with its digest (COMPAT-013)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping

from storeroom.aio.store import AsyncStore
from storeroom.ext.streams import new_hasher, normalize_algorithm
from storeroom.models import ContentDigest, WriteResult

__all__ = ["write_with_hash"]


async def write_with_hash(
    store: AsyncStore,
    path: str,
    content: bytes | AsyncIterator[bytes],
    *,
    algorithm: str = "sha256",
    overwrite: bool = False,
    metadata: Mapping[str, str] | None = None,
) -> WriteResult:
    """Write ``content`` (bytes or async chunks); ``digest`` is hashed as the bytes stream."""
    algo = normalize_algorithm(algorithm)
    hasher = new_hasher(algo)
    if isinstance(content, bytes):
        hasher.update(content)
        result = await store.write(path, content, overwrite=overwrite, metadata=metadata)
    else:

        async def hashed(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
            async for chunk in chunks:
                hasher.update(chunk)
                yield chunk

        result = await store.write(path, hashed(content), overwrite=overwrite, metadata=metadata)
    return dataclasses.replace(result, digest=ContentDigest(algo, hasher.hexdigest()))
