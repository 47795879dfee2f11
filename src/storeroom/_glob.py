"""Portable glob patterns: ``*``, ``?``, ``[...]`` within a segment, ``**`` across segments.

``compile_glob`` returns the fixed folder prefix (the part before the
first magic segment, so a listing touches only that subtree), whether the
match can need more than one level, and a compiled regex over store paths;
``compile_name`` compiles one segment's pattern for matching a single name
(``list_files(pattern=)``).

The regexes cannot backtrack exponentially (spec STORE-027a): a ``*``
followed by a fixed-length run (literals, ``?``, classes) and another ``*``
takes the run's leftmost occurrence in an atomic group, which is always
safe because the next ``*`` absorbs whatever lies between; ``**`` does the
same over whole segments, consecutive ``**`` collapse into one, and every
segment is matched atomically up to its ``/``. Only the last ``*`` (or
``**``) backtracks, over one segment (or over the path's segments) once.
Matching therefore stays polynomial and small in path length, in C speed.
"""

from __future__ import annotations

import re
from functools import lru_cache

from storeroom.errors import InvalidArgument

__all__ = ["compile_glob", "compile_name", "has_magic"]

_MAGIC = re.compile(r"[*?\[]")
_ANY_SEGMENTS = "(?:[^/]++/)"  # one whole segment and its slash; possessive, unambiguous


def has_magic(segment: str) -> bool:
    return _MAGIC.search(segment) is not None


def _bad(pattern: str, why: str) -> InvalidArgument:
    return InvalidArgument(
        f"bad character class in glob pattern {pattern!r}: {why}",
        hint="close every '[' with ']' and write ranges low-high ('[a-z]'); "
        "match a literal '[' with '[[]'",
    )


def _class(seg: str, i: int, pattern: str) -> tuple[str, int]:
    """Regex for the class starting at ``seg[i] == '['`` and the index after its ``]``."""
    n = len(seg)
    j = i + 1
    negate = j < n and seg[j] in "!^"
    if negate:
        j += 1
    start = j
    if j < n and seg[j] == "]":
        j += 1  # a ']' first in the class is a literal
    while j < n and seg[j] != "]":
        j += 1
    if j >= n:
        raise _bad(pattern, f"'[' at position {i} of {seg!r} is never closed")
    body = seg[start:j]
    parts: list[str] = []
    k = 0
    while k < len(body):
        lo = body[k]
        if k + 2 < len(body) and body[k + 1] == "-":
            hi = body[k + 2]
            if hi < lo:
                raise _bad(pattern, f"range {lo}-{hi} runs backwards")
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
            k += 3
        else:
            parts.append(re.escape(lo))
            k += 1
    return ("[^/" if negate else "[") + "".join(parts) + "]", j + 1


def _segment_regex(seg: str, pattern: str) -> str:
    """Regex for one segment: fixed runs joined by stars, stars made non-backtracking."""
    runs: list[list[str]] = [[]]
    i, n = 0, len(seg)
    while i < n:
        c = seg[i]
        if c == "*":
            if runs[-1] or len(runs) == 1:
                runs.append([])  # consecutive stars are one star
            i += 1
        elif c == "?":
            runs[-1].append("[^/]")
            i += 1
        elif c == "[":
            cls, i = _class(seg, i, pattern)
            runs[-1].append(cls)
        else:
            runs[-1].append(re.escape(c))
            i += 1
    if len(runs) == 1:
        return "".join(runs[0])
    head, middle, tail = runs[0], runs[1:-1], runs[-1]
    out = ["".join(head)]
    out.extend(f"(?>[^/]*?{''.join(run)})" for run in middle)
    out.append("[^/]*" + "".join(tail))
    return "".join(out)


def _path_regex(segments: list[str], pattern: str) -> str:
    # Group the pattern as PREFIX (** CHUNK)* [** TAIL]; a trailing '**' means
    # "one or more segments", i.e. '**' followed by a one-segment TAIL.
    groups: list[list[str]] = [[]]  # segment regexes between '**'s
    for seg in segments:
        if seg == "**":
            if groups[-1] or len(groups) == 1:
                groups.append([])
        else:
            groups[-1].append(_segment_regex(seg, pattern))
    if len(groups) > 1 and not groups[-1]:
        groups[-1].append("[^/]+")
    if len(groups) == 1:  # no '**': one fixed sequence of segments
        segs = groups[0]
        if not segs:
            return r"\Z"
        return "".join(f"(?>{s}/)" for s in segs[:-1]) + f"(?>{segs[-1]}\\Z)"
    out = ["".join(f"(?>{s}/)" for s in groups[0])]
    for chunk in groups[1:-1]:
        body = "".join(f"(?>{s}/)" for s in chunk)
        out.append(f"(?>{_ANY_SEGMENTS}*?{body})")
    tail = groups[-1]
    out.append(f"{_ANY_SEGMENTS}*")
    out.append("".join(f"(?>{s}/)" for s in tail[:-1]) + f"(?>{tail[-1]}\\Z)")
    return "".join(out)


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> tuple[str, bool, re.Pattern[str]]:
    """``(prefix, recursive, regex)`` for a normalised glob ``pattern``.

    A malformed character class (never closed, a backwards range) is
    ``InvalidArgument`` naming the pattern.
    """
    segments = pattern.split("/") if pattern else []
    fixed: list[str] = []
    for seg in segments:
        if has_magic(seg):
            break
        fixed.append(seg)
    rest = segments[len(fixed) :]
    recursive = len(rest) > 1 or "**" in rest
    regex = _path_regex(segments, pattern)
    prefix = "/".join(fixed) if rest else "/".join(fixed[:-1])
    return prefix, recursive, re.compile(regex, re.DOTALL)


def compile_name(pattern: str) -> re.Pattern[str]:
    """A regex matching whole names (one segment) against ``pattern`` (``*``, ``?``, ``[...]``).

    A non-``str`` pattern or a malformed class is ``InvalidArgument``.
    """
    if not isinstance(pattern, str):
        raise InvalidArgument(f"pattern must be a str, got {type(pattern).__name__}")
    return _compile_name(pattern)


@lru_cache(maxsize=256)
def _compile_name(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?>{_segment_regex(pattern, pattern)}\\Z)", re.DOTALL)
