"""Options of the ``mount`` and ``tiers`` backends, and the references they hold.

A reference names what a mount or tier reads and writes (spec MOUNT-010..016):
``"NAME:PATH"`` (backend ``NAME``, folder ``PATH`` inside it), a table
``{ backend = "NAME", path = "PATH" }``, ``{ store = "NAME", path = "PATH" }``
(the store's root and layers apply) or an inline backend table
``{ type = "memory", options = {...}, path = "PATH" }``. Unknown names and
cycles are ``ConfigError``s naming the key (checked without I/O).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from storeroom.config.options import BackendOptions
from storeroom.errors import ConfigError, InvalidPath
from storeroom.path import normalize

if TYPE_CHECKING:
    from storeroom.config.model import BackendConfig, RegistryConfig

__all__ = ["MountOptions", "Ref", "TiersOptions", "parse_ref"]

_TABLE_KEYS = ("backend", "store", "type", "path", "options", "layers", "retry")


def quoted(prefix: str) -> str:
    """A mount prefix as a TOML key (``mounts."raw/"``)."""
    return json.dumps(prefix)


@dataclasses.dataclass(frozen=True)
class Ref:
    """One parsed reference: what a mount or tier points at, and the key it came from."""

    key: str  # relative to the options table: 'mounts."raw/"', 'tiers[0]'
    kind: Literal["backend", "store", "inline"]
    name: str  # backend or store name ("" for inline)
    path: str  # normalised folder inside it
    inline: BackendConfig | None = None

    @property
    def label(self) -> str:
        """How messages name the target: ``lake:raw``, ``store reports:x``, ``inline memory:``."""
        if self.kind == "backend":
            return f"{self.name}:{self.path}"
        if self.kind == "store":
            return f"store {self.name}:{self.path}"
        assert self.inline is not None
        return f"inline {self.inline.type}:{self.path}"


def _sub_path(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(
            f"{key}.path: expected a string, got {type(value).__name__}", key=f"{key}.path"
        )
    try:
        return normalize(value)
    except InvalidPath as exc:
        raise ConfigError(
            f"{key}: path {value!r} is not a valid folder path ({exc.message})",
            key=key,
            hint="a mount path is a folder inside the target, without '..'",
        ) from None


def parse_ref(value: Any, key: str) -> Ref:
    """Parse one reference given at options key ``key`` (MOUNT-010)."""
    if isinstance(value, str):
        name, _, path = value.partition(":")
        if not name:
            raise ConfigError(
                f"{key}: {value!r} names no backend",
                key=key,
                hint='write "BACKEND:PATH", e.g. "lake:raw" or "disk:"',
            )
        return Ref(key, "backend", name, _sub_path(path, key))
    if not isinstance(value, Mapping):
        raise ConfigError(
            f'{key}: expected a reference such as "lake:raw" or a table, '
            f"got {type(value).__name__}",
            key=key,
        )
    unknown = [k for k in value if k not in _TABLE_KEYS]
    if unknown:
        raise ConfigError(
            f"{key}.{unknown[0]}: unknown key (expected one of: {', '.join(_TABLE_KEYS)})",
            key=f"{key}.{unknown[0]}",
        )
    given = [k for k in ("backend", "store", "type") if k in value]
    if len(given) != 1:
        raise ConfigError(
            f"{key}: give exactly one of 'backend', 'store' or 'type' (got {given or 'none'})",
            key=key,
            hint='{ backend = "lake", path = "raw" }, { store = "reports" } or { type = "memory" }',
        )
    path = _sub_path(value.get("path", ""), key)
    kind = given[0]
    if kind == "type":
        from storeroom.config.model import BackendConfig

        table = {k: v for k, v in value.items() if k not in ("path",)}
        return Ref(key, "inline", "", path, BackendConfig.from_raw(table, key))
    extra = [k for k in value if k not in (kind, "path")]
    if extra:
        raise ConfigError(
            f"{key}.{extra[0]}: only an inline backend (with 'type') takes {extra[0]!r}",
            key=f"{key}.{extra[0]}",
        )
    name = value[kind]
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}.{kind}: expected a {kind} name", key=f"{key}.{kind}")
    return Ref(key, "backend" if kind == "backend" else "store", name, path)


class _Referring(BackendOptions):
    """Options holding references: checked against the whole configuration."""

    def references(self) -> tuple[Ref, ...]:
        raise NotImplementedError

    def check_references(self, config: RegistryConfig, where: str, own: str) -> None:
        """Unknown names and cycles through ``own`` are ``ConfigError``s (MOUNT-013, MOUNT-014)."""
        for ref in self.references():
            _check_ref(ref, config, f"{where}.{ref.key}")
        _check_cycle(config, own)


def _check_ref(ref: Ref, config: RegistryConfig, key: str) -> None:
    if ref.kind == "backend" and ref.name not in config.backends:
        hint = "define it under [backends]"
        if ref.name in config.stores:
            hint = f'{ref.name!r} is a store: write {{ store = "{ref.name}" }}'
        raise ConfigError(
            f"{key}: unknown backend {ref.name!r} "
            f"(defined backends: {', '.join(sorted(config.backends)) or 'none'})",
            key=key,
            hint=hint,
        )
    if ref.kind == "store" and ref.name not in config.stores:
        raise ConfigError(
            f"{key}: unknown store {ref.name!r} "
            f"(defined stores: {', '.join(sorted(config.stores)) or 'none'})",
            key=key,
            hint="define it under [stores]",
        )
    if ref.kind == "inline":
        assert ref.inline is not None
        from storeroom.registry import check_backend_config

        check_backend_config(config, ref.inline, key)


def _refs_of(config: RegistryConfig, cfg: BackendConfig, where: str) -> Iterator[tuple[str, str]]:
    """(backend name, key) for each backend ``cfg`` reaches directly (through stores too)."""
    from storeroom.registry import parsed_options

    parsed = parsed_options(cfg, f"{where}.options")
    if not isinstance(parsed, _Referring):
        return
    for ref in parsed.references():
        key = f"{where}.options.{ref.key}"
        if ref.kind == "backend":
            yield ref.name, key
        elif ref.kind == "store":
            store = config.stores.get(ref.name)
            if store is not None:
                yield store.backend, key
        elif ref.inline is not None:
            yield from _refs_of(config, ref.inline, key)


def _check_cycle(config: RegistryConfig, own: str) -> None:
    """Depth-first from backend ``own``: reaching it again is a cycle (MOUNT-014).

    The error names the key of ``own``'s reference the cycle leaves through.
    """
    cfg = config.backends.get(own)
    if cfg is None:
        return
    seen: set[str] = set()

    def walk(name: str, trail: list[str], first: str) -> None:
        if name == own:
            chain = " → ".join(trail)
            raise ConfigError(
                f"{first}: the mounts form a cycle ({chain})",
                key=first,
                hint="a mount or tier may not reach, directly or through others, "
                "the backend it belongs to",
            )
        nested = config.backends.get(name)
        if nested is None or name in seen:
            return
        seen.add(name)
        for target, _key in _refs_of(config, nested, f"backends.{name}"):
            walk(target, [*trail, target], first)

    for target, key in _refs_of(config, cfg, f"backends.{own}"):
        walk(target, [own, target], key)


@dataclasses.dataclass(frozen=True, repr=False)
class MountOptions(_Referring):
    """``mounts``: a table of path prefix → reference; the longest matching prefix wins."""

    mounts: Mapping[str, Any]

    def __post_init__(self) -> None:
        refs: list[tuple[str, Ref]] = []
        seen: dict[str, str] = {}
        if not self.mounts:
            raise ConfigError(
                "mounts: the table is empty",
                key="mounts",
                hint='add at least one mount, e.g. "" = "disk:"',
            )
        for raw, value in self.mounts.items():
            key = f"mounts.{quoted(str(raw))}"
            if not isinstance(raw, str):
                raise ConfigError(f"{key}: a mount prefix must be a string", key=key)
            try:
                prefix = normalize(raw)
            except InvalidPath as exc:
                raise ConfigError(
                    f"{key}: {raw!r} is not a valid mount prefix ({exc.message})",
                    key=key,
                    hint='a prefix is a folder path such as "raw/" ("" mounts the root)',
                ) from None
            if prefix in seen:
                raise ConfigError(
                    f"{key}: mounts {quoted(seen[prefix])} and {quoted(raw)} are the same folder",
                    key=key,
                    hint="keep one of them",
                )
            seen[prefix] = raw
            refs.append((prefix, parse_ref(value, key)))
        object.__setattr__(self, "_refs", tuple(refs))

    def mount_refs(self) -> tuple[tuple[str, Ref], ...]:
        """(normalised prefix, reference) pairs in the order given."""
        found: tuple[tuple[str, Ref], ...] = self.__dict__["_refs"]
        return found

    def references(self) -> tuple[Ref, ...]:
        return tuple(ref for _, ref in self.mount_refs())

    @classmethod
    def backend_type(cls) -> str:
        return "mount"


@dataclasses.dataclass(frozen=True, repr=False)
class TiersOptions(_Referring):
    """``tiers``: references from fastest to slowest; ``promote`` copies reads up (MOUNT-040)."""

    tiers: tuple[Any, ...]
    promote: bool = False

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ConfigError(
                "tiers: the list is empty",
                key="tiers",
                hint='list the tiers fastest first, e.g. ["fast:", "slow:"]',
            )
        refs = tuple(parse_ref(value, f"tiers[{i}]") for i, value in enumerate(self.tiers))
        object.__setattr__(self, "_refs", refs)

    def references(self) -> tuple[Ref, ...]:
        found: tuple[Ref, ...] = self.__dict__["_refs"]
        return found

    @classmethod
    def backend_type(cls) -> str:
        return "tiers"
