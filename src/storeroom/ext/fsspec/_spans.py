"""Spans of a file fetched by long reads, held for the reads that follow (spec FSSPEC-010).

pyarrow reads a Parquet file as a few long runs of column chunks, in any
order. A long read fetches twice its length in one request; the span is
kept, so the next run is served from memory. Reads are handed out as views of
the fetched bytes, so a caller that takes buffers (``read_buffer``) gets no copy.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["MAX_SPANS", "Spans"]

#: Spans held at once; the oldest goes first.
MAX_SPANS = 2


class Spans:
    """At most ``MAX_SPANS`` fetched byte spans of one file (newest last)."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: list[tuple[int, memoryview]] = []

    def get(self, start: int, length: int) -> memoryview | None:
        """Bytes ``[start, start + length)`` from a held span, or ``None``."""
        for first, view in reversed(self._held):
            if first <= start and start + length <= first + len(view):
                return view[start - first : start - first + length]
        return None

    def fetch(
        self, start: int, want: int, size: int, fetch: Callable[[int, int], bytes]
    ) -> memoryview:
        """Fetch ``want`` bytes at ``start`` and read ahead; hold the span; return the wanted part.

        Read-ahead is ``want`` more bytes (to ``size`` when less than half of
        ``want`` would be left) and stops where a held span starts, so bytes
        already held are not fetched again. Spans that end at or before
        ``start`` (behind a forward reader) or that the new span covers are dropped.
        """
        end = min(size, start + 2 * want)
        if size - end < want // 2:
            end = size
        for first, _ in self._held:
            if start + want <= first < end:
                end = first
        data = fetch(start, end)
        view = memoryview(data).toreadonly()
        stop = start + len(view)
        self._held = [
            (first, v)
            for first, v in self._held
            if first + len(v) > start and not (start <= first and first + len(v) <= stop)
        ]
        if len(view):
            self._held.append((start, view))
            del self._held[:-MAX_SPANS]
        return view[:want]

    def clear(self) -> None:
        self._held = []

    @property
    def held(self) -> list[tuple[int, int]]:
        """``(start, stop)`` of each held span, oldest first."""
        return [(first, first + len(view)) for first, view in self._held]
