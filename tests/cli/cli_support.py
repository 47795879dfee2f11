"""Shared helpers for the CLI tests (types, the read-only test layer)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storeroom.backend import Backend, Forwarding
from storeroom.capabilities import Capability
from storeroom.registry import register_layer

READ_ONLY_CAPS = frozenset({Capability.READ, Capability.LIST, Capability.METADATA})


def _read_only(inner: Backend) -> Backend:
    layer = Forwarding(inner)
    layer.capabilities = READ_ONLY_CAPS
    return layer


register_layer("clitest-readonly", _read_only, replace=True)


def toml_str(value: str | Path) -> str:
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


@dataclasses.dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def err_json(self) -> Any:
        return json.loads(self.err)


@dataclasses.dataclass
class Env:
    tmp: Path
    config: Path  # every store, including "ro" (a test-only layer)
    plain_config: Path  # the same without "ro", for subprocesses
    disk: Path  # filesystem folder behind store "data" (and "alias", "ro")
    other: Path  # filesystem folder behind store "other"

    def put_file(self, rel: str, content: bytes, *, root: Path | None = None) -> Path:
        path = (root or self.disk) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path


Runner = Callable[..., Result]
