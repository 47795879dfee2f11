"""The ``sftp`` backend: files on an SSH server, over paramiko (extra ``sftp``).

``SFTPBackend`` is imported on first access, so loading the options class
(``config.py``) never imports paramiko.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storeroom.backends.sftp.backend import SFTPBackend

__all__ = ["SFTPBackend"]


def __getattr__(name: str) -> Any:
    if name == "SFTPBackend":
        from storeroom.backends.sftp.backend import SFTPBackend

        return SFTPBackend
    raise AttributeError(f"module 'storeroom.backends.sftp' has no attribute {name!r}")
