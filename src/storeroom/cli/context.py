"""Per-run state: parsed arguments, output, and the lazily loaded config and Registry."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from storeroom.cli.address import Remote, local_path, parse_remote
from storeroom.cli.output import Output

if TYPE_CHECKING:
    from storeroom.config.model import RegistryConfig
    from storeroom.registry import Registry
    from storeroom.store import Store

__all__ = ["Context"]


class Context:
    """What a command handler gets. The config is read only when first needed."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self._config: RegistryConfig | None = None
        self._registry: Registry | None = None

    def config(self) -> RegistryConfig:
        if self._config is None:
            from storeroom.cli.configfile import load_config

            self._config = load_config(self.args.config)
        return self._config

    def registry(self) -> Registry:
        if self._registry is None:
            from storeroom.registry import Registry

            self._registry = Registry(self.config())
        return self._registry

    @property
    def store_names(self) -> list[str]:
        return sorted(self.config().stores)

    def store(self, name: str) -> Store:
        return self.registry().get_store(name)

    def remote(self, arg: str, *, what: str = "argument") -> Remote:
        """Parse ``STORE:path``; validates the config first so its errors come first."""
        self.registry()
        return parse_remote(arg, self.store_names, what=what)

    def local(self, arg: str) -> Path:
        self.registry()
        return local_path(arg, self.store_names, command=self.args.command)

    @property
    def progress(self) -> bool:
        return self.out.progress_allowed

    def close(self) -> None:
        if self._registry is not None:
            with contextlib.suppress(Exception):
                self._registry.close()
            self._registry = None
