"""The one masking routine for URLs, headers and error chains (spec CONFIG-033..038).

Everything that shows a URL, a header or a native error — config ``repr``
and ``to_dict()``, ``describe()``, ``resolve()``, error messages, the CLI —
goes through here, so there is one notion of "where the credential is".
SQL URLs are parsed by SQLAlchemy's own parser (imported lazily, only when a
SQL URL is shown); other URLs conservatively: everything between ``://`` and
the last ``@`` is user information.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from storeroom.config.secret import Secret, is_secret_key, scrub

__all__ = [
    "CREDENTIAL_PARAMS",
    "SECRET_HEADERS",
    "has_credentials",
    "is_secret_header",
    "is_sql_url",
    "mask_text",
    "mask_url",
    "protect_header",
    "protect_url",
    "safe_repr",
    "scrub_exception",
    "url_secrets",
]

MASK = "***"

#: Query (and fragment) parameter names whose value is a credential.
CREDENTIAL_PARAMS = frozenset(
    {
        "sig",
        "signature",
        "sas",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "client_secret",
        "key",
        "apikey",
        "api_key",
        "api-key",
        "auth",
        "authorization",
        "code",
        "sslpassword",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
    }
)

#: Header names whose value is always a credential (more via ``secret_headers``).
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)

#: Dialects (the part of a scheme before ``+``) whose URLs SQLAlchemy parses.
_SQL_DIALECTS = frozenset(
    {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "cockroachdb"}
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
# A URL inside running text: scheme, "://", then up to white space, a quote or a
# bracket, without trailing punctuation. (Known secrets are scrubbed regardless.)
_PARTS = re.compile(r"([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>(){}]*[^\s'\"<>(){}.,;:!]")


def is_secret_header(name: str, extra: Iterable[str] = ()) -> bool:
    """True for header names whose value is a credential (``Authorization``, ``Cookie``, ...)."""
    lowered = name.strip().lower()
    return lowered in SECRET_HEADERS or lowered in {e.strip().lower() for e in extra}


def _is_credential_param(name: str) -> bool:
    from urllib.parse import unquote  # not at import: it pulls in ipaddress

    lowered = unquote(name).strip().lower()
    return lowered in CREDENTIAL_PARAMS or is_secret_key(lowered.replace("-", "_"))


def _mask_params(text: str) -> str:
    """``a=1&sig=xyz`` → ``a=1&sig=***`` (credential parameters only)."""
    out = []
    for part in re.split(r"([&;])", text):
        name, eq, _value = part.partition("=")
        out.append(f"{name}={MASK}" if eq and _is_credential_param(name) else part)
    return "".join(out)


def _params(text: str) -> Iterator[tuple[str, str]]:
    for part in re.split(r"[&;]", text):
        name, eq, value = part.partition("=")
        if eq:
            yield name, value


def is_sql_url(url: str) -> bool:
    """True when ``url``'s scheme names a SQLAlchemy dialect (``postgresql+psycopg://``)."""
    match = _SCHEME.match(url.strip())
    return match is not None and match.group(1).split("+", 1)[0].lower() in _SQL_DIALECTS


def _mask_generic(url: str) -> str:
    match = _SCHEME.match(url)
    if match is None or not match.group(2):
        if "@" in url:  # "user:pw@host" without a scheme: cannot tell the parts apart
            return MASK
        head, sep, tail = url.partition("?")
        return head + sep + _mask_params(tail) if sep else url
    head, rest = url[: match.end()], url[match.end() :]
    userinfo, at, after = rest.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        shown = f"{user}:{MASK}" if colon and not re.search(r"[/?#@]", user) else MASK
        head, rest = f"{head}{shown}@", after
    parts = _PARTS.match(rest)
    assert parts is not None  # the pattern matches every string
    path, query, fragment = parts.groups()
    out = head + path
    if query is not None:
        out += "?" + _mask_params(query)
    if fragment is not None:
        out += "#" + _mask_params(fragment)
    return out


def _mask_sql(url: str) -> str:
    match = _SCHEME.match(url)
    if match is None or not match.group(2):
        return MASK  # not "scheme://...": nothing can be shown safely
    scheme = match.group(1)
    try:
        from sqlalchemy.engine import make_url
    except ImportError:  # no sql extra: hide every part that could hold a credential
        rest = url[match.end() :]
        _userinfo, at, after = rest.rpartition("@")
        host_path, q, _query = after.partition("?")
        userinfo = MASK + "@" if at else ""
        return f"{scheme}://{userinfo}{host_path}{q and q + MASK}"
    try:
        parsed = make_url(url)
        shown = parsed.render_as_string(hide_password=True)
    except Exception:  # unparsable: never echo it
        return f"{scheme}://{MASK}"
    base, q, query = shown.partition("?")
    return base + q + _mask_params(query) if q else shown


def mask_url(url: str, *, sql: bool | None = None) -> str:
    """``url`` safe to show: password, user information and credential parameters masked.

    ``sql``: parse as a SQLAlchemy URL (``None``: decide by the scheme). Known
    secret values are scrubbed from the result as well.
    """
    text = url.strip()
    use_sql = is_sql_url(text) if sql is None else sql
    masked = _mask_sql(text) if use_sql else _mask_generic(text)
    return scrub(masked)


def has_credentials(url: str) -> bool:
    """True when showing ``url`` would need masking (user information or a credential param)."""
    return "://" in url and _mask_generic(url.strip()) != url.strip()


def url_secrets(url: str) -> list[str]:
    """The credential parts of ``url`` (raw and percent-decoded), for the log/error scrubber.

    Found both the SQLAlchemy way (for SQL URLs, when installed) and the
    conservative way, so a value is known however a consumer splits the URL.
    """
    text = url.strip()
    found: list[str] = []
    match = _SCHEME.match(text)
    rest = text[match.end() :] if match and match.group(2) else text
    userinfo, at, after = rest.rpartition("@")
    if at:
        # A bare user name is not registered: it is shown masked, but scrubbing
        # a common word (a user called "storeroom") from every log line would hurt.
        _user, colon, password = userinfo.partition(":")
        found += [password, userinfo] if colon else []
    for piece in (after if at else rest).split("?", 1)[1:]:
        for part in piece.split("#"):
            found += [v for k, v in _params(part) if _is_credential_param(k)]
    if is_sql_url(text):
        try:
            from sqlalchemy.engine import make_url

            parsed = make_url(text)
        except Exception:  # not installed or unparsable: the conservative parts stand
            pass
        else:
            if parsed.password:
                found.append(str(parsed.password))
            for key, value in parsed.query.items():
                if _is_credential_param(key):
                    found += [value] if isinstance(value, str) else list(value)
    from urllib.parse import unquote

    return sorted({v for f in found if f for v in (f, unquote(f))})


def protect_url(url: str) -> None:
    """Register every credential part of ``url`` with the scrubber (no-op for a clean URL)."""
    for part in url_secrets(url):
        Secret(part)


def protect_header(value: str) -> None:
    """Register a credential header value with the scrubber: whole, its token, its cookies."""
    parts = [value, value.strip().partition(" ")[2]]
    parts += [p.partition("=")[2] for p in value.split(";")]
    for part in parts:
        if part.strip():
            Secret(part.strip())


def mask_text(text: str) -> str:
    """Free text with every URL masked and every known secret value scrubbed."""
    if "://" in text:
        text = _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)
    return scrub(text)


def safe_repr(value: Any) -> str:
    """``repr(value)`` for config objects: strings masked, mappings and tuples walked."""
    if isinstance(value, str):
        return repr(mask_text(value))
    if isinstance(value, Mapping):
        inner = ", ".join(f"{safe_repr(k)}: {safe_repr(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, tuple | list):
        items = [safe_repr(v) for v in value]
        if isinstance(value, tuple):
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    return mask_text(repr(value))


# -- native errors -------------------------------------------------------------------------

_OS_FIELDS = ("strerror", "filename", "filename2")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, tuple):
        return tuple(_clean(v) for v in value)
    return value


def _scrub_one(exc: BaseException) -> None:
    try:
        exc.args = tuple(_clean(a) for a in exc.args)
    except (AttributeError, TypeError):  # pragma: no cover - exotic read-only args
        pass
    names = [n for n, v in getattr(exc, "__dict__", {}).items() if isinstance(v, str | tuple)]
    if isinstance(exc, OSError):
        names += list(_OS_FIELDS)
    for name in names:
        try:
            value = getattr(exc, name)
            cleaned = _clean(value)
            if cleaned != value:
                setattr(exc, name, cleaned)
        except (AttributeError, TypeError):  # read-only or computed attribute
            continue
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [_clean(n) for n in notes]


def scrub_exception(exc: BaseException) -> BaseException:
    """Mask secrets in ``exc`` and its whole ``__cause__``/``__context__`` chain, in place.

    Native (SDK) exceptions stay the same objects — callers may still test
    their type — but their ``args``, string attributes and notes are masked,
    so ``traceback.format_exception`` shows no credential. Returns ``exc``.
    """
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        _scrub_one(current)
        stack += [current.__cause__, current.__context__]
    return exc
