"""The Store's write family on a ``StoreCore``: write, atomic write, text encoding, open_atomic.

Validation happens before any I/O (path, metadata, content type, text
encoding); a failure of the caller's own content source propagates as the
very exception it raised, whatever the backend made of it (STORE-007..017).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from storeroom._sources import source_failure, to_source
from storeroom._store_core import StoreCore
from storeroom._store_support import SPOOL_MAX, TMP_PREFIX, check_metadata
from storeroom.backend import unsupported
from storeroom.capabilities import Capability
from storeroom.errors import AlreadyExists, InvalidArgument, StoreroomError
from storeroom.models import WriteResult
from storeroom.path import join_key

__all__ = ["encode_text", "open_atomic", "write_file"]

C = Capability


def write_file(
    core: StoreCore,
    op: str,
    path: object,
    content: object,
    overwrite: bool,
    metadata: Mapping[str, str] | None,
    atomic: bool,
    if_match: str | None = None,
) -> WriteResult:
    """Validate, then write ``content`` to ``path`` (natively atomic, derived, or plain).

    With ``if_match`` (checked by ``_store_cond``) the backend's conditional write.
    """
    key = core._file_key(path)
    if metadata:
        check_metadata(metadata, core._rel(key))
        if not core._has(C.USER_METADATA):
            raise unsupported(C.USER_METADATA, core._type, op).with_context(
                path=core._rel(key), store=core._name
            )
    src = to_source(content)
    backend = core._backend
    try:
        if if_match is not None:
            result = backend.write_if_match(key, src, if_match, metadata=metadata, atomic=atomic)
        elif atomic and C.ATOMIC_WRITE not in backend.capabilities:
            result = _write_via_move(core, key, src, overwrite, metadata)
        else:
            result = backend.write(key, src, overwrite=overwrite, metadata=metadata, atomic=atomic)
    except Exception as exc:
        own = source_failure(src)
        err = own if own is not None else core._fail(exc, op, key)
    else:
        prefix = core._prefix
        if not prefix:
            return result
        path = result.path  # the key itself unless the backend said otherwise
        return result._rebase(key[len(prefix) + 1 :] if path == key else core._rel(path))
    if isinstance(err, StoreroomError):  # the source's own InvalidArgument (str chunks)
        core._stamp(err, op, core._rel(key))
    raise err  # outside the except block: the source's exception stays as it was raised


def _write_via_move(
    core: StoreCore, key: str, src: Any, overwrite: bool, metadata: Mapping[str, str] | None
) -> WriteResult:
    import uuid

    backend = core._backend
    parent = key.rpartition("/")[0]
    tmp = join_key(parent, f"{TMP_PREFIX}{uuid.uuid4().hex}.tmp")
    result = backend.write(tmp, src, overwrite=False, metadata=metadata)
    try:
        backend.move(tmp, key, overwrite=overwrite)
    except BaseException:
        with contextlib.suppress(Exception):
            backend.delete(tmp)
        raise
    return result._rebase(key)


def encode_text(core: StoreCore, path: object, text: object, encoding: object) -> bytes:
    """``text`` encoded for ``write_text``; a non-str, unknown codec or unencodable text is
    ``InvalidArgument`` (STORE-010)."""
    key = core._file_key(path)
    if not isinstance(text, str):
        raise core._stamp(
            InvalidArgument(
                f"write_text() needs str, got {type(text).__name__}", hint="use write() for bytes"
            ),
            "write_text",
            core._rel(key),
        )
    try:
        return text.encode(encoding)  # type: ignore[arg-type]
    except (LookupError, UnicodeError, TypeError, ValueError) as exc:
        err = InvalidArgument(
            f"cannot encode the text as {encoding!r}: {exc}",
            hint="pass a text encoding Python knows (e.g. 'utf-8') that can represent "
            "every character; lone surrogates cannot be encoded",
        )
        raise core._stamp(err, "write_text", core._rel(key)) from exc


@contextlib.contextmanager
def open_atomic(core: StoreCore, path: object, overwrite: bool) -> Iterator[BinaryIO]:
    """Spool the block's writes, then one atomic write on a clean exit (STORE-016)."""
    key = core._file_key(path)
    if not overwrite:
        try:
            exists = core._backend.exists(key)
        except Exception as exc:
            raise core._fail(exc, "open_atomic", key)
        if exists:
            raise AlreadyExists(
                "file already exists",
                path=core._rel(key),
                backend=core._type,
                operation="open_atomic",
                store=core._name,
                hint="pass overwrite=True to replace it",
            )
    import tempfile  # imported here: it costs ~3 ms and most programs never need it

    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as spool:
        yield spool  # type: ignore[misc]
        spool.seek(0)
        write_file(core, "open_atomic", core._rel(key), spool, overwrite, None, True)
