"""Portable glob patterns: ``*``, ``?``, ``[...]`` within a segment, ``**`` across segments.

``compile_glob`` returns the fixed folder prefix (the part before the
first magic segment, so a listing touches only that subtree), whether the
match can need more than one level, and a compiled regex over store paths.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compile_glob", "has_magic"]

_MAGIC = re.compile(r"[*?\[]")


def has_magic(segment: str) -> bool:
    return _MAGIC.search(segment) is not None


def _segment_regex(seg: str) -> str:
    out = []
    i, n = 0, len(seg)
    while i < n:
        c = seg[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and seg[j] in "!^":
                j += 1
            if j < n and seg[j] == "]":
                j += 1
            while j < n and seg[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = seg[i + 1 : j].replace("\\", "\\\\")
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append(f"(?!/)[{body}]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def compile_glob(pattern: str) -> tuple[str, bool, re.Pattern[str]]:
    """``(prefix, recursive, regex)`` for a normalised glob ``pattern``."""
    segments = pattern.split("/") if pattern else []
    fixed: list[str] = []
    for seg in segments:
        if has_magic(seg):
            break
        fixed.append(seg)
    rest = segments[len(fixed) :]
    recursive = len(rest) > 1 or "**" in rest
    parts: list[str] = []
    for seg in segments:
        if seg == "**":
            parts.append("(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(seg) + "/")
    regex = "".join(parts)
    regex = regex[:-1] if regex.endswith("/") else regex.removesuffix("/")
    if segments and segments[-1] == "**":
        regex = regex + "[^/]+"  # '**' at the end matches files at any depth
    # Leaf files must not match a hidden prefix: require a full match.
    prefix = "/".join(fixed) if rest else "/".join(fixed[:-1])
    return prefix, recursive, re.compile(regex + r"\Z", re.DOTALL)
