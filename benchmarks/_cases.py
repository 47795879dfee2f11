"""What the per-call timing-case modules share: contenders, obstore calls, case specs, the run loop.

``cases_local`` and ``cases_membackend`` build the same storeroom and
remote-store pair from one configuration, time fixed calls, and run their
case lists through ``run_cases`` (calibrate, interleaved rounds, one
``TimingCase`` each).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from _harness import BASELINE, TimingCase, Variant, calibrate_number, measure

__all__ = [
    "CaseSpec",
    "MiB",
    "fixed",
    "ob_exists",
    "ob_get",
    "ob_list",
    "ob_put",
    "paired_stores",
    "run_cases",
    "size_label",
]

MiB = 1024 * 1024
F = TypeVar("F")


def size_label(n: int) -> str:
    """``n`` bytes as a label: ``1 MiB``, ``4 KiB`` or ``100 B``."""
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} B"


def fixed(name: str, op: Callable[[], object]) -> Variant:
    """A contender whose timed call is ``op`` whatever the number of calls."""
    return Variant(name, lambda _number: op)


def paired_stores(config: Mapping[str, Any], store: str) -> tuple[Any, Any, Any, Any]:
    """storeroom's and remote-store's registry and ``store`` from one configuration, as users
    build them: ``(storeroom registry, storeroom store, remote-store registry, its store)``."""
    import remote_store

    import storeroom

    sr_registry = storeroom.Registry(storeroom.RegistryConfig.from_dict(config))
    rs_registry = remote_store.Registry(remote_store.RegistryConfig.from_dict(config))
    return sr_registry, sr_registry.get_store(store), rs_registry, rs_registry.get_store(store)


# obstore has no exists(): a HEAD that raises FileNotFoundError on a miss is how its
# users ask. Its listing of one folder is list_with_delimiter (files and prefixes).


def ob_exists(store: Any, rel: str) -> bool:
    import obstore

    try:
        obstore.head(store, rel)
    except FileNotFoundError:
        return False
    return True


def ob_get(store: Any, rel: str) -> Any:
    import obstore

    return obstore.get(store, rel).bytes()


def ob_put(store: Any, rel: str, data: bytes, mode: str = "overwrite") -> Any:
    import obstore

    return obstore.put(store, rel, data, mode=mode)


def ob_list(store: Any, prefix: str) -> list[Any]:
    import obstore

    return list(obstore.list_with_delimiter(store, prefix)["objects"])


@dataclass(frozen=True)
class CaseSpec(Generic[F]):
    """One timing case: its contenders (built from the fixture ``F``) and its targets."""

    id: str
    label: str
    variants: Callable[[F], list[Variant]]
    limit: float | None
    note: str = ""
    limit_us: float | None = None
    baselines: tuple[str, ...] = (BASELINE,)


def run_cases(
    fixture: F,
    specs: list[CaseSpec[F]],
    *,
    rounds: int,
    sample_ns: int,
    overhead_ns: float,
    only: set[str] | None,
    log: Callable[[str], Any],
    group: str = "local",
) -> list[TimingCase]:
    """Each spec (those in ``only`` when given): calibrated, measured in interleaved rounds."""
    out = []
    for spec in specs:
        if only is not None and spec.id not in only:
            continue
        variants = spec.variants(fixture)
        number = calibrate_number(variants, sample_ns)
        log(f"  {spec.label}: {rounds} rounds x {number} calls x {len(variants)} contenders")
        stats = measure(variants, rounds=rounds, number=number, overhead_ns=overhead_ns)
        out.append(
            TimingCase(
                spec.id,
                spec.label,
                stats,
                spec.limit,
                spec.note,
                limit_us=spec.limit_us,
                baselines=spec.baselines,
                group=group,
            )
        )
    return out
