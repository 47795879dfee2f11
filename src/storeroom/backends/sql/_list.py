"""Listing of the ``sql-blob`` backend: a keyset-paged range scan of the path index.

Each page (``PAGE`` rows, one query) becomes a list of entries in one tight
loop: names are slices at known offsets, folders are derived by comparing a
row's folder with the previous row's (work only where it changes), etags
come formatted from the database. Memory is bounded by one page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from storeroom.backend import Entry
from storeroom.backends.sql._sql import EMPTY, Prepared, Statements, bounds, meta
from storeroom.models import FileInfo, FolderEntry

__all__ = ["PAGE", "entries"]

#: Rows per listing query: a folder of up to this many entries is one query.
PAGE = 2000

Fetch = Callable[[Prepared, dict[str, Any]], Sequence[Any]]


def entries(
    stmts: Statements, fetch: Fetch, prefix: str, recursive: bool, base: str
) -> Iterator[Entry]:
    """Entries below ``prefix`` in entry order; paths relative to ``base``.

    ``fetch(stmt, params)`` runs one page query. Non-recursive listings yield
    each subfolder once and seek past the rest of it.
    """
    lo, hi = bounds(prefix)
    cut = len(base) + 1 if base else 0
    start = len(lo)
    make, folder_entry, fromts = FileInfo._fast, FolderEntry._fast, datetime.fromtimestamp
    after, inclusive = lo, True
    folder: str | None = None  # non-recursive: the subfolder seen last
    cur = lo[:-1]  # recursive: the folder of the last file
    open_dirs: list[str] = []  # recursive: folders yielded on the current branch
    while True:
        params = {"after": after} if hi is None else {"after": after, "hi": hi}
        rows = fetch(stmts.page(inclusive, hi is not None), params)
        out: list[Entry] = []
        add = out.append
        for path, size, mtime, etag, md in rows:
            if recursive:
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
            info = meta(md) if md else EMPTY
            add(make(path[cut:], name, size, fromts(mtime / 1e6, UTC), etag, None, info))
        yield from out
        if len(rows) < PAGE:
            return
        last = rows[-1][0]
        if folder is not None and last.startswith(f"{lo}{folder}/"):
            after, inclusive = f"{lo}{folder}0", True  # skip the rest of it
        else:
            after, inclusive = last, False
