"""AUTO_RECOVERY: bring traffic back to a provider as soon as it is healthy again.

Without it, an opened breaker waits for a user's turn to be the half-open probe, and that turn
pays for a provider that may still be down. With it, a background task takes the half-open probe
itself: a one-token request once each cool-down ends. Success closes the breaker, so the next
turn goes straight back to the primary; failure re-opens it for another cool-down. A probe costs
a handful of tokens and only runs while a breaker is open.

Replicas sharing their providers' health (shared_breakers.py) take turns: one probes a provider
at a time, under its claim (an advisory lock on PostgreSQL), and the others take its result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from trooper.config import Settings
from trooper.conversation import Message, Request, TextBlock
from trooper.errors import UpstreamError
from trooper.periodic_task import PeriodicTask
from trooper.providers.base import CallOptions, Provider
from trooper.routing.breaker import BreakerBoard
from trooper.routing.policy import classify_failure
from trooper.store.health import SharedHealth

log = logging.getLogger("trooper.recovery")

PROBE_PROMPT = "ping"
#: How often open breakers are looked at, relative to the cool-down (bounded both ways).
MIN_INTERVAL, MAX_INTERVAL = 0.2, 5.0


class RecoveryProber:
    """``providers`` is asked each round: a key added while the server runs changes the chain.
    ``shared``: the health this replica shares with others, None when it runs alone."""

    def __init__(
        self, settings: Settings, providers: Callable[[], Sequence[Provider]], breakers: BreakerBoard,
        shared: SharedHealth | None = None,
    ) -> None:
        self._settings = settings
        self._providers = providers
        self._breakers = breakers
        self._shared = shared
        interval = min(max(settings.breaker_cooldown / 2, MIN_INTERVAL), MAX_INTERVAL)
        self._job = PeriodicTask("trooper-auto-recovery", interval, self.probe_open_breakers)

    def start(self) -> None:
        self._job.start()

    async def stop(self) -> None:
        await self._job.stop()

    async def probe_open_breakers(self) -> None:
        """One round: probe every provider whose breaker is open and whose cool-down has ended."""
        for provider in self._providers():
            breaker = self._breakers[provider.name]
            if breaker.state == "closed" or not breaker.allow():
                continue
            if self._shared is None:
                await self._probe(provider)
                continue
            async with self._shared.claim_probe(provider.name) as claim:
                if not claim.held:
                    continue  # another replica is probing it: its result reaches this one
                latest = claim.latest
                if latest is not None and (latest.state == "closed" or latest.age < breaker.cooldown):
                    breaker.adopt(latest.state, latest.age)  # another replica probed it meanwhile
                    continue
                await self._probe(provider)

    async def _probe(self, provider: Provider) -> None:
        breaker = self._breakers[provider.name]
        if await self._healthy(provider):
            log.info("auto-recovery: %s answers again; traffic returns to it", provider.name)
            breaker.record_success()
        else:
            breaker.record_failure()

    async def _healthy(self, provider: Provider) -> bool:
        request = Request(model=provider.model, messages=[Message("user", [TextBlock(PROBE_PROMPT)])], max_tokens=1)
        options = CallOptions(
            connect_timeout=self._settings.connect_timeout, total_timeout=self._settings.provider_timeout
        )
        try:
            await asyncio.wait_for(provider.complete(request, options), self._settings.provider_timeout)
        except asyncio.TimeoutError:
            return False
        except UpstreamError as error:
            # A refusal that is the request's fault (say a 400) still proves the provider is up.
            return not classify_failure(error, self._settings).unhealthy
        return True
