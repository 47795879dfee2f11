"""Flat-namespace writes of the ``azure`` backend through the SDK: puts, blocks, copies, deletes.

Every function works on the backend's ``AzureCore`` (spec AZURE-011, -012, -014, -018).
"""

from __future__ import annotations

import time
from typing import Any, BinaryIO, cast

from azure.core.exceptions import AzureError
from azure.storage.blob import BlobBlock

from storeroom.backend import Source
from storeroom.backends.azure._blob import block_ids, create_only, read_block
from storeroom.backends.azure._core import AzureCore
from storeroom.backends.azure.errors import BACKEND, error_code
from storeroom.errors import AlreadyExists, InvalidPath, StoreroomError
from storeroom.models import WriteResult

__all__ = ["check_ancestors", "copy", "delete", "discard", "put", "staged", "write"]

_COPY_POLL = 0.2


def check_ancestors(core: AzureCore, key: str) -> None:
    """With ``reject_write_under_file_ancestor``: no parent of ``key`` may be a blob."""
    if not core.options.reject_write_under_file_ancestor:
        return
    parts = key.split("/")[:-1]
    for i in range(len(parts)):
        parent = "/".join(parts[: i + 1])
        if core.is_file(parent):
            raise InvalidPath(
                f"a parent of this path is a file: {parent!r}", path=key, backend=BACKEND
            )


def write(core: AzureCore, key: str, src: Source, overwrite: bool, meta: Any) -> WriteResult:
    """One ``Put Blob`` for content under two blocks, else staged blocks and one commit."""
    if isinstance(src, bytes | bytearray | memoryview):
        return put(core, key, src, overwrite, meta)
    size = core.options.block_size
    first = read_block(src.read, size)
    if len(first) < size:
        return put(core, key, first, overwrite, meta)
    second = read_block(src.read, size)
    if not second:
        return put(core, key, first, overwrite, meta)
    return staged(core, key, src, [first, second], overwrite, meta)


def put(
    core: AzureCore, key: str, data: bytes | bytearray | memoryview, overwrite: bool, meta: Any
) -> WriteResult:
    """One ``Put Blob`` (``If-None-Match: *`` unless ``overwrite``)."""
    try:
        r = core.blob(key).upload_blob(
            cast(bytes, data),
            overwrite=overwrite,
            metadata=meta,
            max_concurrency=core.options.max_concurrency,
            **create_only(overwrite),
        )
    except AzureError as exc:
        if overwrite or error_code(exc) != "BlobAlreadyExists" or core.is_file(key):
            raise core.fail(exc, key, "write") from exc
        return after_abandoned(core, key, bytes(data), meta)
    return core.result(key, len(data), r, meta)


def after_abandoned(core: AzureCore, key: str, data: bytes, meta: Any) -> WriteResult:
    """A create-only write where Azurite refused a Put Blob though no blob exists.

    Azurite refuses a conditional Put Blob on a name that only holds
    uncommitted blocks (an abandoned write); a conditional block-list commit
    is judged correctly there (spec AZURE-011).
    """
    return staged(core, key, None, [data], False, meta, checked=True)


def staged(
    core: AzureCore,
    key: str,
    src: BinaryIO | None,
    pending: list[bytes],
    overwrite: bool,
    meta: Any,
    checked: bool = False,
) -> WriteResult:
    """Stage ``pending`` then the rest of ``src`` as blocks; one ``Put Block List``."""
    blob = core.blob(key)
    if not overwrite and not checked and core.is_file(key):
        raise AlreadyExists(
            "file already exists",
            path=key,
            backend=BACKEND,
            hint="pass overwrite=True to replace it",
        )
    ids = block_ids()
    blocks: list[BlobBlock] = []
    total = 0
    size = core.options.block_size
    chunk: bytes | None = pending.pop(0)
    while chunk:
        block = BlobBlock(next(ids))
        try:
            blob.stage_block(block.id, chunk, length=len(chunk))
        except AzureError as exc:
            raise core.fail(exc, key, "write") from exc
        blocks.append(block)
        total += len(chunk)
        # The source is read outside the mapping: its own errors pass unchanged.
        if pending:
            chunk = pending.pop(0)
        else:
            chunk = read_block(src.read, size) if src is not None else None
    try:
        r = blob.commit_block_list(blocks, metadata=meta, **create_only(overwrite))
    except AzureError as exc:
        raise core.fail(exc, key, "write") from exc
    return core.result(key, total, r, meta)


def delete(core: AzureCore, key: str) -> None:
    """One Delete Blob; the service reports a missing blob itself (AZURE-018)."""
    try:
        core.blob(key).delete_blob()
    except AzureError as exc:
        raise core.fail(exc, key, "delete") from exc


def discard(core: AzureCore, key: str) -> None:
    """One Delete Blob; a missing blob is skipped without building a storeroom error."""
    try:
        core.blob(key).delete_blob()
    except AzureError as exc:
        if error_code(exc) != "BlobNotFound":
            raise core.fail(exc, key, "delete") from exc


def copy(core: AzureCore, source: Any, dst: str, overwrite: bool) -> dict[str, Any]:
    """``Copy Blob`` from ``source`` (a ``BlobClient``) to ``dst``; waits while pending."""
    target = core.blob(dst)
    try:
        r: dict[str, Any] = target.start_copy_from_url(source.url, **create_only(overwrite))
        status = r.get("copy_status")
        while status == "pending":
            time.sleep(_COPY_POLL)
            status = target.get_blob_properties().copy.status
        if status not in (None, "success"):
            raise StoreroomError(f"server-side copy ended as {status!r}", path=dst, backend=BACKEND)
    except AzureError as exc:
        raise core.fail(exc, dst, "copy") from exc
    return r
