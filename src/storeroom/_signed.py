"""``Store.url``: argument checks and the capability gate of signed URLs (spec SIGN-*).

A signed URL lets a client without storeroom or credentials download
(``GET``) or upload (``PUT``) one file for a limited time. The Store checks
the method, the lifetime, the capability and the path before any I/O and
hands the backend a validated key, a whole number of seconds and an
upper-case method; the backend signs (``Backend.signed_url``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from storeroom._mask import mask_url
from storeroom.capabilities import Capability
from storeroom.errors import InvalidArgument

if TYPE_CHECKING:
    from storeroom._store_core import StoreCore

__all__ = ["DEFAULT_EXPIRES", "MAX_EXPIRES", "METHODS", "check_expires", "masked", "signed_url"]

#: Lifetime of a URL when ``expires`` is not given: one hour.
DEFAULT_EXPIRES = 3600
#: The longest lifetime: seven days, S3's limit for SigV4 presigned URLs, on every backend.
MAX_EXPIRES = 7 * 24 * 3600
#: The methods a signed URL can grant.
METHODS = ("GET", "PUT")


def check_method(method: object) -> str:
    """``"GET"`` or ``"PUT"`` (any case) as upper case; anything else is ``InvalidArgument``."""
    if isinstance(method, str) and method.upper() in METHODS:
        return method.upper()
    raise InvalidArgument(
        f"method must be 'GET' or 'PUT', got {method!r}",
        hint="a GET URL downloads the file, a PUT URL uploads (replaces) it",
    )


def check_expires(expires: object) -> int:
    """Whole seconds from an ``int`` or a ``timedelta``, within 1 .. ``MAX_EXPIRES``."""
    if isinstance(expires, dt.timedelta):
        seconds = int(expires.total_seconds())  # fractions of a second are dropped
    elif isinstance(expires, int) and not isinstance(expires, bool):
        seconds = expires
    else:
        raise InvalidArgument(
            f"expires must be seconds (int) or a datetime.timedelta, got {type(expires).__name__}",
            hint="e.g. expires=600 or expires=timedelta(minutes=10)",
        )
    if not 1 <= seconds <= MAX_EXPIRES:
        raise InvalidArgument(
            f"expires must be 1 to {MAX_EXPIRES} seconds (7 days), got {seconds}",
            hint="sign a new URL when a long-lived one would be needed",
        )
    return seconds


def signed_url(core: StoreCore, path: object, expires: object, method: object) -> str:
    """Validate, gate, then ask the backend to sign ``path`` (see the module docstring)."""
    from storeroom.layers.readonly import refusal  # (imports the Store's modules)

    where = path if isinstance(path, str) else repr(path)
    try:
        verb = check_method(method)
    except InvalidArgument as exc:
        raise core._stamp(exc, "url", where) from None
    needed = (
        (Capability.SIGNED_URL, Capability.WRITE) if verb == "PUT" else (Capability.SIGNED_URL,)
    )
    for cap in needed:
        if not core._has(cap):
            raise refusal(core._backend, cap, "url", path=where, store=core._name)
    key = core._file_key(path)
    try:
        seconds = check_expires(expires)
    except InvalidArgument as exc:
        raise core._stamp(exc, "url", core._rel(key)) from None
    try:
        return core._backend.signed_url(key, seconds, verb)
    except Exception as exc:
        raise core._fail(exc, "url", key)  # noqa: B904 - the error itself, stamped


def masked(url: str) -> str:
    """``url`` safe to record: its signature and credential parameters masked."""
    return mask_url(url)
