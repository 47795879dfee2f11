"""``Secret``: a credential that never shows itself, and a logging redaction filter."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = [
    "Secret",
    "SecretRedactionFilter",
    "foreign_secret",
    "from_foreign",
    "is_secret_key",
    "reveal",
    "scrub",
]

_SECRET_NAMES = frozenset(
    {
        "password",
        "password2",  # rclone crypt's salt password
        "secret",
        "key",
        "token",
        "account_key",
        "sas_token",
        "connection_string",
        "passphrase",
        "client_secret",
        "credential",
        "credentials",
        "pkey",
        "aws_secret_access_key",
    }
)
_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_key", "_passphrase")

# Every plain value ever wrapped, so the log filter can scrub it. Values are
# kept only in this process's memory, never written anywhere.
_KNOWN: set[str] = set()
_KNOWN_LOCK = threading.Lock()
_pattern: re.Pattern[str] | None = None


def is_secret_key(name: str) -> bool:
    """True for option names that hold credentials (``password``, ``*_token``, ...)."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


def foreign_secret(value: Any) -> str | None:
    """The text of a pydantic ``SecretStr``/``SecretBytes`` (or alike), else ``None``.

    Duck-typed on ``get_secret_value()``, so pydantic is never imported here.
    ``SecretBytes`` must hold UTF-8 text (secrets are text); otherwise ``TypeError``.
    """
    if isinstance(value, str | bytes) or not callable(
        getattr(type(value), "get_secret_value", None)
    ):
        return None
    plain = value.get_secret_value()
    if isinstance(plain, bytes):
        try:
            plain = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise TypeError(
                "a SecretBytes value must be UTF-8 text to be used as a secret"
            ) from None
    if not isinstance(plain, str):
        raise TypeError(f"{type(value).__name__}.get_secret_value() did not return text")
    return plain


def from_foreign(value: Any, where: str) -> Secret | None:
    """A pydantic ``SecretStr``/``SecretBytes`` as a ``Secret``, else ``None``.

    A value that is not text is a ``ConfigError`` naming ``where`` (never the value).
    """
    try:
        plain = foreign_secret(value)
    except TypeError as exc:
        from storeroom.errors import ConfigError

        raise ConfigError(f"{where}: {exc}", key=where) from None
    return None if plain is None else Secret(plain)


class Secret:
    """A credential value. ``repr``/``str`` show ``Secret('***')``; use ``reveal``.

    Built from a string, another ``Secret`` or a pydantic ``SecretStr``/``SecretBytes``.

    Immutable for real: the value lives in a slot whose attribute name is
    removed from the class, so neither ``setattr``/``delattr`` nor
    ``object.__setattr__`` can reach it, and ``__init__`` runs only once.
    ``copy``, ``deepcopy`` and ``pickle`` give an equal ``Secret``.
    """

    __slots__ = ("_value",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("Secret cannot be subclassed")

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        foreign = foreign_secret(value)
        if foreign is not None:  # pydantic's SecretStr / SecretBytes
            value = foreign
        if not isinstance(value, str):
            raise TypeError("Secret wraps a string")
        try:
            _SLOT.__get__(self, Secret)
        except AttributeError:
            _SLOT.__set__(self, value)
        else:
            raise AttributeError("Secret is immutable")
        if len(value) >= 4:  # too-short values would scrub ordinary text
            global _pattern
            with _KNOWN_LOCK:
                if value not in _KNOWN:
                    _KNOWN.add(value)
                    _pattern = None

    def reveal(self) -> str:
        """The plain value, for handing to an SDK. Never log it."""
        value: str = _SLOT.__get__(self, Secret)
        return value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.reveal() == self.reveal()

    def __hash__(self) -> int:
        return hash(("Secret", self.reveal()))

    def __bool__(self) -> bool:
        return bool(self.reveal())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self.reveal(),))


# The slot's descriptor, kept here and removed from the class: the value can be
# read and set only through it, never through an attribute name.
_SLOT: Any = Secret.__dict__["_value"]
delattr(Secret, "_value")


def reveal(value: str | Secret | None) -> str | None:
    """Plain string from a ``Secret`` or a plain string; ``None`` passes through."""
    return value.reveal() if isinstance(value, Secret) else value


def _scrub_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _KNOWN_LOCK:
        if _pattern is None and _KNOWN:
            alts = sorted(_KNOWN, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(v) for v in alts))
        return _pattern


def scrub(text: str) -> str:
    """Replace every known secret value in ``text`` with ``***``."""
    pattern = _scrub_pattern()
    return pattern.sub("***", text) if pattern is not None else text


class SecretRedactionFilter:
    """Logging filter that masks any known secret value in a record's message and args.

    Add it to a handler or logger (``handler.addFilter(SecretRedactionFilter())``)
    to cover messages from SDKs too. It is a plain object with ``filter(record)``,
    which ``logging`` accepts, so this module does not import logging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _scrub_pattern() is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        for attr, value in list(record.__dict__.items()):
            if isinstance(value, str) and attr not in ("msg", "name", "levelname", "pathname"):
                new = scrub(value)
                if new != value:
                    setattr(record, attr, new)
        return True
