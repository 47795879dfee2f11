"""Statements of the ``sql-blob`` backend, compiled once per backend, and small helpers.

Every hot statement is a ``Prepared``: compiled for the engine's dialect when
the backend is built and run with ``exec_driver_sql``, so a call costs no
statement construction and no cache-key walk. Etags are the version id as 16
hex digits (``etag``), formatted in Python: SQLite's ``printf`` per row costs
more than that.
"""

from __future__ import annotations

import json
import random
import types
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from storeroom.backends.sql._schema import Tables
from storeroom.backends.sql.errors import BACKEND
from storeroom.errors import StoreroomError

__all__ = ["Prepared", "Statements", "bounds", "err", "etag", "meta", "new_id", "when"]

EMPTY: Mapping[str, str] = types.MappingProxyType({})
_rand = random.SystemRandom()
_fromts = datetime.fromtimestamp


def new_id() -> int:
    """A fresh version id (random, 63 bits: collisions are not a practical concern)."""
    return _rand.getrandbits(63) or 1


def when(us: int) -> datetime:
    """UTC time of ``us`` microseconds since the epoch (exact: the float error is < 0.5 µs)."""
    return _fromts(us / 1e6, UTC)


def etag(vid: int) -> str:
    """The etag of version ``vid``: its 64 bits as 16 lower-case hex digits.

    Listings format a whole page at once (``_list``), with the same result.
    """
    return f"{vid & 0xFFFF_FFFF_FFFF_FFFF:016x}"


def meta(text: str | None) -> Mapping[str, str]:
    return types.MappingProxyType(json.loads(text)) if text else EMPTY


def bounds(key: str) -> tuple[str, str | None]:
    """Index range ``[lo, hi)`` holding exactly the paths below folder ``key``."""
    return (key + "/", key + "0") if key else ("", None)


def err(cls: type[StoreroomError], message: str, key: str, hint: str | None = None) -> Any:
    return cls(message, path=key, backend=BACKEND, hint=hint)


class Prepared:
    """A statement compiled once for one dialect, run with ``exec_driver_sql``.

    Values bound at build time (``LIMIT``) are kept. Errors, events and
    connection invalidation behave as with ``Connection.execute``.
    """

    __slots__ = ("_fixed", "_names", "sql")

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        self._names = tuple(compiled.positiontup or ()) if compiled.positional else None
        self._fixed = {k: b.value for k, b in compiled.binds.items() if b.value is not None}

    def __call__(self, conn: sa.Connection, **params: Any) -> Any:
        """The ``CursorResult`` of running the statement with ``params``."""
        if self._fixed:
            params = {**self._fixed, **params}
        if self._names is None:
            return conn.exec_driver_sql(self.sql, params)
        return conn.exec_driver_sql(self.sql, tuple([params[n] for n in self._names]))


def _p(name: str, type_: Any = None) -> Any:
    return sa.bindparam(name, type_=type_)


class Statements:
    """The prepared statements of one backend (tables ``t``, ``dialect``)."""

    def __init__(self, t: Tables, dialect: Dialect, page: int) -> None:
        f, c = t.files, t.chunks
        self._dialect, self._f = dialect, f
        self.pg = dialect.name == "postgresql"
        self._page = page
        #: The columns of a FileInfo: path, size, mtime (µs), version id (the etag), meta.
        self.cols = (f.c.path, f.c.size, f.c.mtime, f.c.id, f.c.meta)
        # Listing pages get the mtime in seconds as a double, divided by the database:
        # the same IEEE division as ``when`` does (exact below 2**53 µs), one less
        # Python operation per row.
        million = sa.literal_column("1e6::float8" if self.pg else "1e6", sa.Float)
        seconds = f.c.mtime.op("/", return_type=sa.Float)(million)
        self._list_cols = (f.c.path, f.c.size, seconds, f.c.id, f.c.meta)
        prep = self.prep
        at = f.c.path == _p("k")
        lock = self.lock
        self.stat = prep(sa.select(*self.cols[1:]).where(at))
        below = sa.and_(f.c.path >= _p("lo"), f.c.path < _p("hi"))
        # Some path below a folder (a file there, or a folder if it is a store path, SQL-026).
        first_below = sa.select(f.c.path).where(below).limit(1)
        self.exists = prep(sa.select(sa.exists().where(at), first_below.scalar_subquery()))
        self.below = prep(first_below)
        self.below_root = prep(sa.select(f.c.path).limit(1))
        key = sa.and_(c.c.file_id == _p("i"), c.c.seq == _p("s"))
        self.chunk = prep(sa.select(c.c.data).where(key))
        self.slice = prep(
            sa.select(
                sa.func.substr(
                    c.c.data,
                    sa.cast(_p("o"), sa.Integer),
                    sa.cast(_p("n"), sa.Integer),
                    type_=sa.LargeBinary,
                )
            ).where(key)
        )
        # The file row and the needed slice of its first needed chunk, in one query.
        start = _p("start", sa.BigInteger)
        first = sa.func.substr(
            c.c.data,
            sa.cast((start % f.c.chunk_size) + 1, sa.Integer),
            sa.cast(_p("n", sa.BigInteger), sa.Integer),
            type_=sa.LargeBinary,
        )
        on = sa.and_(c.c.file_id == f.c.id, c.c.seq == start // f.c.chunk_size)
        head = (f.c.id, f.c.size, f.c.chunk_size)
        self.open = prep(sa.select(*head, first).select_from(f.outerjoin(c, on)).where(at))
        on0 = sa.and_(c.c.file_id == f.c.id, c.c.seq == 0)
        self.open_all = prep(sa.select(*head, c.c.data).select_from(f.outerjoin(c, on0)).where(at))
        # Writes.
        self.find = prep(lock(sa.select(f.c.id, f.c.size <= f.c.chunk_size).where(at)))
        self.source = prep(lock(sa.select(f.c.id, f.c.size, f.c.chunk_size, f.c.meta).where(at)))
        self.insert = prep(f.insert())
        ins = (postgresql.insert if self.pg else sqlite.insert)(f)
        self.claim = prep(ins.on_conflict_do_nothing().returning(f.c.id))
        self.put = prep(c.insert())
        new = {n: _p(f"n_{n}") for n in ("id", "size", "mtime", "chunk_size", "meta")}
        self.swap = prep(sa.update(f).where(f.c.id == _p("old")).values(**new))
        self.resize = prep(sa.update(f).where(f.c.id == _p("n_id")).values(size=_p("n_size")))
        self.rewrite0 = prep(
            sa.update(c)
            .where(c.c.file_id == _p("old"), c.c.seq == 0)
            .values(file_id=_p("n_id"), data=_p("d"))
        )
        self.drop = prep(sa.delete(c).where(c.c.file_id == _p("old")))
        self.drop_row = prep(sa.delete(f).where(f.c.id == _p("old")))
        self.delete = prep(sa.delete(f).where(at).returning(f.c.id))
        copied = sa.select(_p("n_id", sa.BigInteger), c.c.seq, c.c.data).where(
            c.c.file_id == _p("old")
        )
        self.copy = prep(c.insert().from_select(["file_id", "seq", "data"], copied))
        self.rename = prep(sa.update(f).where(f.c.id == _p("old")).values(path=_p("dst")))
        self._pages: dict[tuple[bool, bool], Prepared] = {}
        self._conflicts: dict[int, Prepared] = {}

    def prep(self, stmt: Any) -> Prepared:
        return Prepared(stmt, self._dialect)

    def lock(self, q: Any) -> Any:
        """``q`` locking its rows (``FOR UPDATE``) on PostgreSQL; SQLite's write lock suffices."""
        return q.with_for_update() if self.pg else q

    def page(self, inclusive: bool, bounded: bool) -> Prepared:
        """One listing page: rows from ``after`` (``>=`` or ``>``) up to ``hi``, by path.

        Columns: path, size, mtime in seconds (float), version id, meta.
        """
        q = self._pages.get((inclusive, bounded))
        if q is None:
            path = self._f.c.path
            cond = path >= _p("after") if inclusive else path > _p("after")
            if bounded:
                cond = sa.and_(cond, path < _p("hi"))
            stmt = sa.select(*self._list_cols).where(cond).order_by(path).limit(self._page)
            q = self._pages[inclusive, bounded] = self.prep(stmt)
        return q

    def conflicts(self, depth: int) -> Prepared:
        """Files that are parents (``p0``..) of a new name, or below it (``lo``..``hi``)."""
        q = self._conflicts.get(depth)
        if q is None:
            path = self._f.c.path
            cond: Any = sa.and_(path >= _p("lo"), path < _p("hi"))
            if depth:
                cond = sa.or_(path.in_([_p(f"p{i}") for i in range(depth)]), cond)
            q = self.prep(self.lock(sa.select(path).where(cond).limit(1)))
            self._conflicts[depth] = q
        return q
