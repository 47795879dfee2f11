"""``StoreIOManager``: Dagster asset and op outputs as files in a storeroom Store.

Every write goes through ``Store.write_atomic``, so a failed or cancelled step
never leaves a half file under the asset's path. Partitioned inputs spanning
several partitions load as ``dict[partition_key, value]``; an output covering
several partitions (a single-run backfill) is a dict written once per partition.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from pydantic import Field, PrivateAttr

from storeroom.capabilities import Capability
from storeroom.errors import CapabilityNotSupported, InvalidArgument, NotFound
from storeroom.ext.dagster._formats import (
    EXTENSIONS,
    FORMATS,
    choose_format,
    decode,
    encode,
    kind_of_type,
)
from storeroom.ext.dagster._paths import asset_base, join, op_output_base, partition_segment
from storeroom.ext.dagster._resource import CONFIG_HELP, ENV_HELP, STORE_HELP, StoreHolder
from storeroom.models import WriteResult
from storeroom.store import Store

__all__ = ["FORMAT_KEY", "StoreIOManager"]

#: Output metadata key choosing one asset's format (``{"storeroom/format": "csv"}``).
FORMAT_KEY = "storeroom/format"
_ALLOW_MISSING = "allow_missing_partitions"


def _where(context: dg.InputContext | dg.OutputContext) -> str:
    if context.has_asset_key:
        return f"asset {context.asset_key.to_user_string()!r}"
    return f"output {context.name!r}"


def _annotation(context: dg.InputContext) -> str | None:
    """The table kind the input asks for (also inside ``dict[str, T]``), if any."""
    try:
        tp = context.dagster_type.typing_type
    except dg.DagsterInvariantViolationError:  # a context built without a type
        return None
    if typing.get_origin(tp) in (dict, Mapping):
        args = typing.get_args(tp)
        tp = args[1] if len(args) == 2 else None
    return kind_of_type(tp)


class StoreIOManager(dg.ConfigurableIOManager):
    """Stores outputs in a Store named in the application's registry config (spec DAGSTER-020)."""

    config: str | None = Field(default=None, description=CONFIG_HELP)
    store: str = Field(description=STORE_HELP)
    format: str = Field(
        default="auto",
        description=f"One of {', '.join(FORMATS)}; auto stores tables as Parquet, "
        "everything else as pickle.",
    )
    prefix: str = Field(default="", description="Folder inside the store for all outputs.")
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
        return self._holder.get(self.config, self.env, self.store, "StoreIOManager")

    # -- outputs ----------------------------------------------------------------------

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Write ``obj`` (one file per partition) and report path, uri, size, etag and schema."""
        store = self.get_store()
        self._check_writable(store)
        where = _where(context)
        requested = context.definition_metadata.get(FORMAT_KEY)
        fmt, explicit = (str(requested), True) if requested else (self.format, False)
        if not context.has_asset_key:
            base = op_output_base(
                self.prefix, context.run_id, context.step_key, context.name, context.mapping_key
            )
            items = [(base, obj)]
        elif not context.has_asset_partitions:
            base = asset_base(self.prefix, context.asset_key.path)
            items = [(base, obj)]
        else:
            base = asset_base(self.prefix, context.asset_key.path)
            keys = context.asset_partition_keys
            values = [obj] if len(keys) == 1 else _split(obj, keys, where)
            items = [
                (join(base, partition_segment(k)), v) for k, v in zip(keys, values, strict=True)
            ]
        written = []
        for path, value in items:
            stored = choose_format(value, fmt, explicit=explicit, where=where)
            written.append(self._write(store, f"{path}.{EXTENSIONS[stored]}", value, stored, where))
            context.log.debug(
                f"StoreIOManager: wrote {where} to {self.store}:{written[-1][0].path}"
            )
        context.add_output_metadata(self._metadata(base, written))

    def _check_writable(self, store: Store) -> None:
        if store.supports(Capability.WRITE) and store.supports(Capability.ATOMIC_WRITE):
            return
        raise CapabilityNotSupported(
            f"StoreIOManager: store {self.store!r} is read-only or has no atomic writes, "
            "so it cannot hold outputs",
            hint="point the IO manager at a writable store (one without a readonly layer)",
            capability=Capability.ATOMIC_WRITE.value,
            store=self.store,
            operation="handle_output",
        )

    def _write(
        self, store: Store, path: str, value: Any, fmt: str, where: str
    ) -> tuple[WriteResult, Any]:
        encoded = encode(value, fmt, where)
        try:
            result = store.write_atomic(path, encoded.body, overwrite=True)
        finally:
            encoded.body.close()
        return result, encoded

    def _metadata(self, base: str, written: Sequence[tuple[WriteResult, Any]]) -> dict[str, Any]:
        first, encoded = written[0]
        path = str(first.path) if len(written) == 1 else base
        meta: dict[str, Any] = {
            "path": dg.MetadataValue.path(path),
            "uri": dg.MetadataValue.text(f"storeroom://{self.store}/{path}"),
            "size": dg.MetadataValue.int(sum(result.size for result, _ in written)),
        }
        if len(written) > 1:
            meta["partitions"] = dg.MetadataValue.int(len(written))
        elif first.etag:
            meta["etag"] = dg.MetadataValue.text(first.etag)
        if encoded.schema is not None:
            rows = sum(e.rows or 0 for _, e in written)
            meta["row_count"] = dg.MetadataValue.int(rows)
            meta["dagster/row_count"] = dg.MetadataValue.int(rows)
            columns = [dg.TableColumn(f.name, str(f.type)) for f in encoded.schema]
            meta["dagster/column_schema"] = dg.TableSchema(columns=columns)
        return meta

    # -- inputs -----------------------------------------------------------------------

    def load_input(self, context: dg.InputContext) -> Any:
        """Load the upstream value; several partitions load as ``dict[partition_key, value]``."""
        store = self.get_store()
        upstream = context.upstream_output
        hint = upstream.definition_metadata.get(FORMAT_KEY) if upstream is not None else None
        kind = _annotation(context)
        where = _where(context)
        if not context.has_asset_key:
            if upstream is None:
                raise InvalidArgument(f"StoreIOManager: {where} has no upstream output to load")
            base = op_output_base(
                self.prefix, upstream.run_id, upstream.step_key, upstream.name, upstream.mapping_key
            )
            return self._load(store, base, hint, kind, where)
        base = asset_base(self.prefix, context.asset_key.path)
        if not context.has_asset_partitions:
            return self._load(store, base, hint, kind, where)
        keys = context.asset_partition_keys
        if len(keys) == 1:
            return self._load(store, join(base, partition_segment(keys[0])), hint, kind, where)
        allow_missing = bool(context.definition_metadata.get(_ALLOW_MISSING, False))
        loaded: dict[str, Any] = {}
        for key in keys:
            try:
                loaded[key] = self._load(
                    store, join(base, partition_segment(key)), hint, kind, where
                )
            except NotFound:
                if not allow_missing:
                    raise
                context.log.warning(f"StoreIOManager: skipped missing partition {key!r} of {where}")
        return loaded

    def _load(self, store: Store, base: str, hint: Any, kind: str | None, where: str) -> Any:
        order = [str(hint) if hint else "", self.format, "parquet" if kind else ""]
        order += ["pickle", "parquet", "json", "csv"]
        tried = []
        for fmt in dict.fromkeys(f for f in order if f in EXTENSIONS):
            path = f"{base}.{EXTENSIONS[fmt]}"
            tried.append(path)
            if store.exists(path):
                return decode(store, path, fmt, kind, where)
        raise NotFound(
            f"StoreIOManager: {where} has nothing stored in store {self.store!r} "
            f"at {base}.{{{','.join(EXTENSIONS.values())}}}",
            hint="materialize the upstream asset (or that partition) first",
            path=tried[0],
            store=self.store,
            operation="load_input",
        )


def _split(obj: Any, keys: Sequence[str], where: str) -> list[Any]:
    """The per-partition values of a single-run output covering ``keys``."""
    wanted = [str(k) for k in keys]
    given = {str(k): v for k, v in obj.items()} if isinstance(obj, Mapping) else None
    if given is None or set(given) != set(wanted):
        found = "a " + type(obj).__name__ if given is None else f"keys {sorted(given)[:5]}"
        raise InvalidArgument(
            f"StoreIOManager: {where} covers {len(wanted)} partitions in this run "
            f"({wanted[0]} .. {wanted[-1]}) but returned {found}",
            hint="return a dict with one value per partition key "
            "({key: value for key in context.partition_keys})",
        )
    return [given[k] for k in wanted]
