"""The Store's write and delete entry with ``if_match=`` (spec COND-*).

Checks the CONDITIONAL_WRITE gate and the etag before any I/O, then hands
over to the backend's ``write_if_match`` / ``delete_if_match``, which
compare and change in one atomic step.
"""

from __future__ import annotations

from collections.abc import Mapping

from storeroom import _store_write
from storeroom._cond import check_etag
from storeroom._store_core import StoreCore
from storeroom.capabilities import Capability
from storeroom.errors import StoreroomError
from storeroom.models import WriteResult

__all__ = ["delete", "write"]


def _gate(core: StoreCore, op: str, path: object) -> None:
    if not core._has(Capability.CONDITIONAL_WRITE):
        from storeroom.layers.readonly import refusal  # off the hot path

        where = path if isinstance(path, str) else repr(path)
        raise refusal(core._backend, Capability.CONDITIONAL_WRITE, op, path=where, store=core._name)


def _etag(core: StoreCore, op: str, path: object, if_match: object) -> str:
    try:
        return check_etag(if_match)
    except StoreroomError as exc:
        raise core._stamp(exc, op, path if isinstance(path, str) else repr(path)) from None


def write(
    core: StoreCore,
    op: str,
    path: object,
    content: object,
    overwrite: bool,
    metadata: Mapping[str, str] | None,
    if_match: object,
    atomic: bool,
) -> WriteResult:
    """Write ``content``; with ``if_match``, replace only while the file's etag is that."""
    if if_match is None:
        return _store_write.write_file(core, op, path, content, overwrite, metadata, atomic)
    _gate(core, op, path)
    etag = _etag(core, op, path, if_match)
    return _store_write.write_file(core, op, path, content, True, metadata, atomic, etag)


def delete(core: StoreCore, path: object, if_match: object) -> None:
    """Delete the file at ``path`` only while its etag is ``if_match``."""
    _gate(core, "delete", path)
    etag = _etag(core, "delete", path, if_match)
    key = core._file_key(path)
    try:
        core._backend.delete_if_match(key, etag)
    except Exception as exc:
        raise core._fail(exc, "delete", key)  # noqa: B904 - keeps the backend's own cause
