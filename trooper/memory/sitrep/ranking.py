"""Weighted mention counts (or scores) kept in rank order, so that the top names cost a slice, not a sort.

The ranking is ``heapq.nlargest(n, counts, key=counts.__getitem__)`` exactly: the highest count
first, and among equal counts the name first inserted into the dict first (``nlargest`` is
stable). A builder asks for it after every turn while a session holds thousands of names, so
the order is kept in a sorted list and only the names counted since the last look are moved.
"""

from __future__ import annotations

from bisect import bisect_left, insort

#: More names changed than this share of the ranking: sorting them all again is cheaper.
_RESORT_SHARE = 4


class Ranking:
    """Names with weighted counts; ``top(n)`` is the ``nlargest`` of the counts."""

    def __init__(self) -> None:
        self._counts: dict[str, float] = {}
        #: Each name's place in the dict's insertion order (what breaks ties).
        self._order: dict[str, int] = {}
        self._next = 0
        #: (-count, order, name) of every name, ascending, as of the last ``top``.
        self._sorted: list[tuple[float, int, str]] = []
        #: Names changed since then, with their entry in ``_sorted`` (None for a new name).
        self._changed: dict[str, tuple[float, int, str] | None] = {}

    def __contains__(self, name: str) -> bool:
        return name in self._counts

    def __getitem__(self, name: str) -> float:
        return self._counts[name]

    def add(self, name: str, weight: float) -> float:
        """Count one more mention of ``name``; its new count."""
        counts = self._counts
        old = counts.get(name)
        if old is None:
            self._order[name] = self._next
            self._next += 1
        self._touch(name, old)
        count = counts[name] = (old or 0.0) + weight
        return count

    def set(self, name: str, value: float) -> None:
        """Give ``name`` the count ``value``, as ``counts[name] = value`` would."""
        counts = self._counts
        old = counts.get(name)
        if old is None:
            self._order[name] = self._next
            self._next += 1
        self._touch(name, old)
        counts[name] = value

    def remove(self, name: str) -> None:
        """Forget ``name``, as ``del counts[name]`` would."""
        self._touch(name, self._counts.pop(name))
        del self._order[name]

    def _touch(self, name: str, count: float | None) -> None:
        """Note that ``name``, counted ``count`` (None: new), is about to change. Only its first
        change since the last ``top`` is noted: its count then is the one ``_sorted`` holds."""
        if name not in self._changed:
            self._changed[name] = None if count is None else (-count, self._order[name], name)

    def top(self, n: int) -> list[str]:
        """The ``n`` names with the highest counts, first inserted first among equals."""
        changed, self._changed = self._changed, {}
        if len(changed) * _RESORT_SHARE > len(self._sorted):
            order = self._order
            self._sorted = sorted((-count, order[name], name) for name, count in self._counts.items())
        else:
            ranked = self._sorted
            for name, entry in changed.items():
                if entry is not None:
                    del ranked[bisect_left(ranked, entry)]
                count = self._counts.get(name)
                if count is not None:
                    insort(ranked, (-count, self._order[name], name))
        return [name for _, _, name in self._sorted[:n]]
