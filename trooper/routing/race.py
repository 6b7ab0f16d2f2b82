"""Hedged attempts: when the provider trying a turn is slow to start answering, the next one starts
too, and the first to start answering wins.

A ``Race`` runs the attempts of one turn (or of one rescue of a broken stream) down the chain of
providers its ``Turn`` gives it. The first *leg* runs in the caller's task, so a turn nothing
delays costs no task, nor a timer of its own: the hedge delay is a ``Slow`` call on the timer the
supervisor keeps for the attempt's budget. A leg tries one provider at a time, retrying it or moving down
the chain as the failure policy says. When an attempt has not started answering after its hedge
delay (``hedge.py``), the next provider starts in a new leg, a task of its own that carries on down
the chain; the slow attempt keeps running within its own budget and may still win, but its leg
ends when it fails. The first attempt to start answering (its first token; its whole answer when
not streaming) wins, and every other attempt still running is cancelled there and then, before
the winner's first event goes anywhere: nothing a loser says can reach the client. The race ends
with that win, or with ``NoAnswer`` once every leg has ended.
"""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Protocol, TypeVar

from trooper.errors import UpstreamError
from trooper.providers.base import Provider
from trooper.routing.policy import Failure
from trooper.routing.supervisor import Slow

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


@dataclass(eq=False)
class Attempt:
    """One call to one provider for a turn."""

    provider: Provider
    #: Why it was tried, in the store's words (``escalated``, ``fallback: <class>``, ``hedge``...).
    trigger: str
    #: The model asked of the provider.
    model: str
    #: Its entry in ``Trail.attempts``, taken when it starts: racing attempts keep that order.
    slot: int
    #: 1, or 2 for the policy's one retry on the same provider.
    tries: int = 1
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    #: Its hedge delay passed without a first token: the next provider started alongside it.
    hedged: bool = False
    #: Another attempt won the race: this one is cancelled.
    lost: bool = False


class Turn(Protocol[T_co]):
    """What a race needs of the turn it runs; the router provides it."""

    def hedge(self, slow: Attempt) -> Attempt | None:
        """The next provider of the chain, started alongside ``slow``; None when none is left."""

    def fallback(self, failed: Attempt, failure: Failure) -> Attempt | None:
        """The next provider of the chain, started after ``failed``; None when none is left."""

    def retry(self, failed: Attempt) -> Attempt:
        """The same provider again, started after ``failed``."""

    def hedge_delay(self, attempt: Attempt) -> float | None:
        """Seconds after which ``attempt`` is hedged if it has not started answering; None: never."""

    async def start(self, attempt: Attempt, slow: Slow | None) -> T_co:
        """Call the provider until it starts answering, making the ``slow`` call if it has not
        by then; raises ``UpstreamError``."""

    def failed(self, attempt: Attempt, error: UpstreamError) -> Failure:
        """Record ``attempt``'s failure and return the policy's verdict on it."""

    def won(self, attempt: Attempt) -> None:
        """Record that ``attempt`` started answering first."""

    def lost(self, attempt: Attempt) -> None:
        """Record that ``attempt`` is cancelled: another one started answering first."""


class NoAnswer(Exception):
    """Every leg of a race ended without an attempt starting to answer."""

    def __init__(self, last: UpstreamError | None, surfaced: UpstreamError | None) -> None:
        super().__init__(str(surfaced or last or "no provider could be tried"))
        #: The latest failure, and one the policy said must reach the caller (it comes first).
        self.last = last
        self.surfaced = surfaced


class Race(Generic[T]):
    def __init__(self, turn: Turn[T]) -> None:
        self._turn = turn
        #: Attempts under way (a hedge's before its task has started too), and the task running each.
        self._running: dict[Attempt, asyncio.Task[Any]] = {}
        #: The legs that hedges started.
        self._legs: list[asyncio.Task[None]] = []
        self._winner: tuple[Attempt, T] | None = None
        self._last: UpstreamError | None = None
        self._surfaced: UpstreamError | None = None

    async def run(self, begin: Callable[[], Attempt | None]) -> tuple[Attempt, T]:
        """The attempt that started answering first, and what it started with (``Turn.start``'s
        result). ``begin`` starts the first attempt. Raises ``NoAnswer``."""
        try:
            await self._leg(begin())
            if self._legs:
                await self._other_legs()
        finally:
            for leg in self._legs:
                leg.cancel()  # the race is over, or its caller has gone
        if self._winner is None:
            raise NoAnswer(self._last, self._surfaced)
        return self._winner

    async def _leg(self, attempt: Attempt | None) -> None:
        """Try providers from ``attempt`` on, down the chain, until one wins or the leg ends."""
        while attempt is not None:
            outcome = await self._try(attempt)
            if not isinstance(outcome, UpstreamError):  # it won, or lost to another leg
                return
            failure = self._turn.failed(attempt, outcome)
            self._last = outcome
            if failure.action == "surface":
                self._surfaced = outcome
                return
            if attempt.hedged:
                return  # the rest of the chain went to the leg its hedge started
            if failure.action == "retry":  # the policy allows it only while the provider's tries last
                await asyncio.sleep(failure.delay)
                attempt = self._turn.retry(attempt)
            else:
                attempt = self._turn.fallback(attempt, failure)

    async def _other_legs(self) -> None:
        """When the first leg has ended without a winner, wait for the legs hedges started."""
        while self._winner is None and (running := [leg for leg in self._legs if not leg.done()]):
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for leg in self._legs:
            error = leg.exception() if leg.done() and not leg.cancelled() else None
            if error is not None:
                raise error  # a bug, not an upstream failure: as loud as in the first leg

    async def _try(self, attempt: Attempt) -> T | UpstreamError | None:
        """Run one attempt: what it started answering with, its failure, or None when it lost."""
        task = asyncio.current_task()
        assert task is not None
        self._running[attempt] = task
        delay = self._turn.hedge_delay(attempt)
        slow = None if delay is None else Slow(delay, functools.partial(self._hedge, attempt))
        try:
            result = await self._turn.start(attempt, slow)
        except asyncio.CancelledError:
            if not attempt.lost:
                raise
        except UpstreamError as error:
            if not attempt.lost:
                return error
        finally:
            del self._running[attempt]
        if attempt.lost:
            if _take_back_cancellation(task) > 0:
                raise asyncio.CancelledError  # the task was cancelled from outside as well
            return None
        self._settle(attempt, result)
        return result

    def _hedge(self, slow: Attempt) -> None:
        """``slow`` has not started answering within its hedge delay: the next provider starts too."""
        if self._winner is not None:
            return  # ``slow`` lost a moment ago and has not seen its cancellation yet
        attempt = self._turn.hedge(slow)
        if attempt is None:
            return
        slow.hedged = True
        leg = asyncio.ensure_future(self._leg(attempt))
        self._legs.append(leg)
        self._running[attempt] = leg

    def _settle(self, winner: Attempt, result: T) -> None:
        """``winner`` started answering first: every other attempt is cancelled now, before the
        winner's first event is passed on."""
        self._winner = (winner, result)
        self._turn.won(winner)
        if not (self._running or self._legs):
            return  # it ran alone, as most attempts do
        current = asyncio.current_task()
        stopping = {task for task in [*self._running.values(), *self._legs] if task is not current}
        for loser in self._running:
            loser.lost = True
            self._turn.lost(loser)
        for task in stopping:
            task.cancel()


def _take_back_cancellation(task: asyncio.Task[Any]) -> int:
    """Undo the race's cancellation of ``task`` (it stopped a losing attempt, not the task), and
    return how many cancellations are left: Python 3.11+ counts them, so a task whose caller
    cancelled it too still stops."""
    return task.uncancel() if hasattr(task, "uncancel") else 0
