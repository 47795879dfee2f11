"""``ParquetDatasetStore``: write, read, list and delete Parquet datasets on a Store.

A dataset at ``key`` is a folder holding ``manifest.json`` (the commit point),
``_SUCCESS`` (the published version, for tools that look for it) and
``_parts/<version>/[col=value/...]part-NNNNN.parquet``. A write stages its
parts under a fresh version, publishes the manifest with ``write_atomic``,
writes ``_SUCCESS``, and only then removes older versions (spec
PARQUET-010..016). Only the public Store API is used, so every backend and
layer works. One writer per dataset at a time: concurrent writers publish
last-wins, and one may sweep away parts another has not published yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from storeroom.capabilities import Capability
from storeroom.errors import (
    AlreadyExists,
    CapabilityNotSupported,
    DatasetIncomplete,
    InvalidArgument,
    InvalidPath,
    ManifestCorrupted,
    NotFound,
    StoreroomError,
)
from storeroom.ext.parquet import _split
from storeroom.ext.parquet._manifest import DatasetManifest, PartFile, parse_manifest, schema_hash
from storeroom.ext.parquet._read import Filters, read_parts
from storeroom.ext.partition import build_partition_path
from storeroom.path import normalize
from storeroom.store import Store

__all__ = ["MANIFEST", "PARTS", "SUCCESS", "ParquetDatasetStore"]

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"
PARTS = "_parts"
_READ_ATTEMPTS = 8  # a busy writer can replace the dataset several times during one read


def _new_version() -> str:
    """Sortable by start time, unique across processes."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


def _positive(value: int | None, name: str) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidArgument(f"{name} must be a positive integer or None, got {value!r}")
    return value


class ParquetDatasetStore:
    """Parquet datasets on ``store``, each published atomically under a folder key.

    ``compression``, ``row_group_size`` and ``max_rows_per_file`` are defaults
    that ``write_dataset`` can override per call.
    """

    def __init__(
        self,
        store: Store,
        *,
        compression: str = "zstd",
        row_group_size: int | None = None,
        max_rows_per_file: int | None = None,
    ) -> None:
        if not isinstance(store, Store):
            raise InvalidArgument(f"ParquetDatasetStore needs a Store, got {type(store).__name__}")
        self._store = store
        self._compression = compression
        self._row_group_size = _positive(row_group_size, "row_group_size")
        self._max_rows_per_file = _positive(max_rows_per_file, "max_rows_per_file")
        self._backend = store.resolve().backend_type

    @property
    def store(self) -> Store:
        return self._store

    @property
    def compression(self) -> str:
        return self._compression

    @property
    def row_group_size(self) -> int | None:
        return self._row_group_size

    @property
    def max_rows_per_file(self) -> int | None:
        return self._max_rows_per_file

    def __repr__(self) -> str:
        return f"ParquetDatasetStore({self._store!r})"

    # -- helpers ----------------------------------------------------------------

    def _key(self, key: str, operation: str) -> str:
        try:
            clean = normalize(key, backend=self._backend)
        except InvalidPath as exc:
            raise exc.with_context(backend=self._backend, operation=operation) from None
        if not clean:
            raise InvalidPath(
                "a dataset needs its own folder, not the store root",
                path="",
                backend=self._backend,
                operation=operation,
                store=self._store.name,
                hint='pass a folder key such as "silver/orders"',
            )
        return clean

    def _error(self, cls: type[StoreroomError], message: str, key: str, op: str, hint: str) -> Any:
        return cls(
            message,
            path=key,
            backend=self._backend,
            operation=op,
            store=self._store.name,
            hint=hint,
        )

    def _has_files(self, key: str) -> bool:
        try:
            return next(iter(self._store.list_files(key, recursive=True)), None) is not None
        except NotFound:
            return False

    def _load(self, key: str, op: str) -> DatasetManifest:
        try:
            raw = self._store.read_bytes(f"{key}/{MANIFEST}")
        except NotFound:
            if self._has_files(key):
                raise self._error(
                    DatasetIncomplete,
                    "the folder holds files but no manifest: an interrupted first write, "
                    "or a dataset another tool wrote",
                    key,
                    op,
                    "write the dataset again, or run cleanup() to remove the orphaned parts",
                ) from None
            raise self._error(
                NotFound,
                "no dataset here",
                key,
                op,
                "write it with write_dataset(); list_datasets() shows the datasets",
            ) from None
        try:
            return parse_manifest(raw)
        except ManifestCorrupted as exc:
            exc.message = f"dataset {key!r}: {exc.message}"
            raise exc.with_context(
                path=f"{key}/{MANIFEST}",
                backend=self._backend,
                operation=op,
                store=self._store.name,
            ) from None

    def _current(self, key: str, op: str) -> DatasetManifest | None:
        """The published manifest, or ``None`` when there is none or it is unreadable."""
        try:
            return self._load(key, op)
        except (NotFound, DatasetIncomplete, ManifestCorrupted):
            return None

    def _staged(self, key: str) -> list[str]:
        try:
            return sorted(e.name for e in self._store.list_folders(f"{key}/{PARTS}"))
        except NotFound:
            return []

    def _remove(self, paths: Sequence[str], folders: bool) -> list[str]:
        """Delete what it can; a failure is left for the next write or ``cleanup``."""
        removed = []
        for path in paths:
            try:
                if folders:
                    self._store.delete_folder(path, recursive=True, missing_ok=True)
                else:
                    self._store.delete(path, missing_ok=True)
            except StoreroomError:
                continue
            removed.append(path)
        return removed

    def _sweep(self, key: str, manifest: DatasetManifest | None, old: Sequence[str]) -> list[str]:
        """Remove staged versions the published manifest does not use, and old loose parts."""
        if not self._store.supports(Capability.DELETE):
            return []
        keep = manifest.version if manifest is not None else None
        folders = [f"{key}/{PARTS}/{v}" for v in self._staged(key) if v != keep]
        listed = set(manifest.parts) if manifest is not None else set()
        loose = [f"{key}/{p}" for p in old if p not in listed and not p.startswith(f"{PARTS}/")]
        return self._remove(folders, True) + self._remove(loose, False)

    def _discard(self, key: str, staging: str, version: str) -> None:
        """Remove a failed write's parts (a torn one too), unless its manifest did get
        published (a failure reported after the server committed the atomic write)."""
        if not self._store.supports(Capability.DELETE):
            return
        try:
            current = self._current(key, "write_dataset")
        except StoreroomError:
            return  # cannot tell: leave the parts to the next write or cleanup()
        if current is None or current.version != version:
            self._remove([staging], True)

    # -- write ------------------------------------------------------------------

    def write_dataset(
        self,
        table: object,
        key: str,
        *,
        overwrite: bool = False,
        partition_cols: Sequence[str] | None = None,
        max_rows_per_file: int | None = None,
        compression: str | None = None,
        row_group_size: int | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> DatasetManifest:
        """Write ``table`` (pyarrow, pandas or polars) as the dataset at ``key``; atomic.

        An existing dataset raises ``AlreadyExists`` unless ``overwrite=True``.
        Returns the published manifest.
        """
        op = "write_dataset"
        key = self._key(key, op)
        if not self._store.supports(Capability.ATOMIC_WRITE):
            raise CapabilityNotSupported(
                "write_dataset publishes its manifest with write_atomic, "
                "which this backend does not offer",
                capability=Capability.ATOMIC_WRITE.value,
                path=key,
                backend=self._backend,
                operation=op,
                store=self._store.name,
            )
        arrow = _split.to_arrow(table)
        cols = _split.check_partition_cols(arrow.schema, partition_cols or [])
        max_rows = _positive(max_rows_per_file, "max_rows_per_file") or self._max_rows_per_file
        codec = self._compression if compression is None else compression
        group_rows = _positive(row_group_size, "row_group_size") or self._row_group_size
        if metadata is not None and not (
            isinstance(metadata, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            raise InvalidArgument("metadata must map strings to strings", operation=op)
        previous = self._current(key, op)
        if previous is not None and not overwrite:
            raise self._error(
                AlreadyExists,
                "a dataset already exists here",
                key,
                op,
                "pass overwrite=True to replace it",
            )
        version = _new_version()
        staging = f"{key}/{PARTS}/{version}"
        files: list[PartFile] = []
        try:
            for values, rows in _split.split(arrow, cols, max_rows):
                name = f"part-{len(files):05d}.parquet"
                rel = f"{PARTS}/{version}/{build_partition_path(values.items(), name)}"
                data = _split.serialize(rows, codec, group_rows)
                result = self._store.write(f"{key}/{rel}", data)
                files.append(PartFile(rel, rows.num_rows, result.size, result.etag, values))
            manifest = DatasetManifest(
                dataset_key=key,
                parts=[f.path for f in files],
                row_count=arrow.num_rows,
                schema_hash=schema_hash(arrow.schema),
                compression=codec,
                created_at_utc=datetime.now(UTC).isoformat(),
                run_id=run_id,
                metadata=dict(metadata) if metadata is not None else None,
                version=version,
                partition_cols=cols,
                files=files,
                schema=arrow.schema,
            )
            body = manifest.to_json().encode()
            self._store.write_atomic(f"{key}/{MANIFEST}", body, overwrite=overwrite)
        except BaseException:
            self._discard(key, staging, version)
            raise
        self._store.write_atomic(f"{key}/{SUCCESS}", version.encode(), overwrite=True)
        self._sweep(key, manifest, previous.parts if previous is not None else ())
        return manifest

    # -- read -------------------------------------------------------------------

    def read_dataset(
        self,
        key: str,
        *,
        columns: Sequence[str] | None = None,
        filters: Filters = None,
    ) -> pa.Table:
        """The rows of the published version at ``key`` as a pyarrow Table.

        ``filters``: pyarrow's DNF lists or a ``pyarrow.compute`` expression;
        parts whose partition values cannot match are not read.
        """
        op = "read_dataset"
        key = self._key(key, op)
        manifest = self._load(key, op)
        missing: list[str] = []

        def fetch(part: str) -> bytes:
            try:
                return self._store.read_bytes(f"{key}/{part}")
            except NotFound:
                missing.append(part)
                raise

        for _ in range(_READ_ATTEMPTS):
            missing.clear()
            try:
                return read_parts(manifest, fetch, columns, filters)
            except NotFound as exc:
                if not missing:
                    raise
                latest = self._load(key, op)  # replaced while we read: read the new one
                if latest.version is not None and latest.version != manifest.version:
                    manifest = latest
                    continue
                raise self._error(
                    DatasetIncomplete,
                    f"the manifest lists part {missing[0]!r}, which is missing",
                    key,
                    op,
                    "write the dataset again (overwrite=True) or restore the part",
                ) from exc
        raise self._error(
            DatasetIncomplete,
            f"the dataset was replaced {_READ_ATTEMPTS} times while it was being read",
            key,
            op,
            "read it again when writers are idle",
        )

    def read_manifest(self, key: str) -> DatasetManifest:
        """The published manifest at ``key``."""
        return self._load(self._key(key, "read_manifest"), "read_manifest")

    def dataset_exists(self, key: str) -> bool:
        """True when a version of the dataset has been published (its manifest exists)."""
        key = self._key(key, "dataset_exists")
        return self._store.is_file(f"{key}/{MANIFEST}")

    def list_datasets(self, path: str = "") -> list[str]:
        """Keys of the published datasets at or below ``path``, sorted."""
        try:
            found = self._store.list_files(path, recursive=True, pattern=MANIFEST)
            keys = {str(info.path).rpartition("/")[0] for info in found}
        except NotFound:
            return []
        return sorted(k for k in keys if k and f"/{PARTS}/" not in f"/{k}/")

    # -- delete and cleanup ---------------------------------------------------------

    def delete_dataset(self, key: str) -> None:
        """Delete the dataset at ``key``: its manifest first (readers then see none), then all."""
        op = "delete_dataset"
        key = self._key(key, op)
        if not self._store.is_folder(key):
            raise self._error(NotFound, "no dataset here", key, op, "list_datasets() shows them")
        self._store.delete(f"{key}/{MANIFEST}", missing_ok=True)
        self._store.delete_folder(key, recursive=True, missing_ok=True)

    def cleanup(self, key: str) -> list[str]:
        """Remove parts no published manifest lists (interrupted or replaced writes).

        Returns the removed store-relative paths. Run it only while no write to
        ``key`` is in flight: that write's parts are not published yet.
        """
        op = "cleanup"
        key = self._key(key, op)
        manifest = self._current(key, op)
        removed = self._sweep(key, manifest, ())
        if manifest is not None and manifest.version is not None:
            marker = f"{key}/{SUCCESS}"
            try:
                stale = self._store.read_bytes(marker) != manifest.version.encode()
            except NotFound:
                stale = True
            if stale:
                self._store.write_atomic(marker, manifest.version.encode(), overwrite=True)
        return removed
