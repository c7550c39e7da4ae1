"""A sparse map of integer ranges: file extent maps, the block allocator's free space, rmap.

Each range ``[start, start+length)`` carries a ``tag`` and a ``base``; the value at ``x`` is
``(tag, base + x - start)``.  A 1 TiB device costs what its ranges cost, not what it holds.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Iterator
from typing import Any


class RangeMap:
    __slots__ = ("ranges", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ranges: dict[int, tuple[int, Any, int]] = {}  # start -> (length, tag, base)

    def __len__(self) -> int:
        return len(self.starts)

    def lookup(self, x: int) -> tuple[Any, int] | None:
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return None
        s = self.starts[i]
        length, tag, base = self.ranges[s]
        if x < s + length:
            return tag, base + x - s
        return None

    def find(self, x: int) -> tuple[int, int, Any, int] | None:
        """The range holding ``x``: (start, length, tag, base)."""
        i = bisect_right(self.starts, x) - 1
        if i < 0:
            return None
        s = self.starts[i]
        length, tag, base = self.ranges[s]
        if x < s + length:
            return s, length, tag, base
        return None

    def items(self) -> Iterator[tuple[int, int, Any, int]]:
        for s in self.starts:
            length, tag, base = self.ranges[s]
            yield s, length, tag, base

    def overlapping(self, start: int, length: int) -> list[tuple[int, int, Any, int]]:
        """Pieces of ranges within [start, start+length), clipped."""
        end = start + length
        out = []
        i = max(bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts):
            s = self.starts[i]
            if s >= end:
                break
            ln, tag, base = self.ranges[s]
            lo, hi = max(s, start), min(s + ln, end)
            if lo < hi:
                out.append((lo, hi - lo, tag, base + lo - s))
            i += 1
        return out

    def remove(self, start: int, length: int) -> None:
        end = start + length
        for s, _ln, _tag, _base in self.overlapping(start, length):
            # s..s+ln is the clipped piece; find the stored range containing it
            found = self.find(s)
            assert found is not None
            fs, fl, ftag, fbase = found
            del self.ranges[fs]
            self.starts.remove(fs)
            if fs < start:
                self._put(fs, start - fs, ftag, fbase)
            fend = fs + fl
            if fend > end:
                self._put(end, fend - end, ftag, fbase + end - fs)

    def add(self, start: int, length: int, tag: Any, base: int = 0, merge: bool = True) -> None:
        """Insert a range (the space must be free); merges with neighbours that continue it."""
        if length <= 0:
            return
        if merge:
            i = bisect_right(self.starts, start) - 1
            if i >= 0:
                ps = self.starts[i]
                pl, pt, pb = self.ranges[ps]
                if ps + pl == start and pt == tag and pb + pl == base:
                    del self.ranges[ps]
                    self.starts.pop(i)
                    start, length, base = ps, pl + length, pb
            j = bisect_right(self.starts, start)
            if j < len(self.starts):
                ns = self.starts[j]
                nl, nt, nb = self.ranges[ns]
                if start + length == ns and nt == tag and base + length == nb:
                    del self.ranges[ns]
                    self.starts.pop(j)
                    length += nl
        self._put(start, length, tag, base)

    def _put(self, start: int, length: int, tag: Any, base: int) -> None:
        insort(self.starts, start)
        self.ranges[start] = (length, tag, base)

    def total(self) -> int:
        return sum(v[0] for v in self.ranges.values())
