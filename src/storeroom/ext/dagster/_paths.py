"""Where the IO manager puts things: asset, partition and op-output paths inside the store.

Assets live at ``prefix/asset/key/path[/partition].ext``; a multi-partition key
is one Hive-style folder per dimension (``color=red/date=2024-01-01``,
dimension names sorted); op outputs live at
``prefix/runs/<run_id>/<step_key>/<output>[/<mapping_key>].ext``. Each segment
is escaped as ``storeroom.ext.partition`` escapes partition values.
"""

from __future__ import annotations

from collections.abc import Iterable

from storeroom.ext.partition import build_partition_path, escape

__all__ = ["asset_base", "join", "op_output_base", "partition_segment"]


def join(*parts: str) -> str:
    """Join non-empty path parts with ``/``."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def asset_base(prefix: str, key_path: Iterable[str]) -> str:
    """``prefix/asset/key/path`` without extension."""
    return join(prefix, *(escape(segment) for segment in key_path))


def partition_segment(partition_key: str) -> str:
    """The folder(s) of one partition; multi-partition keys become ``dim=value/...``."""
    by_dimension = getattr(partition_key, "keys_by_dimension", None)
    if by_dimension:
        return build_partition_path(sorted(by_dimension.items()))
    return escape(str(partition_key))


def op_output_base(
    prefix: str, run_id: str, step_key: str, output: str, mapping_key: str | None
) -> str:
    """``prefix/runs/<run_id>/<step_key>/<output>[/<mapping_key>]`` without extension."""
    parts = ["runs", run_id, step_key, output] + ([mapping_key] if mapping_key else [])
    return join(prefix, *(escape(p) for p in parts))
