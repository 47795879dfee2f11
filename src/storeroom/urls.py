"""``open_store(url, **options)``: one Store from one URL, without a config file (spec URL-*).

The URL is turned into a one-backend, one-store configuration and built by the
Registry, so the Store has exactly the layers (context, retry), option checks
and typed errors of a config-built one. Query parameters are backend options;
their text converts to an option's int, float or bool type the way a
``${VAR}`` value does. Credentials in the URL are masked wherever it is shown.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from storeroom._mask import mask_url, protect_url
from storeroom.config.env import EnvValue, converts_from_env
from storeroom.config.secret import Secret
from storeroom.errors import ConfigError
from storeroom.store import Store

__all__ = ["SAS_PARAMS", "SCHEMES", "QueryValue", "open_store"]

#: URL scheme → backend type. ``postgresql+<driver>`` and ``sqlite+<driver>`` count too.
SCHEMES: Mapping[str, str] = {
    "file": "local",
    "memory": "memory",
    "s3": "s3",
    "sftp": "sftp",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "sqlite": "sql-blob",
    "postgresql": "sql-blob",
    "http": "http",
    "https": "http",
}

#: Query parameters of an Azure shared access signature; together they are ``sas_token``.
SAS_PARAMS = frozenset(
    {
        "sv", "ss", "srt", "sp", "se", "st", "spr", "sig", "sr", "si", "sdd", "ses",
        "skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid",
        "rscc", "rscd", "rsce", "rscl", "rsct",
    }
)  # fmt: skip

_NAME = "url"  # the backend's and (by default) the store's name inside the configuration
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")  # two letters at least: C:\ is a path


class QueryValue(EnvValue):
    """A URL query parameter's text: converted to the option's type like a ``${VAR}`` value."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (QueryValue, (str(self), self.var))

    def origin(self) -> str:
        return f"URL query parameter {self.var!r}"

    def fix(self, expected: str) -> str:
        return f"write ?{self.var}=<{expected}> in the URL, or pass {self.var}= as a keyword"


@dataclass
class _Parsed:
    """What a URL says: the backend type, its options, and the folder inside it."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)
    root: str = ""


def _fail(shown: str, message: str, hint: str | None = None, key: str | None = None) -> ConfigError:
    return ConfigError(f"{shown}: {message}", key=key, hint=hint)


def _query(parts: SplitResult, shown: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for piece in parts.query.split("&") if parts.query else ():
        name, eq, value = piece.partition("=")
        name = unquote(name.replace("+", " "))
        if not name:
            continue
        if not eq:
            raise _fail(shown, f"query parameter {name!r} has no value", key=name)
        pairs.append((name, unquote(value.replace("+", " "))))
    return pairs


def _add(options: dict[str, Any], name: str, value: Any, shown: str) -> None:
    if name in options:
        raise _fail(shown, f"{name}: given twice", key=name)
    options[name] = value


def _params(parsed: _Parsed, pairs: Sequence[tuple[str, str]], shown: str) -> _Parsed:
    for name, value in pairs:
        _add(parsed.options, name, QueryValue(value, name), shown)
    return parsed


def _netloc(parts: SplitResult) -> tuple[str | None, str | None, str]:
    """``(user, password, host[:port])`` of the URL, percent-decoded, case kept."""
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return None, None, host
    user, colon, password = userinfo.partition(":")
    return unquote(user), (unquote(password) if colon else None), host


def _path(parts: SplitResult) -> str:
    return unquote(parts.path).strip("/")


def _local(parts: SplitResult, shown: str) -> _Parsed:
    if parts.netloc not in ("", "localhost"):
        raise _fail(
            shown,
            f"a file URL names a folder on this machine, not on host {parts.netloc!r}",
            hint="write file:///absolute/path (three slashes), or use sftp:// for a server",
        )
    path = unquote(parts.path)
    if not path:
        raise _fail(shown, "a file URL needs a folder path", hint="write file:///absolute/path")
    return _params(_Parsed("local", {"root": path}), _query(parts, shown), shown)


def _memory(parts: SplitResult, shown: str) -> _Parsed:
    root = "/".join(p for p in (unquote(parts.netloc), _path(parts)) if p)
    return _params(_Parsed("memory", root=root), _query(parts, shown), shown)


def _s3(parts: SplitResult, shown: str) -> _Parsed:
    user, password, bucket = _netloc(parts)
    if not bucket:
        raise _fail(shown, "an s3 URL needs a bucket", hint="write s3://bucket/prefix")
    parsed = _Parsed("s3", {"bucket": bucket}, _path(parts))
    if user is not None:
        parsed.options["key"] = user
        if password is not None:
            parsed.options["secret"] = password
    return _params(parsed, _query(parts, shown), shown)


def _sftp(parts: SplitResult, shown: str) -> _Parsed:
    user, password, _host = _netloc(parts)
    if not parts.hostname:
        raise _fail(shown, "an sftp URL needs a host", hint="write sftp://user@host:port/path")
    try:
        port = parts.port
    except ValueError:
        raise _fail(shown, "the port is not a number from 1 to 65535", key="port") from None
    options: dict[str, Any] = {"host": parts.hostname}
    if port is not None:
        options["port"] = port
    if user:
        options["username"] = user
    if password is not None:
        options["password"] = password
    # The path names a folder on the server: absolute, or "~/..." below the login folder.
    path = unquote(parts.path)
    if path.startswith("/~"):
        path = path[2:].strip("/")
    if path.strip("/"):
        options["base_path"] = path.rstrip("/")
    return _params(_Parsed("sftp", options), _query(parts, shown), shown)


def _azure(parts: SplitResult, shown: str) -> _Parsed:
    user, password, host = _netloc(parts)
    if password is not None:
        raise _fail(
            shown,
            "an Azure URL carries no user:password",
            hint="pass account_key= or connection_string=, or put a SAS in the query",
        )
    container = user if user is not None else host
    if not container:
        raise _fail(shown, "an Azure URL needs a container", hint="write az://container/path")
    parsed = _Parsed("azure", {"container": container}, _path(parts))
    if user is not None and host:  # abfs://container@account.dfs.core.windows.net/path
        parsed.options["account_name"] = host.split(".", 1)[0]
    pairs = _query(parts, shown)
    if any(n in SAS_PARAMS for n, _v in pairs):
        from urllib.parse import quote

        token = "&".join(f"{n}={quote(v, safe='')}" for n, v in pairs if n in SAS_PARAMS)
        _add(parsed.options, "sas_token", token, shown)
    return _params(parsed, [(n, v) for n, v in pairs if n not in SAS_PARAMS], shown)


def _sql(parts: SplitResult, shown: str, text: str) -> _Parsed:
    from storeroom.backends.sql.config import SQLBlobOptions  # no SQLAlchemy import

    fields = {f.name for f in dataclasses.fields(SQLBlobOptions) if f.name != "url"}
    kept: list[str] = []
    ours: list[tuple[str, str]] = []
    for piece in parts.query.split("&") if parts.query else ():
        name = unquote(piece.partition("=")[0])
        if name in fields:
            ours.extend(_query(parts._replace(query=piece), shown))
        elif piece:
            kept.append(piece)  # a driver parameter: stays in the SQLAlchemy URL
    base = text.split("?", 1)[0].split("#", 1)[0]
    url = base + ("?" + "&".join(kept) if kept else "")
    return _params(_Parsed("sql-blob", {"url": url}), ours, shown)


def _http(parts: SplitResult, shown: str) -> _Parsed:
    base = f"{parts.scheme}://{parts.netloc}"
    return _params(_Parsed("http", {"base_url": base}, _path(parts)), _query(parts, shown), shown)


_BUILDERS: dict[str, Callable[[SplitResult, str], _Parsed]] = {
    "local": _local,
    "memory": _memory,
    "s3": _s3,
    "sftp": _sftp,
    "azure": _azure,
    "http": _http,
}


def _backend_type(url: str) -> str | None:
    """The backend type a URL's scheme names (``None`` for an unknown scheme)."""
    match = _URL.match(url)
    if match is None:
        return "local"
    scheme = match.group(1).lower()
    dialect, plus, _driver = scheme.partition("+")
    if plus and SCHEMES.get(dialect) == "sql-blob":  # postgresql+psycopg://
        return "sql-blob"
    return SCHEMES.get(scheme)


def _parse_url(url: str, shown: str) -> _Parsed:
    """The backend type, options and root folder a URL (or a plain local path) names."""
    kind = _backend_type(url)
    if kind is None:
        scheme = url.split(":", 1)[0]
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise _fail(
            shown,
            f"unknown URL scheme {scheme!r} (known: {known}, and postgresql+<driver>://)",
            hint="or pass a plain local path",
            key="scheme",
        )
    if _URL.match(url) is None:  # a plain local path
        return _Parsed("local", {"root": url})
    parts = urlsplit(url)
    if parts.fragment:
        raise _fail(shown, "a URL fragment (#...) means nothing here; remove it")
    if kind == "sql-blob":
        return _sql(parts, shown, url)
    if not url.split(":", 1)[1].startswith("//") and kind != "local":
        raise _fail(shown, f"expected {parts.scheme}://...", hint="write the two slashes")
    return _BUILDERS[kind](parts, shown)


def _takes_text(tp: Any) -> bool:
    """Whether an option typed ``tp`` can be written as query text (not a table or list)."""
    import types
    import typing

    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    for arg in typing.get_args(tp) if union else (tp,):
        if arg is str or arg is Secret or converts_from_env(arg):
            return True
        if typing.get_origin(arg) is typing.Literal:
            return True
    return False


def _check_query_types(parsed: _Parsed, shown: str) -> None:
    """A query parameter for a table or list option is refused with the keyword to use."""
    import importlib
    import typing

    from storeroom.backends import BUILTIN_BACKENDS

    module, _, name = BUILTIN_BACKENDS[parsed.type].options_path.partition(":")
    options_cls = getattr(importlib.import_module(module), name)  # imports no SDK
    hints = typing.get_type_hints(options_cls)
    for key, value in parsed.options.items():
        hint = hints.get(options_cls.aliases.get(key, key))
        if isinstance(value, QueryValue) and hint is not None and not _takes_text(hint):
            raise _fail(
                shown,
                f"{key}: takes a table or a list, which a query parameter cannot give",
                hint=f"pass {key}=... as a keyword argument",
                key=key,
            )


def _rewrite(exc: ConfigError, shown: str, store: str) -> ConfigError:
    """Name the URL instead of the internal configuration's key paths."""
    for prefix in (f"backends.{_NAME}.options.", f"backends.{_NAME}.", f"stores.{store}."):
        exc.message = exc.message.replace(prefix, "")
        if exc.key is not None and exc.key.startswith(prefix):
            exc.key = exc.key[len(prefix) :]
    if not exc.message.startswith(shown):
        exc.message = f"{shown}: {exc.message}"
    exc.args = (exc.message,)
    return exc


def open_store(
    url: str | os.PathLike[str],
    *,
    root_path: str = "",
    layers: Sequence[Any] | None = None,
    retry: Any = None,
    name: str | None = None,
    **options: Any,
) -> Store:
    """A Store on the backend ``url`` names; closing the Store closes that backend.

    ``file:///path`` (or a plain path), ``memory://``, ``s3://bucket/prefix``,
    ``sftp://user@host:port/path``, ``az://container/path``, ``sqlite:///f.db``,
    ``postgresql://...``, ``https://host/path``. Keyword ``options`` and query
    parameters are backend options; ``retry`` and ``layers`` build layers as in
    a config file; ``root_path`` goes below the URL's path.
    """
    text = os.fspath(url)
    if not isinstance(text, str) or not text.strip():
        raise ConfigError("open_store: expected a URL or a local path", key="url")
    if _URL.match(text.strip()):
        protect_url(text)  # its password or signature is scrubbed from every message
    shown = mask_url(text)
    store_name = name or _NAME
    try:
        parsed = _parse_url(text.strip(), shown)
        _check_query_types(parsed, shown)
        for key, value in options.items():
            _add(parsed.options, key, value, shown)
        root = "/".join(p for p in (parsed.root, root_path.strip("/")) if p)
        backend: dict[str, Any] = {"type": parsed.type, "options": parsed.options}
        if retry is not None:
            backend["retry"] = retry
        profile = {"backend": _NAME, "root_path": root, "layers": list(layers or ())}
        return _build({"backends": {_NAME: backend}, "stores": {store_name: profile}}, store_name)
    except ConfigError as exc:
        raise _rewrite(exc, shown, store_name) from exc.__cause__


def _build(data: Mapping[str, Any], store_name: str) -> Store:
    from storeroom.config.model import RegistryConfig
    from storeroom.registry import Registry

    config = RegistryConfig.from_dict(data, resolve_env_vars=False)  # URL text is literal
    registry = Registry(config)
    built = registry.get_store(store_name)
    name = None if store_name == _NAME else store_name
    return Store(built.backend, built.root_path, name=name, owns_backend=True)
