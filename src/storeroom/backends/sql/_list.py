"""Listing of the ``sql-blob`` backend: a keyset-paged range scan of the path index.

Each page (``PAGE`` rows, one query) becomes a list of entries in one loop,
with per-row work kept to what a ``FileInfo`` needs:

* names and relative paths are slices at known offsets;
* the mtime comes from the database in seconds (a double, the same division
  ``when`` does), so only ``datetime.fromtimestamp`` is left per row;
* etags (the version id as 16 hex digits) are formatted for the whole page at
  once: the ids packed as big-endian 64-bit integers, hex-encoded with a
  separator and split, all in C (per row, SQLite's ``printf`` or Python's ``%``
  costs several times more);
* a page with no row below a subfolder (one ``count`` of slashes over its
  joined paths) skips the folder logic; otherwise folders are derived by
  comparing a row's folder with the previous row's (work only where it changes);
* ``FileInfo._fast`` is inlined: the new instance's ``__dict__`` (which shares
  the class's attribute keys) is filled in field order.

Pages are chained in C (``chain.from_iterable``), so handing out an entry
resumes no Python frame here. Memory is bounded by one page. A row whose
path is not a valid store path (inserted by another client) is skipped with
a warning (spec SQL-026); a page is checked with a few substring scans.
``has_entries`` answers ``is_folder``/``exists`` by the same rule, so they
agree with listings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from struct import pack
from typing import TYPE_CHECKING, Any

from storeroom.backend import Entry
from storeroom.backends.sql._sql import EMPTY, Prepared, Statements, bounds, meta
from storeroom.backends.sql.errors import BACKEND
from storeroom.models import _NO_EXTRA, FileInfo, FolderEntry, _new, _str_new
from storeroom.path import RemotePath, is_store_key, listable

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["PAGE", "entries", "fetch_page", "has_entries"]

#: Rows per listing query: a folder of up to this many entries is one query.
PAGE = 2000

Fetch = Callable[[Prepared, dict[str, Any]], Sequence[Any]]

_path_of, _id_of = itemgetter(0), itemgetter(3)


def _suspect(joined: str) -> bool:
    """True when some path of a page (``joined`` with ``/``) may not be a store path.

    Whole-page substring scans in C; exact per-row checks follow only when true.
    """
    wrapped = f"/{joined}/"
    return (
        "//" in wrapped
        or "/./" in wrapped
        or "/../" in wrapped
        or "\x00" in wrapped
        or "\\" in wrapped
    )


def fetch_page(conn: sa.Connection, q: Prepared, params: dict[str, Any]) -> Sequence[Any]:
    """One page query's rows as plain tuples (no ``Row`` objects)."""
    result = q(conn, **params)
    try:
        rows: Sequence[Any] = result.cursor.fetchall()
        return rows
    finally:
        result.close()


def has_entries(stmts: Statements, fetch: Fetch, folder: str, first: str | None) -> bool:
    """Whether a listing of ``folder`` yields anything; ``first`` is a path below it (``None``:
    there is none). Rows that are not store paths do not count, as in listings (SQL-026)."""
    if first is None:
        return False
    if is_store_key(first):  # the common case: one row answers
        return True
    return next(entries(stmts, fetch, folder, True, ""), None) is not None


def entries(
    stmts: Statements, fetch: Fetch, prefix: str, recursive: bool, base: str
) -> Iterator[Entry]:
    """Entries below ``prefix`` in entry order; paths relative to ``base``.

    ``fetch(stmt, params)`` runs one page query (``Statements.page``) when the
    previous page has been handed out.
    Non-recursive listings yield each subfolder once and seek past the rest of it.
    """
    return chain.from_iterable(_pages(stmts, fetch, prefix, recursive, base))


def _pages(
    stmts: Statements, fetch: Fetch, prefix: str, recursive: bool, base: str
) -> Iterator[list[Entry]]:
    lo, hi = bounds(prefix)
    cut = len(base) + 1 if base else 0
    start = len(lo)
    slashes = lo.count("/")  # every path in range starts with ``lo``
    new, str_new, RP, FI = _new, _str_new, RemotePath, FileInfo
    folder_entry, fromts, utc, empty = FolderEntry._fast, datetime.fromtimestamp, UTC, EMPTY
    after, inclusive = lo, True
    folder: str | None = None  # non-recursive: the subfolder seen last
    cur = lo[:-1]  # recursive: the folder of the last file
    open_dirs: list[str] = []  # recursive: folders yielded on the current branch
    while True:
        params = {"after": after} if hi is None else {"after": after, "hi": hi}
        rows = fetch(stmts.page(inclusive, hi is not None), params)
        if not rows:
            return
        full, last = len(rows) == PAGE, rows[-1][0]
        joined = "/".join(map(_path_of, rows))
        if _suspect(joined):  # rare: a row written by another client (SQL-026)
            rows = [row for row in rows if listable(row[0], BACKEND)]
            joined = "/".join(map(_path_of, rows))
        # A page without subfolders (no slash beyond those of ``lo``) needs no
        # per-row folder work; the recursive state may then stay stale, since a
        # folder's paths are contiguous in byte order (a folder left never returns).
        plain = joined.count("/") == (slashes + 1) * len(rows) - 1
        # Etags (16 hex digits of the version id) of the whole page in three C calls.
        tags = pack(f">{len(rows)}q", *map(_id_of, rows)).hex(" ", 8).split(" ") if rows else []
        out: list[Entry] = []
        add = out.append
        for (path, size, seconds, _, md), tag in zip(rows, tags, strict=True):
            if plain:
                name = path[start:]
            elif recursive:
                slash = path.rfind("/")
                if path[:slash] != cur:  # a new folder: yield what opens there
                    cur = path[: max(slash, 0)]
                    parts = cur[start:].split("/") if len(cur) > start else []
                    depth = 0
                    while depth < min(len(parts), len(open_dirs)):
                        if parts[depth] != open_dirs[depth]:
                            break
                        depth += 1
                    del open_dirs[depth:]
                    for seg in parts[depth:]:
                        open_dirs.append(seg)
                        add(folder_entry(f"{lo}{'/'.join(open_dirs)}"[cut:], seg))
                name = path[slash + 1 :]
            else:
                slash = path.find("/", start)
                if slash >= 0:
                    if path[start:slash] != folder:
                        folder = path[start:slash]
                        add(folder_entry(path[cut:slash], folder))
                    continue
                name = path[start:]
            # FileInfo._fast inlined. A new instance's __dict__ shares the class's
            # attribute keys: filling it in field order is cheaper than a dict literal.
            info = new(FI)
            d = info.__dict__
            d["path"] = str_new(RP, path[cut:])
            d["name"] = name
            d["size"] = size
            d["modified_at"] = fromts(seconds, utc)
            d["etag"] = tag
            d["content_type"] = None
            d["metadata"] = meta(md) if md else empty
            d["digest"] = None
            d["extra"] = _NO_EXTRA
            add(info)
        yield out
        if not full:
            return
        if folder is not None and last.startswith(f"{lo}{folder}/"):
            after, inclusive = f"{lo}{folder}0", True  # skip the rest of it
        else:
            after, inclusive = last, False
