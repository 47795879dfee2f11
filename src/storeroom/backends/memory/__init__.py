"""The ``memory`` backend: a thread-safe in-process tree, the reference model."""

from storeroom.backends.memory.backend import MemoryBackend
from storeroom.backends.memory.config import MemoryOptions

__all__ = ["MemoryBackend", "MemoryOptions"]
