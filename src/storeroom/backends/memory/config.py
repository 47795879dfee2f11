"""Options of the ``memory`` backend (it has none)."""

from __future__ import annotations

import dataclasses

from storeroom.config.options import BackendOptions

__all__ = ["MemoryOptions"]


@dataclasses.dataclass(frozen=True)
class MemoryOptions(BackendOptions):
    """The ``memory`` backend takes no options; any key given is a ``ConfigError``."""

    @classmethod
    def backend_type(cls) -> str:
        return "memory"
