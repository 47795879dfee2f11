"""Options of the ``local`` backend."""

from __future__ import annotations

import dataclasses

from storeroom.config.options import BackendOptions
from storeroom.errors import ConfigError

__all__ = ["LocalOptions"]


@dataclasses.dataclass(frozen=True)
class LocalOptions(BackendOptions):
    """Options of the ``local`` backend.

    ``root``: the folder holding everything this backend stores (``~`` is
    expanded; relative paths are taken from the current directory when the
    backend is built). ``create_root``: create ``root`` and its parents when
    missing, instead of failing at the first operation. ``durable``: ``fsync``
    the file and its folder on atomic writes so a committed write survives a
    crash or power loss; turn it off to trade that for speed.
    """

    root: str
    create_root: bool = True
    durable: bool = True

    def __post_init__(self) -> None:
        if not self.root or not self.root.strip():
            raise ConfigError("root: must name a folder, got an empty string", key="root")
        if "\x00" in self.root:
            raise ConfigError("root: must not contain a NUL byte", key="root")

    @classmethod
    def backend_type(cls) -> str:
        return "local"
