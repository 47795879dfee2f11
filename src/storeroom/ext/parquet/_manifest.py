"""The dataset manifest: what one published version of a dataset is made of.

The manifest is the dataset's commit point (spec PARQUET-010..016): readers
read only the parts it lists. Its JSON keeps remote-store's field names
(``dataset_key``, ``parts``, ``row_count``, ``schema_hash``, ``compression``,
``created_at_utc``, ``run_id``, ``metadata``) and adds the version, the Arrow
schema, the partition columns and one entry per part (rows, size, etag,
partition values). A manifest without the added fields (one remote-store
wrote) is still read.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from storeroom.errors import InvalidPath, ManifestCorrupted
from storeroom.path import normalize

__all__ = ["FORMAT", "DatasetManifest", "PartFile", "parse_manifest", "schema_hash"]

#: The ``format`` field of every manifest storeroom writes.
FORMAT = "storeroom-parquet/1"

_REQUIRED: dict[str, type] = {
    "dataset_key": str,
    "parts": list,
    "row_count": int,
    "schema_hash": str,
    "compression": str,
    "created_at_utc": str,
}


@dataclasses.dataclass(frozen=True)
class PartFile:
    """One part: its path relative to the dataset folder, row count, size, etag and
    the partition values of its rows (``None`` for a null value)."""

    path: str
    rows: int | None = None
    size: int | None = None
    etag: str | None = None
    partition: dict[str, str | None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class DatasetManifest:
    """One published version of a dataset (the first eight fields match remote-store's).

    ``parts`` are paths relative to the dataset folder; ``files`` holds the same
    parts with their details; ``schema`` is the whole table's Arrow schema,
    partition columns included (``None`` only for a manifest without one).
    """

    dataset_key: str
    parts: list[str]
    row_count: int
    schema_hash: str
    compression: str
    created_at_utc: str
    run_id: str | None = None
    metadata: dict[str, str] | None = None
    version: str | None = None
    partition_cols: list[str] = dataclasses.field(default_factory=list)
    files: list[PartFile] = dataclasses.field(default_factory=list)
    schema: pa.Schema | None = None

    def to_json(self) -> str:
        """The manifest as JSON (sorted keys, two-space indent)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "dataset_key": self.dataset_key,
            "parts": list(self.parts),
            "row_count": self.row_count,
            "schema_hash": self.schema_hash,
            "compression": self.compression,
            "created_at_utc": self.created_at_utc,
            "version": self.version,
            "partition_cols": list(self.partition_cols),
            "files": [dataclasses.asdict(f) for f in self.files],
        }
        if self.schema is not None:
            data["schema"] = base64.b64encode(self.schema.serialize().to_pybytes()).decode()
        if self.run_id is not None:
            data["run_id"] = self.run_id
        if self.metadata is not None:
            data["metadata"] = dict(self.metadata)
        return json.dumps(data, sort_keys=True, indent=2)

    @classmethod
    def from_json(cls, text: str | bytes) -> DatasetManifest:
        """Parse and check a manifest; any fault is ``ManifestCorrupted``."""
        return parse_manifest(text)


def schema_hash(schema: pa.Schema) -> str:
    """The first 16 hex digits of the SHA-256 of ``schema.to_string()``."""
    return hashlib.sha256(schema.to_string().encode("utf-8")).hexdigest()[:16]


def _bad(reason: str) -> ManifestCorrupted:
    return ManifestCorrupted(
        f"the dataset manifest is not valid: {reason}",
        reason=reason,
        hint="rewrite the dataset with write_dataset(..., overwrite=True), "
        "or restore manifest.json from a backup",
    )


def _part_path(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _bad("every part path must be a non-empty string")
    try:
        clean = normalize(value)
    except InvalidPath:
        clean = ""
    if clean != value or clean.split("/")[-1] in ("manifest.json", "_SUCCESS"):
        raise _bad(f"part path {value!r} is not a plain path inside the dataset folder")
    return clean


def _str_map(value: object, field: str, *, nullable: bool) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"field {field!r} must map strings to strings")
    ok = all(
        isinstance(k, str) and (isinstance(v, str) or (nullable and v is None))
        for k, v in value.items()
    )
    if not ok:
        raise _bad(f"field {field!r} must map strings to strings")
    return dict(value)


def _count(value: object, field: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(f"field {field!r} must be a non-negative integer")
    return value


def _files(raw: object, parts: list[str]) -> list[PartFile]:
    if raw is None:  # a manifest written without part details
        return [PartFile(p) for p in parts]
    if not isinstance(raw, list) or not all(isinstance(f, dict) for f in raw):
        raise _bad("field 'files' must be a list of objects")
    files = []
    for entry in raw:
        etag = entry.get("etag")
        if etag is not None and not isinstance(etag, str):
            raise _bad("field 'files[].etag' must be a string")
        files.append(
            PartFile(
                path=_part_path(entry.get("path")),
                rows=_count(entry.get("rows"), "files[].rows"),
                size=_count(entry.get("size"), "files[].size"),
                etag=etag,
                partition=_str_map(entry.get("partition", {}), "files[].partition", nullable=True),
            )
        )
    if [f.path for f in files] != parts:
        raise _bad("fields 'files' and 'parts' list different parts")
    return files


def _schema(raw: object) -> pa.Schema | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise TypeError(raw)
        schema: pa.Schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(raw, validate=True)))
    except Exception:
        raise _bad("field 'schema' is not a base64 Arrow schema") from None
    return schema


def parse_manifest(text: str | bytes) -> DatasetManifest:
    """Parse and check a manifest; any fault is ``ManifestCorrupted`` with a ``reason``."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise _bad("invalid JSON") from None
    if not isinstance(data, dict):
        raise _bad("the top level must be a JSON object")
    for field, kind in _REQUIRED.items():
        value = data.get(field)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise _bad(f"field {field!r} is missing or not a {kind.__name__}")
    if data["row_count"] < 0:
        raise _bad("field 'row_count' must be a non-negative integer")
    parts = [_part_path(p) for p in data["parts"]]
    for field in ("run_id", "version"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise _bad(f"field {field!r} must be a string")
    metadata = data.get("metadata")
    if metadata is not None:
        metadata = _str_map(metadata, "metadata", nullable=False)
    cols = data.get("partition_cols", [])
    if not isinstance(cols, list) or not all(isinstance(c, str) and c for c in cols):
        raise _bad("field 'partition_cols' must be a list of column names")
    schema = _schema(data.get("schema"))
    if schema is not None and any(schema.get_field_index(c) < 0 for c in cols):
        raise _bad("a partition column is not in the schema")
    return DatasetManifest(
        dataset_key=data["dataset_key"],
        parts=parts,
        row_count=data["row_count"],
        schema_hash=data["schema_hash"],
        compression=data["compression"],
        created_at_utc=data["created_at_utc"],
        run_id=data.get("run_id"),
        metadata=metadata,
        version=data.get("version"),
        partition_cols=list(cols),
        files=_files(data.get("files"), parts),
        schema=schema,
    )
