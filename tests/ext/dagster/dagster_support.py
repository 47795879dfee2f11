"""Config files on real backends for the Dagster tests (the IO manager reads a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

from every_backend import registry_on
from storeroom import Registry, Secret, Store

#: The backends every Dagster behaviour is checked on (local disk, SQLite, the S3 test server).
BACKENDS = ["local", "sql-sqlite", "s3"]


def _plain(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, Secret):
        for name, secret in placeholders.items():
            if secret == value.reveal():
                return "${" + name + "}"
        return value.reveal()
    if isinstance(value, dict):
        return {k: _plain(v, placeholders) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, placeholders) for v in value]
    return value


def config_file(
    backend: str, tmp_path: Path, *, placeholders: dict[str, str] | None = None
) -> tuple[Path, Registry]:
    """A registry config file with store ``s`` on ``backend``, and a Registry to inspect it.

    ``placeholders`` maps a variable name to a secret value that the file then
    spells as ``${NAME}`` instead of the plain value.
    """
    registry = registry_on(backend, tmp_path)
    path = tmp_path / "storeroom.json"
    path.write_text(json.dumps(_plain(registry.config.to_dict(), placeholders or {})))
    return path, registry


def files(store: Store) -> list[str]:
    """Every file in ``store``, sorted."""
    return sorted(str(f.path) for f in store.list_files("", recursive=True))


def materialization_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    """The metadata values of ``asset``'s (last) materialization in ``result``."""
    events = result.asset_materializations_for_node(asset)
    assert events, f"no materialization of {asset}"
    return {k: v.value for k, v in events[-1].metadata.items()}
