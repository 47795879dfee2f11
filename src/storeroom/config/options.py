"""Typed, frozen per-backend option classes (spec CONFIG-020..029).

Each backend declares its options as a frozen dataclass deriving from
``BackendOptions``. ``BackendOptions.parse`` turns a raw options
mapping into that class: unknown keys, missing required keys and wrong
types are ``ConfigError`` naming the key path and what is expected.
Credential fields are typed ``Secret`` and masked in ``repr``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, Union

from storeroom.config.env import EnvValue, converts_from_env, from_env
from storeroom.config.frozen import FrozenDict, freeze
from storeroom.config.secret import Secret, from_foreign
from storeroom.errors import ConfigError

__all__ = ["BackendOptions", "code_object", "describe_type"]

OptT = TypeVar("OptT", bound="BackendOptions")


def describe_type(tp: Any) -> str:
    """Human wording for a type annotation, used in error messages."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        names = [describe_type(a) for a in typing.get_args(tp) if a is not type(None)]
        return " or ".join(names)
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (dict, Mapping, typing.Mapping):
        return "a table"
    if origin in (list, tuple):
        return "a list"
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        Secret: "a string (secret)",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def code_object(what: str, example: str, *, secret: bool = False) -> dict[str, Any]:
    """Field metadata of an option taking a Python object (``what``), given from code only.

    Use as ``dataclasses.field(default=None, metadata=code_object(...))``. A
    config file cannot hold one: a plain value there is a ``ConfigError``
    telling to build the backend in code (``example``). ``secret``: the value
    is masked in ``repr``; other objects show only their type.
    """
    return {"code_object": what, "example": example, "secret": secret}


#: What a config file (TOML, YAML, JSON, environment) can hold.
_PLAIN = (str, int, float, bool, list, tuple, Mapping, Secret, EnvValue)


def _code_only(f: dataclasses.Field[Any], value: Any, where: str) -> Any:
    """``value`` for a ``code_object`` option: an object from code, never a config value."""
    if value is None or not isinstance(value, _PLAIN):
        return value
    raise ConfigError(
        f"{where}: expects {f.metadata['code_object']}, a Python object a config file "
        f"cannot hold (got {type(value).__name__})",
        key=where,
        hint=f"build the backend in code and pass the object there, e.g. {f.metadata['example']}",
    )


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against annotation ``tp``; allow lossless widenings only.

    A value that was wholly one ``${VAR}`` is converted to an int, float or bool
    option's type (spec CONFIG-013); other strings are never converted.
    """
    foreign = from_foreign(value, where)
    if foreign is not None:
        value = foreign
    if tp is str and isinstance(value, Secret):
        # The loader wraps a URL carrying a credential in a Secret (CONFIG-033);
        # a plain-string option takes its value, and masks it when shown.
        return value.reveal()
    origin = typing.get_origin(tp)
    if isinstance(value, EnvValue):
        if converts_from_env(tp):
            return from_env(value, tp, where)
        if tp is str:
            return str(value)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        if isinstance(value, EnvValue) and str not in args:
            targets = [a for a in args if converts_from_env(a)]
            for target in targets[:-1]:
                try:
                    return from_env(value, target, where)
                except ConfigError:
                    continue
            if targets:
                return from_env(value, targets[-1], where)
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(
            f"{where}: expected {describe_type(tp)}, got {type(value).__name__}", key=where
        )
    if origin is typing.Literal:
        if value in typing.get_args(tp):
            return value
        raise ConfigError(f"{where}: expected one of {describe_type(tp)}, got {value!r}", key=where)
    if origin in (dict, Mapping, typing.Mapping):
        if isinstance(value, Mapping):
            return freeze(dict(value))
        raise ConfigError(f"{where}: expected a table, got {type(value).__name__}", key=where)
    if origin in (tuple, list):
        if isinstance(value, list | tuple):
            return tuple(value)
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}", key=where)
    if tp is Secret:
        if isinstance(value, Secret):
            return value
        if isinstance(value, str):
            return Secret(value)
        # Never echo the value: it may be a credential.
        raise ConfigError(
            f"{where}: expected a string (secret), got {type(value).__name__}", key=where
        )
    if tp is Any or tp is object:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, bool):
        raise ConfigError(f"{where}: expected an integer, got a boolean", key=where)
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    raise ConfigError(
        f"{where}: expected {describe_type(tp)}, got {type(value).__name__} {value!r}",
        key=where,
    )


@dataclasses.dataclass(frozen=True)
class BackendOptions:
    """Base class of per-backend option classes.

    Subclasses are frozen dataclasses. ``aliases`` maps accepted alternative
    spellings to field names (for remote-store compatibility).
    """

    aliases: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Set before @dataclass runs, so it keeps this masked repr (CONFIG-034).
        if "__repr__" not in cls.__dict__:
            cls.__repr__ = BackendOptions.__repr__  # type: ignore[method-assign]

    def __repr__(self) -> str:
        """Fields as ``name=value``; URLs masked, every known secret scrubbed."""
        from storeroom._mask import safe_repr

        def show(f: dataclasses.Field[Any]) -> str:
            value = getattr(self, f.name)
            if value is not None and f.metadata.get("secret") and not isinstance(value, Secret):
                return "'***'"
            if value is not None and "code_object" in f.metadata:
                return f"<{type(value).__name__} object>"
            return safe_repr(value)

        shown = (f"{f.name}={show(f)}" for f in dataclasses.fields(self))
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def parse(cls: type[OptT], options: Mapping[str, Any], *, where: str = "options") -> OptT:
        """Validate ``options`` and build the typed object.

        ``where`` is the key path used in messages, e.g.
        ``"storeroom.toml: backends.main.options"``.
        """
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"{where}: expected a table of options, got {type(options).__name__}", key=where
            )
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        values: dict[str, Any] = {}
        given_as: dict[str, str] = {}
        for raw_key, value in options.items():
            key = cls.aliases.get(raw_key, raw_key)
            if key not in fields:
                import difflib

                close = difflib.get_close_matches(str(raw_key), list(fields), n=1)
                tip = f"; did you mean {close[0]!r}?" if close else ""
                known = ", ".join(sorted(fields)) or "none"
                raise ConfigError(
                    f"{where}.{raw_key}: unknown option for backend type "
                    f"{cls.backend_type()!r}{tip} (known options: {known})",
                    key=f"{where}.{raw_key}",
                )
            if "code_object" in fields[key].metadata:
                coerced = _code_only(fields[key], value, f"{where}.{raw_key}")
            else:
                coerced = _coerce(value, hints[key], f"{where}.{raw_key}")
            if key in values:
                # An option and its alias are one option: the same value twice is fine.
                if values[key] != coerced:
                    raise ConfigError(
                        f"{where}.{raw_key}: {given_as[key]!r} and {raw_key!r} are one option "
                        "and were given different values",
                        key=f"{where}.{raw_key}",
                        hint="keep one of the two names",
                    )
                continue
            values[key] = coerced
            given_as[key] = str(raw_key)
        missing = [
            name
            for name, f in fields.items()
            if name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        if missing:
            raise ConfigError(
                f"{where}: missing required option(s) {', '.join(repr(m) for m in missing)} "
                f"for backend type {cls.backend_type()!r}",
                key=f"{where}.{missing[0]}",
            )
        try:
            return cls(**values)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}", key=where) from None

    @classmethod
    def backend_type(cls) -> str:
        """The backend type name, for messages; subclasses may override."""
        return cls.__name__.removesuffix("Options").lower()

    def to_dict(self) -> dict[str, Any]:
        """Plain options mapping; ``parse(to_dict())`` round-trips.

        Secrets stay wrapped, and a string URL carrying a credential is handed
        out as a ``Secret`` too (CONFIG-034).
        """
        from storeroom._mask import has_credentials

        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, FrozenDict):
                value = dict(value)
            elif isinstance(value, str) and has_credentials(value):
                value = Secret(value)
            out[f.name] = value
        return out
