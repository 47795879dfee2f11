"""``S3PyArrowBackend``: remote-store's name for the ``s3`` backend with ``engine="pyarrow"``.

Not a second S3 implementation: a subclass of ``S3Backend`` that fixes the
engine (spec S3-070).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from storeroom.backends.s3.backend import S3Backend
from storeroom.backends.s3.config import S3Options
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.layers.retry import RetryOptions

__all__ = ["S3PyArrowBackend"]


class S3PyArrowBackend(S3Backend):
    """``S3Backend(bucket, engine="pyarrow", ...)`` with remote-store's constructor.

    Takes remote-store's arguments (``endpoint_url``, ``key``, ``secret``,
    ``region_name``, ``tls_ca_bundle``, ``client_options``, ``retry``,
    ``reject_write_under_file_ancestor``) and every other ``S3Options`` option.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        key: str | Secret | None = None,
        secret: str | Secret | None = None,
        region_name: str | None = None,
        tls_ca_bundle: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        retry: Mapping[str, Any] | RetryOptions | None = None,
        reject_write_under_file_ancestor: bool = False,
        **options: Any,
    ) -> None:
        engine = options.pop("engine", "pyarrow")
        if engine != "pyarrow":
            raise ConfigError(
                f"engine: S3PyArrowBackend always uses engine 'pyarrow', got {engine!r}",
                key="engine",
                hint='use S3Backend(bucket, engine="s3fs") for the other engine',
            )
        super().__init__(
            bucket,
            endpoint_url=endpoint_url,
            key=key,
            secret=secret,
            region_name=region_name,
            tls_ca_bundle=tls_ca_bundle,
            client_options=client_options,
            retry=retry,
            reject_write_under_file_ancestor=reject_write_under_file_ancestor,
            engine="pyarrow",
            **options,
        )

    def _setup(self, opts: S3Options) -> None:
        """The s3 setup, with the engine always ``pyarrow``."""
        super()._setup(dataclasses.replace(opts, engine="pyarrow"))
