"""The storeroom exception hierarchy.

Every failure a Store raises is a ``StoreroomError``. Each class also
derives from the builtin exception a Python programmer would expect
(``NotFound`` is a ``FileNotFoundError``, ...), so ``except OSError`` style code
keeps working. Errors carry context (store-relative ``path``, ``backend``,
``operation``) and a ``retryable`` flag that the retry layer trusts; they never
carry secrets.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AlreadyExists",
    "BackendUnavailable",
    "CapabilityNotSupported",
    "ConfigError",
    "DatasetIncomplete",
    "DecryptionError",
    "DirectoryNotEmpty",
    "InvalidArgument",
    "InvalidPath",
    "ManifestCorrupted",
    "NotFound",
    "PermissionDenied",
    "PreconditionFailed",
    "RemoteStoreError",
    "ResourceLocked",
    "StoreroomError",
    "UnexpectedError",
]


class StoreroomError(Exception):
    """Base class of every storeroom error.

    ``message`` says what went wrong and, where it helps, what to do next.
    ``path`` is store-relative, ``backend`` the backend type (``"local"``),
    ``operation`` the Store or primitive name, ``store`` the registry name.
    ``retryable`` tells the retry layer whether trying again can succeed;
    ``retry_after`` is a server hint in seconds; ``attempts`` is filled in by
    the retry layer.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str = "",
        *,
        path: str | None = None,
        backend: str | None = None,
        operation: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        attempts: int | None = None,
        hint: str | None = None,
        store: str | None = None,
    ) -> None:
        # One positional argument keeps OSError-derived subclasses from
        # interpreting (errno, strerror) pairs.
        if message or hint:  # a known secret never reaches a message (ERR-006)
            from storeroom.config.secret import scrub

            message = scrub(message)
            hint = scrub(hint) if hint else hint
        super().__init__(message)
        self.message = message
        self.path = path
        self.backend = backend
        self.operation = operation
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = attempts
        self.hint = hint
        self.store = store

    def with_context(
        self,
        *,
        path: str | None = None,
        backend: str | None = None,
        operation: str | None = None,
        store: str | None = None,
    ) -> StoreroomError:
        """Fill in context fields that are still empty; returns ``self``."""
        if self.store is None and store is not None:
            self.store = store
        if self.path is None and path is not None:
            self.path = path
        if self.backend is None and backend is not None:
            self.backend = backend
        if self.operation is None and operation is not None:
            self.operation = operation
        return self

    def __str__(self) -> str:
        parts = [self.message or type(self).__name__]
        ctx = []
        if self.path is not None:
            ctx.append(f"path={self.path!r}")
        if self.store is not None:
            ctx.append(f"store={self.store!r}")
        if self.backend is not None:
            ctx.append(f"backend={self.backend!r}")
        if self.operation is not None:
            ctx.append(f"operation={self.operation!r}")
        if self.attempts is not None and self.attempts > 1:
            ctx.append(f"attempts={self.attempts}")
        if ctx:
            parts.append(f"[{', '.join(ctx)}]")
        if self.hint:
            parts.append(f"— {self.hint}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only context must survive pickling (multiprocessing, Dask).
        return (_rebuild, (type(self), self.message, self.__dict__.copy()))


def _rebuild(cls: type[StoreroomError], message: str, state: dict[str, Any]) -> StoreroomError:
    err = cls(message)
    err.__dict__.update(state)
    return err


class NotFound(StoreroomError, FileNotFoundError):
    """The file or folder does not exist."""


class AlreadyExists(StoreroomError, FileExistsError):
    """The target exists and ``overwrite=True`` was not given."""


class PermissionDenied(StoreroomError, PermissionError):
    """The backend refused access (credentials, ACLs, file modes)."""


class InvalidPath(StoreroomError, ValueError):
    """The path is malformed, escapes the root, or has the wrong kind (file vs folder)."""


class InvalidArgument(StoreroomError, TypeError, ValueError):
    """An argument other than the path is wrong (content type, range, depth)."""


class CapabilityNotSupported(StoreroomError, NotImplementedError):
    """The backend does not offer this operation; raised before any I/O."""

    def __init__(self, message: str = "", *, capability: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.capability = capability


class DirectoryNotEmpty(StoreroomError, OSError):
    """A folder delete without ``recursive=True`` found content."""


class BackendUnavailable(StoreroomError, ConnectionError):
    """The backend could not be reached or timed out; usually worth retrying."""

    retryable = True


class ConfigError(StoreroomError, ValueError):
    """The configuration is invalid.

    ``key`` is the dotted key path alone (``backends.main.options.port``);
    ``file`` is the config file it came from, when there is one. ``str()``
    starts with the file, so the message names both.
    """

    def __init__(
        self, message: str = "", *, key: str | None = None, file: str | None = None, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.key = key
        self.file = file

    def in_file(self, file: str | None) -> ConfigError:
        """Record the config file if none is set yet; returns ``self``."""
        if self.file is None and file is not None:
            self.file = file
        return self

    def __str__(self) -> str:
        text = super().__str__()
        if self.file and not text.startswith(f"{self.file}:"):
            return f"{self.file}: {text}"
        return text


class ResourceLocked(StoreroomError):
    """Another session holds the resource (e.g. an open co-authoring lock); not retried."""


class PreconditionFailed(StoreroomError):
    """A conditional write or delete found another etag (or no file) than ``expected``.

    Nothing was changed. ``expected`` is the etag the caller passed as
    ``if_match``; never retried by the retry layer (re-read, then decide).
    """

    def __init__(self, message: str = "", *, expected: str | None = None, **kw: Any) -> None:
        kw.setdefault(
            "hint",
            "the file changed since you read it: read it again (store.head(path).etag) "
            "and retry with the new etag",
        )
        super().__init__(message, **kw)
        self.expected = expected


#: remote-store's name for the base class: the same class (spec COMPAT-003).
RemoteStoreError = StoreroomError


class DatasetIncomplete(StoreroomError):
    """A dataset cannot be read whole: its manifest lists a part that is missing,
    or its folder holds parts but no manifest (an interrupted first write)."""


class ManifestCorrupted(StoreroomError, ValueError):
    """A dataset manifest exists but is not valid JSON or not a valid manifest.

    ``reason`` names the specific fault (``"invalid JSON"``, ``"field 'parts'
    must be a list of strings"``, ...).
    """

    def __init__(self, message: str = "", *, reason: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.reason = reason


class UnexpectedError(StoreroomError):
    """A backend failed in a way its error table does not know; ``__cause__`` has the original."""


class DecryptionError(StoreroomError, ValueError):
    """Encrypted content could not be opened: a wrong password, or the data was changed.

    Raised by the ``crypt`` layer instead of returning unverified bytes.
    """
