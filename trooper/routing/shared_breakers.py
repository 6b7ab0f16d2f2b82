"""Replicas sharing a store share their providers' health: a breaker one replica opens is open on
every replica within a second, a provider one replica's probe brings back is back everywhere, and
a replica that restarts finds the breakers as the others left them.

What is shared is each breaker's decided state, open or closed (half-open is each replica's own
reading of an open breaker's age); failures are counted by each replica, as before. The store
keeps and passes the states on (``SharedHealth``, trooper/store/health.py); what they mean for
routing is decided here and in breaker.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from trooper.providers.base import Provider
from trooper.routing.breaker import BreakerBoard, BreakerState
from trooper.store.health import ProviderHealth, SharedHealth


async def share_breakers(
    board: BreakerBoard, health: SharedHealth, providers: Callable[[], Sequence[Provider]], label: str
) -> None:
    """Pass this replica's breaker changes on through ``health`` and take the other replicas';
    returns once the states recorded so far are taken. ``label`` names this replica (host:port)."""

    def changed(provider: str, old: BreakerState, new: BreakerState) -> None:
        if new != "half_open":
            health.record(provider, new)

    def adopt(shared: ProviderHealth) -> None:
        # A provider this replica does not call (another configuration) gets no breaker here.
        if any(p.name == shared.provider for p in providers()):
            board[shared.provider].adopt(shared.state, shared.age)

    board.on_change = changed
    await health.start(label, adopt, asyncio.get_running_loop())
