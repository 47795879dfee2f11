"""Deletes and moves of the ``memory`` backend: each one step under the lock (MEM-010, -021)."""

from __future__ import annotations

from storeroom.backends.memory._core import Folder, MemoryCore, err
from storeroom.errors import DirectoryNotEmpty, InvalidPath, NotFound

__all__ = ["delete", "delete_if_match", "move", "remove_folder"]


def delete(core: MemoryCore, key: str) -> None:
    """Remove the file at ``key``; its folder stays (MEM-003)."""
    with core.lock:
        core.file(key)
        core.detach(key)


def delete_if_match(core: MemoryCore, key: str, etag: str) -> None:
    """Compare the etag and remove the file under the one lock (COND-040)."""
    with core.lock:
        core.match(key, etag, "delete")
        core.detach(key)


def move(core: MemoryCore, src: str, dst: str, overwrite: bool) -> None:
    """Rename in one step, keeping content, metadata, etag and modification time."""
    with core.lock:
        record = core.file(src)
        if src == dst:
            return
        core.check_target(dst, overwrite)
        core.detach(src)
        core.put(dst, record)


def remove_folder(core: MemoryCore, key: str, recursive: bool) -> None:
    """Remove the folder at ``key`` (with its content when ``recursive``); never the root."""
    with core.lock:
        if not key:
            raise err(InvalidPath, "refusing to remove the backend root", key)
        node = core.find(key)
        if node is None:
            raise err(NotFound, "folder not found", key)
        if type(node) is not Folder:
            raise err(InvalidPath, "expected a folder, found a file", key)
        if node.children and not recursive:
            raise err(
                DirectoryNotEmpty,
                "folder is not empty",
                key,
                hint="pass recursive=True to delete it with its content",
            )
        core.detach(key)
