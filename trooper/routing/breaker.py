"""Per-provider circuit breakers: stop calling a provider that keeps failing, probe it later.

closed ──(failure_threshold failures in a row)──▶ open ──(cooldown ends)──▶ half_open
  ▲                                                 ▲                         │
  └──────────────(the probe succeeds)───────────────┼─────────────────────────┤
                                                    └───(the probe fails)─────┘

Half-open lets exactly one probe through; every other caller is refused until it reports (or,
if it never does, until another cooldown has passed).
Only failures the policy marks unhealthy (``Failure.unhealthy``) should be recorded, each with
its weight (``Failure.breaker_weight``: a hang or a stall counts two): a bad key or a bad request
says nothing about the provider's health.
"""

from __future__ import annotations

import time
from typing import Callable, Literal

BreakerState = Literal["closed", "open", "half_open"]
OnChange = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: OnChange | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose cooldown has ended reads as half-open."""
        if self._state == "open" and self._clock() - self._opened_at >= self.cooldown:
            self._move("half_open")
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go to the provider now. In half-open, only the first caller may."""
        state = self.state
        if state == "closed":
            return True
        if state == "open":
            return False
        now = self._clock()
        # A probe that never reported (its caller was cancelled) must not block the provider
        # forever: after another cooldown a new probe may go.
        if self._probe_started_at is None or now - self._probe_started_at >= self.cooldown:
            self._probe_started_at = now
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._probe_started_at = None
        if self._state != "closed":
            self._move("closed")

    def record_failure(self, weight: int = 1) -> None:
        """``weight``: how many failures this one counts for toward ``failure_threshold``."""
        self._failures += weight
        self._probe_started_at = None
        if self._state == "half_open" or (self._state == "closed" and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
            self._move("open")

    def adopt(self, state: Literal["open", "closed"], age: float = 0.0) -> None:
        """Take a state another replica decided (``age`` seconds ago), without reporting it as
        this breaker's own change: it is not passed on again. Any probe this replica let through
        has its answer in it."""
        self._probe_started_at = None
        if state == "open":
            self._opened_at = self._clock() - age
            self._state = "open"
        else:
            self._failures = 0
            self._state = "closed"

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if self._on_change is not None:
            self._on_change(old, new)


BoardListener = Callable[[str, BreakerState, BreakerState], None]


class BreakerBoard:
    """One breaker per provider name, created on first use with the same settings; ``on_change``
    hears each breaker's changes (it may be set after breakers were created)."""

    def __init__(
        self,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: BoardListener | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self.on_change = on_change
        self._breakers: dict[str, CircuitBreaker] = {}

    def __getitem__(self, provider: str) -> CircuitBreaker:
        breaker = self._breakers.get(provider)
        if breaker is None:
            breaker = CircuitBreaker(self.failure_threshold, self.cooldown, self._clock, self._listener(provider))
            self._breakers[provider] = breaker
        return breaker

    def states(self) -> dict[str, BreakerState]:
        """Each known provider's state, for the dashboard and health endpoint."""
        return {name: breaker.state for name, breaker in self._breakers.items()}

    def _listener(self, provider: str) -> OnChange:
        # Looked up at each change: a listener set later (shared_breakers) hears every breaker.
        def changed(old: BreakerState, new: BreakerState) -> None:
            if self.on_change is not None:
                self.on_change(provider, old, new)

        return changed
