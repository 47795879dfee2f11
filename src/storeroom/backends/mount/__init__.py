"""The ``mount`` and ``tiers`` backends: one namespace over several backends and stores."""

from storeroom.backends.mount.backend import MountBackend
from storeroom.backends.mount.config import MountOptions, TiersOptions
from storeroom.backends.mount.tiers import TiersBackend

__all__ = ["MountBackend", "MountOptions", "TiersBackend", "TiersOptions"]
