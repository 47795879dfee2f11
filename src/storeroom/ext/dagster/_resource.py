"""``StoreResource``: a named Store from the application's registry config, as a resource."""

from __future__ import annotations

import threading

import dagster as dg
from pydantic import Field, PrivateAttr

from storeroom.ext.dagster._registry import Lease, acquire, release
from storeroom.store import Store

__all__ = ["StoreHolder", "StoreResource"]

CONFIG_HELP = (
    "Path of the storeroom registry config (TOML/YAML/JSON); "
    "default $STOREROOM_CONFIG, then ./storeroom.toml."
)
STORE_HELP = "Name of a store in that config ([stores.<name>])."
ENV_HELP = (
    "Values for ${VAR} placeholders in the config file, over the process environment; "
    "use dagster.EnvVar for secrets."
)


class StoreHolder:
    """Leases the shared Registry on first use and gives it back on ``close``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lease: Lease | None = None
        self._store: Store | None = None

    def get(self, config: str | None, env: dict[str, str], name: str, owner: str) -> Store:
        """The Store ``name``; the Registry is built once, then reused."""
        with self._lock:
            if self._store is None:
                lease, registry = acquire(config, env, owner=owner)
                try:
                    self._store = registry.get_store(name)
                except BaseException:
                    release(lease)
                    raise
                self._lease = lease
            return self._store

    def close(self) -> None:
        """Release the lease (the last holder closes the Registry)."""
        with self._lock:
            lease, self._lease, self._store = self._lease, None, None
        if lease is not None:
            release(lease)


class StoreResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """A Store named in the registry config the application already uses (spec DAGSTER-010)."""

    config: str | None = Field(default=None, description=CONFIG_HELP)
    store: str = Field(description=STORE_HELP)
    env: dict[str, str] = Field(default_factory=dict, description=ENV_HELP, repr=False)

    _holder: StoreHolder = PrivateAttr(default_factory=StoreHolder)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Build (or share) the Registry once for this run process."""
        self.get_store()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the Registry when the run process is done with it."""
        self._holder.close()

    def get_store(self) -> Store:
        """The configured Store."""
        return self._holder.get(self.config, self.env, self.store, "StoreResource")
