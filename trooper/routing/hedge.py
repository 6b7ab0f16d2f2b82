"""When to hedge: each provider's recent times to first token, and the delay they give.

An attempt that has not started answering after the ``hedge_percentile``-th percentile of its
provider's recent times to first token (never less than ``hedge_floor``) is slower than that
provider usually is: the router starts the next provider of the chain alongside it
(``trooper/routing/race.py``). Times are kept per provider, model and mode, because a
non-streaming answer arrives whole: its "first token" is the end of the answer.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import NamedTuple

#: Times kept per provider, model and mode: the most recent, so the delay follows the provider.
HISTORY_SIZE = 50
#: Times needed before the delay adapts. With fewer there is no hedge: the attempt keeps its whole
#: budget, as it did before hedging existed.
MIN_SAMPLES = 5


class Key(NamedTuple):
    provider: str
    model: str
    streaming: bool


class _Times:
    """The last ``HISTORY_SIZE`` times, in arrival order (to drop the oldest) and sorted (to read
    a percentile without sorting on the request path)."""

    __slots__ = ("arrived", "ordered")

    def __init__(self) -> None:
        self.arrived: deque[float] = deque()
        self.ordered: list[float] = []

    def add(self, seconds: float) -> None:
        self.arrived.append(seconds)
        bisect.insort(self.ordered, seconds)
        if len(self.arrived) > HISTORY_SIZE:
            del self.ordered[bisect.bisect_left(self.ordered, self.arrived.popleft())]

    def percentile(self, percent: float) -> float:
        """Nearest rank: the smallest time at least ``percent`` % of the times are no greater than."""
        rank = math.ceil(percent / 100 * len(self.ordered))
        return self.ordered[max(rank, 1) - 1]


class FirstTokenTimes:
    """Recent times to first token per ``Key``, and the hedge delay they give."""

    def __init__(self, percentile: float, floor: float) -> None:
        self.percentile = percentile
        self.floor = floor
        self._times: dict[Key, _Times] = {}

    def record(self, key: Key, seconds: float) -> None:
        times = self._times.get(key)
        if times is None:
            times = self._times[key] = _Times()
        times.add(seconds)

    def hedge_delay(self, key: Key) -> float | None:
        """Seconds after which an attempt without a first token is hedged; None while the
        provider has answered fewer than ``MIN_SAMPLES`` times in this mode."""
        times = self._times.get(key)
        if times is None or len(times.ordered) < MIN_SAMPLES:
            return None
        return max(times.percentile(self.percentile), self.floor)
