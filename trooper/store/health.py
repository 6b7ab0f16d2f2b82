"""Provider health shared by the replicas of one store: the small interface the routing's circuit
breakers keep in step through (trooper/routing/shared_breakers.py).

A store several processes share (PostgreSQL) provides one (``Store.shared_health()``); a store one
process owns (a SQLite file) provides none, and each breaker is that process's own, as it always
was. The decisions (when to open, when to probe) stay in trooper/routing/; this only keeps and
passes on what was decided, and who may probe.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Literal, NamedTuple

#: The states worth sharing: half-open is each replica's own reading of an open breaker's age.
SharedState = Literal["open", "closed"]


class ProviderHealth(NamedTuple):
    provider: str
    state: SharedState
    #: Seconds since a replica recorded it, by the database's clock (0 for a change just heard of).
    age: float


class ProbeClaim(NamedTuple):
    """The answer to "may this replica probe the provider now?"."""

    #: False: another replica is probing it right now (its result will reach this one).
    held: bool
    #: The shared state read while the claim is held; None when none was ever recorded (or the
    #: store could not be asked).
    latest: ProviderHealth | None


class SharedHealth(abc.ABC):
    @abc.abstractmethod
    async def start(self, label: str, adopt: Callable[[ProviderHealth], None], loop: asyncio.AbstractEventLoop) -> None:
        """Announce this replica as ``label`` (``trooper doctor`` lists it) and call ``adopt`` on
        ``loop`` with every recorded state (at once, so a restarted replica skips a provider
        already open) and then with each change another replica records. Returns once the
        recorded states were handed over."""

    @abc.abstractmethod
    def record(self, provider: str, state: SharedState) -> None:
        """Record this replica's change, for the others to adopt within a second; never blocks."""

    @abc.abstractmethod
    def claim_probe(self, provider: str) -> AbstractAsyncContextManager[ProbeClaim]:
        """Held by one replica at a time per provider: the one that runs its recovery probe.
        What is recorded while it is held is stored before it is let go."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop listening and forget this replica (the store closes it)."""
