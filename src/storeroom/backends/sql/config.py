"""Options of the ``sql-blob`` backend (no SQLAlchemy import here)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote

from storeroom import _mask
from storeroom.config.options import BackendOptions, code_object
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError

__all__ = ["SQLBlobOptions", "mask_url"]

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,47}$")
MiB = 1024 * 1024


def mask_url(url: str) -> str:
    """``url`` with its password and credential parameters masked, parsed as SQLAlchemy does."""
    return _mask.mask_url(url, sql=True)


@dataclasses.dataclass(frozen=True)
class SQLBlobOptions(BackendOptions):
    """Options of the ``sql-blob`` backend.

    ``url``: a SQLAlchemy URL, e.g. ``sqlite:///data/blobs.db`` (relative path)
    or ``postgresql+psycopg://user:pass@host/db``; kept as a ``Secret``
    because it may hold a password, and shown masked. ``table_name``: the
    files table; chunks live in ``<table_name>_chunks``. ``create_table``:
    create missing tables (never alters existing ones). ``chunk_size``:
    bytes per stored chunk (reads and writes stream chunk by chunk).
    ``connect_timeout``: seconds to reach the server. ``busy_timeout``:
    seconds SQLite waits for another writer's lock. Pool options are passed
    to SQLAlchemy's ``QueuePool``; ``pool_pre_ping`` adds a round trip per
    checkout, and without it a connection that died with the server is
    replaced on first use (that one operation fails as retryable).
    ``engine``: instead of ``url``, an SQLAlchemy ``Engine`` built by the caller
    (from code only; used as is and never disposed by the backend).
    ``max_blob_size``: largest file in bytes a write may store (``None``: no limit).
    ``reject_write_under_file_ancestor``: remote-store's opt-in; sql-blob always
    refuses a write below a file, so either value keeps that check.
    """

    url: Secret | None = None
    engine: Any = dataclasses.field(
        default=None,
        metadata=code_object(
            "an SQLAlchemy Engine", "SQLBlobBackend(engine=sqlalchemy.create_engine(...))"
        ),
    )
    table_name: str = "storeroom_files"
    create_table: bool = True
    chunk_size: int = MiB
    connect_timeout: float = 10.0
    busy_timeout: float = 30.0
    pool_size: int = 5
    max_overflow: int = 10
    pool_timeout: float = 30.0
    pool_recycle: int = -1
    pool_pre_ping: bool = False
    echo: bool = False
    max_blob_size: int | None = None
    reject_write_under_file_ancestor: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.url, str):  # direct construction with a plain string
            object.__setattr__(self, "url", Secret(self.url))
        if (self.url is None) == (self.engine is None):
            raise ConfigError("sql-blob: give url or engine (exactly one of them)", key="url")
        if self.max_blob_size is not None and self.max_blob_size < 0:
            raise ConfigError("max_blob_size: must be 0 or more bytes", key="max_blob_size")
        self._check_table()
        if self.url is None:
            if not hasattr(self.engine, "dialect") or not hasattr(self.engine, "connect"):
                raise ConfigError(
                    f"engine: expected an SQLAlchemy Engine, got {type(self.engine).__name__}",
                    key="engine",
                )
            return
        raw = self.url.reveal().strip()
        # Registers the password and credential parameters, so the log filter
        # and the error scrubber know them on their own too.
        _mask.protect_url(raw)
        if not raw:
            raise ConfigError("url: must be a SQLAlchemy URL, got an empty string", key="url")
        if "://" not in raw:
            raise ConfigError(
                f"url: expected a SQLAlchemy URL like 'sqlite:///file.db', got {mask_url(raw)!r}",
                key="url",
            )

    def _check_table(self) -> None:
        if not _TABLE_NAME.match(self.table_name):
            raise ConfigError(
                "table_name: expected letters, digits and '_' (not starting with a digit), "
                f"at most 48 characters, got {self.table_name!r}",
                key="table_name",
            )
        if not 4096 <= self.chunk_size <= 64 * MiB:
            raise ConfigError(
                f"chunk_size: expected 4096 to {64 * MiB} bytes, got {self.chunk_size}",
                key="chunk_size",
            )
        for name in ("connect_timeout", "busy_timeout", "pool_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive", key=name)
        if self.pool_size < 1 or self.max_overflow < 0:
            raise ConfigError("pool_size must be >= 1 and max_overflow >= 0", key="pool_size")

    @property
    def masked_url(self) -> str:
        """The URL (or the engine's URL) with its password masked."""
        if self.url is None:
            return str(self.engine.url.render_as_string(hide_password=True))
        return mask_url(self.url.reveal())

    @property
    def scheme(self) -> str:
        """Dialect part of the URL: ``sqlite``, ``postgresql``, ..."""
        if self.url is None:
            return str(self.engine.dialect.name)
        return unquote(self.url.reveal().split("://", 1)[0]).split("+", 1)[0].lower()

    @classmethod
    def backend_type(cls) -> str:
        return "sql-blob"
