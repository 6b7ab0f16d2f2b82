"""The circuit breaker, driven by a fake clock."""

from __future__ import annotations

import pytest

from trooper.routing.breaker import BreakerBoard, BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def changes() -> list[tuple[BreakerState, BreakerState]]:
    return []


@pytest.fixture
def breaker(clock: FakeClock, changes: list[tuple[BreakerState, BreakerState]]) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown=30.0, clock=clock, on_change=lambda old, new: changes.append((old, new)))


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        breaker.record_failure()


def test_closed_allows_and_opens_after_threshold_failures_in_a_row(breaker: CircuitBreaker, changes: list) -> None:
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    assert changes == [("closed", "open")]


def test_a_success_resets_the_count(breaker: CircuitBreaker) -> None:
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 2


def test_a_weighted_failure_counts_that_many_toward_the_threshold(breaker: CircuitBreaker) -> None:
    breaker.record_failure(2)
    assert breaker.state == "closed" and breaker.consecutive_failures == 2
    breaker.record_failure(2)
    assert breaker.state == "open", "two hangs open a breaker of threshold 3"


def test_open_refuses_until_the_cooldown_ends(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(29.9)
    assert breaker.state == "open" and not breaker.allow()
    clock.advance(0.1)
    assert breaker.state == "half_open"


def test_half_open_lets_exactly_one_probe_through(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow()
    assert not breaker.allow()
    assert not breaker.allow()


def test_a_successful_probe_closes(breaker: CircuitBreaker, clock: FakeClock, changes: list) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_probe_reopens_for_a_full_cooldown(breaker: CircuitBreaker, clock: FakeClock, changes: list) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "open"), ("open", "half_open")]


def test_a_probe_that_never_reports_is_replaced_after_a_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(30)
    assert breaker.allow()
    clock.advance(29)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()


def test_threshold_must_be_positive(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0, cooldown=1.0, clock=clock)


def test_board_keeps_one_breaker_per_provider_and_reports_changes(clock: FakeClock) -> None:
    events: list[tuple[str, str, str]] = []
    board = BreakerBoard(failure_threshold=1, cooldown=10.0, clock=clock, on_change=lambda p, o, n: events.append((p, o, n)))
    assert board["claude"] is board["claude"]
    board["claude"].record_failure()
    assert not board["claude"].allow()
    assert board["openai"].allow()
    assert board.states() == {"claude": "open", "openai": "closed"}
    clock.advance(10)
    assert board.states()["claude"] == "half_open"
    assert events == [("claude", "closed", "open"), ("claude", "open", "half_open")]


def test_an_adopted_state_is_taken_without_being_reported_as_this_breakers_change(
    breaker: CircuitBreaker, clock: FakeClock, changes: list
) -> None:
    breaker.adopt("open", age=20.0)  # another replica opened it 20 s ago
    assert breaker.state == "open" and not breaker.allow()
    clock.advance(10.0)
    assert breaker.state == "half_open" and breaker.allow(), "its cool-down counts from when it was opened"
    breaker.adopt("closed")  # another replica's probe brought it back
    assert breaker.state == "closed" and breaker.consecutive_failures == 0
    assert changes == [("open", "half_open")], "only this breaker's own reading is reported"


def test_a_board_listener_set_later_hears_breakers_created_before(clock: FakeClock) -> None:
    board = BreakerBoard(failure_threshold=1, cooldown=30.0, clock=clock)
    breaker = board["claude"]
    heard: list[tuple[str, BreakerState, BreakerState]] = []
    board.on_change = lambda provider, old, new: heard.append((provider, old, new))
    breaker.record_failure()
    assert heard == [("claude", "closed", "open")]
