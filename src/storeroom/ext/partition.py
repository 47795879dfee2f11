"""Hive-style partition paths: ``year=2024/month=05/`` folders (spec EXT-040..045).

Keys and values are escaped the way Hive escapes partition names: each
character that is special in a path or in the ``key=value`` syntax
(``/ \\ = : % # ? * " ' [ ] { } ^``, control characters, DEL) becomes
``%XX`` (upper-case hex). Other characters, non-ASCII ones included,
are kept as they are, as Hive does. ``None`` and ``""``
values are written as Hive's ``__HIVE_DEFAULT_PARTITION__`` and read back as
``None``. Parsing accepts lower- or upper-case hex and leaves a ``%`` that is
not followed by two hex digits as it is, as Hive does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from storeroom.errors import InvalidArgument, InvalidPath

__all__ = [
    "DEFAULT_PARTITION",
    "ParsedPartition",
    "build_partition_path",
    "escape",
    "parse_partition",
    "parse_partition_path",
    "partition_path",
    "split_partitions",
    "unescape",
]

#: Hive's name for a NULL or empty partition value.
DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"

_SPECIAL = frozenset([chr(c) for c in range(0x20)] + list("\"#%'*/:=?\\\x7f{[]^}"))
_UNESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def escape(text: str) -> str:
    """Escape one partition key or value (``/`` → ``%2F``, ``=`` → ``%3D``, ...)."""
    if not any(ch in _SPECIAL for ch in text):
        return text
    return "".join(f"%{ord(ch):02X}" if ch in _SPECIAL else ch for ch in text)


def unescape(text: str) -> str:
    """Inverse of ``escape``."""
    if "%" not in text:
        return text
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _format(value: object) -> str:
    if value is None:
        return DEFAULT_PARTITION
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return escape(text) if text else DEFAULT_PARTITION


def build_partition_path(
    partitions: Mapping[str, object] | Iterable[tuple[str, object]], filename: str | None = None
) -> str:
    """``{"year": 2024, "tag": "a/b"}`` → ``"year=2024/tag=a%2Fb"`` (plus ``/filename``).

    Order is kept. Values are formatted with ``str`` (``bool`` as
    ``true``/``false``, dates in ISO format); an empty key is ``InvalidArgument``.
    """
    pairs = partitions.items() if isinstance(partitions, Mapping) else partitions
    segments = []
    for key, value in pairs:
        if not isinstance(key, str) or not key:
            raise InvalidArgument(f"partition key must be non-empty text, got {key!r}")
        segments.append(f"{escape(key)}={_format(value)}")
    if filename:
        segments.append(filename)
    return "/".join(segments)


def split_partitions(path: str) -> tuple[str, dict[str, str | None], str]:
    """Split ``path`` into (prefix before the partitions, partitions, rest after them).

    The partitions are the longest run of ``key=value`` segments, the first
    run found from the left: ``"tbl/a=1/b=2/part-0.parquet"`` gives
    ``("tbl", {"a": "1", "b": "2"}, "part-0.parquet")``.
    """
    segments = [s for s in str(path).replace("\\", "/").split("/") if s]
    start = next((i for i, s in enumerate(segments) if "=" in s), len(segments))
    end = start
    found: dict[str, str | None] = {}
    while end < len(segments) and "=" in segments[end]:
        raw_key, _, raw_value = segments[end].partition("=")
        if not raw_key:
            raise InvalidPath(f"partition segment {segments[end]!r} has no key", path=path)
        value = unescape(raw_value)
        found[unescape(raw_key)] = None if value in ("", DEFAULT_PARTITION) else value
        end += 1
    return "/".join(segments[:start]), found, "/".join(segments[end:])


def parse_partition_path(path: str) -> dict[str, str | None]:
    """The ``key=value`` partitions of ``path`` (values unescaped, default → ``None``)."""
    return split_partitions(path)[1]


@dataclass(frozen=True)
class ParsedPartition:
    """``parse_partition``'s result: the leading partitions and the ``filename`` after them."""

    partitions: dict[str, str | None]
    filename: str


def partition_path(filename: str, /, **partitions: object) -> str:
    """``partition_path("d.parquet", year=2026)`` → ``"year=2026/d.parquet"`` (escaped as Hive).

    Refuses what remote-store refused (``InvalidArgument``, a ``ValueError``): an
    empty or ``/``-holding filename, an empty key or value, ``=`` in either.
    """
    if not isinstance(filename, str) or not filename or "/" in filename:
        raise InvalidArgument(
            f"partition_path: filename must be a non-empty name without '/', got {filename!r}",
            hint="pass folders as partitions, or use build_partition_path(partitions, filename)",
        )
    for key, value in partitions.items():
        text = str(value)
        if not key or not text or "=" in key or "=" in text:
            raise InvalidArgument(
                f"partition_path: partition key must be non-empty and key and value must "
                f"not contain '=' (got {key!r}={text!r})",
                hint="build_partition_path escapes '=' and writes empty values as "
                "__HIVE_DEFAULT_PARTITION__",
            )
    return build_partition_path(partitions, filename)


def _is_partition(segment: str) -> bool:
    key, sep, value = segment.partition("=")
    return bool(sep and key) and "=" not in value


def parse_partition(path: str) -> ParsedPartition:
    """Leading ``key=value`` segments of ``path`` (unescaped) and the rest as ``filename``.

    Partitions are read from the start until the first segment that is not one
    ``key=value`` pair; an empty ``path`` is ``InvalidArgument``.
    """
    if not isinstance(path, str) or not path:
        raise InvalidArgument(f"parse_partition: path must be a non-empty string, got {path!r}")
    segments = path.split("/")
    found: dict[str, str | None] = {}
    index = 0
    while index < len(segments) and _is_partition(segments[index]):
        raw_key, _, raw_value = segments[index].partition("=")
        value = unescape(raw_value)
        found[unescape(raw_key)] = None if value == DEFAULT_PARTITION else value
        index += 1
    return ParsedPartition(found, "/".join(segments[index:]))
