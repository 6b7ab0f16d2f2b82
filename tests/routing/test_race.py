"""The race of hedged attempts, driven by a scripted turn: who wins, who is cancelled, what is
recorded, and that nothing is left running."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from trooper.config import Settings
from trooper.errors import UpstreamError
from trooper.routing.policy import Failure, classify_failure
from trooper.routing.race import Attempt, NoAnswer, Race
from trooper.routing.supervisor import Slow


@dataclass(frozen=True)
class Upstream:
    """What a provider does once called: answer, or fail with ``status``, after ``seconds``."""

    name: str
    seconds: float
    status: int = 0


class ScriptedTurn:
    """A ``Turn`` over scripted upstreams, with a fixed hedge delay; it logs what the race does."""

    def __init__(self, *upstreams: Upstream, hedge_after: float | None = None) -> None:
        self.untried = deque(upstreams)
        self.hedge_after = hedge_after
        self.log: list[str] = []
        self.running: set[str] = set()

    def _next(self, trigger: str) -> Attempt | None:
        if not self.untried:
            return None
        upstream = self.untried.popleft()
        return Attempt(SimpleNamespace(name=upstream.name, script=upstream), trigger, "model", slot=0)  # type: ignore[arg-type]

    def first(self) -> Attempt | None:
        return self._next("first")

    def hedge(self, slow: Attempt) -> Attempt | None:
        attempt = self._next("hedge")
        if attempt is not None:
            self.log.append(f"hedge {slow.provider.name} → {attempt.provider.name}")
        return attempt

    def fallback(self, failed: Attempt, failure: Failure) -> Attempt | None:
        return self._next(f"fallback: {failure.error_class}")

    def retry(self, failed: Attempt) -> Attempt:
        raise AssertionError("no scripted failure is retried")

    def hedge_delay(self, attempt: Attempt) -> float | None:
        return self.hedge_after

    async def start(self, attempt: Attempt, slow: Slow | None) -> str:
        upstream: Upstream = attempt.provider.script  # type: ignore[attr-defined]
        self.running.add(upstream.name)
        timer = None if slow is None else asyncio.get_running_loop().call_later(slow.after, slow.call)
        try:
            await asyncio.sleep(upstream.seconds)
        finally:
            self.running.discard(upstream.name)
            if timer is not None:
                timer.cancel()
        if upstream.status:
            raise UpstreamError(upstream.name, "http", f"HTTP {upstream.status}", status=upstream.status)
        return f"answer from {upstream.name}"

    def failed(self, attempt: Attempt, error: UpstreamError) -> Failure:
        self.log.append(f"failed {attempt.provider.name}")
        return classify_failure(error, Settings(), attempt=2)  # never "retry"

    def won(self, attempt: Attempt) -> None:
        self.log.append(f"won {attempt.provider.name}")

    def lost(self, attempt: Attempt) -> None:
        self.log.append(f"lost {attempt.provider.name}" + (" (hedged)" if attempt.hedged else ""))


async def race(turn: ScriptedTurn) -> tuple[str, str]:
    attempt, answer = await Race(turn).run(turn.first)
    return attempt.provider.name, answer


async def test_without_a_hedge_delay_providers_are_tried_one_after_the_other_in_one_task():
    turn = ScriptedTurn(Upstream("claude", 0.01, status=529), Upstream("ollama", 0.01))
    tasks_before = len(asyncio.all_tasks())
    assert await race(turn) == ("ollama", "answer from ollama")
    assert len(asyncio.all_tasks()) == tasks_before
    assert turn.log == ["failed claude", "won ollama"]


async def test_a_slow_attempt_is_hedged_and_loses_to_a_faster_successor():
    turn = ScriptedTurn(Upstream("claude", 5), Upstream("ollama", 0.05), hedge_after=0.05)
    assert await race(turn) == ("ollama", "answer from ollama")
    assert turn.log == ["hedge claude → ollama", "won ollama", "lost claude (hedged)"]
    await asyncio.sleep(0)
    assert turn.running == set(), "the loser was cancelled"
    # The loser ran in this task: the race cancelled it there, and took that cancellation back.
    assert getattr(asyncio.current_task(), "cancelling", lambda: 0)() == 0


async def test_a_slow_attempt_that_answers_before_its_hedge_wins_and_the_hedge_is_cancelled():
    turn = ScriptedTurn(Upstream("claude", 0.2), Upstream("ollama", 5), hedge_after=0.05)
    assert await race(turn) == ("claude", "answer from claude")
    assert turn.log == ["hedge claude → ollama", "won claude", "lost ollama"]
    await asyncio.sleep(0)
    assert turn.running == set()


async def test_hedges_cascade_down_the_chain():
    turn = ScriptedTurn(Upstream("claude", 5), Upstream("openai", 5), Upstream("ollama", 0.01), hedge_after=0.05)
    assert await race(turn) == ("ollama", "answer from ollama")
    assert turn.log == [
        "hedge claude → openai", "hedge openai → ollama", "won ollama", "lost claude (hedged)", "lost openai (hedged)",
    ]


async def test_the_slow_attempt_still_wins_when_its_hedge_fails():
    turn = ScriptedTurn(Upstream("claude", 0.2), Upstream("ollama", 0.01, status=503), hedge_after=0.05)
    assert await race(turn) == ("claude", "answer from claude")
    assert turn.log == ["hedge claude → ollama", "failed ollama", "won claude"]


async def test_a_hedge_that_fails_moves_on_down_the_chain():
    turn = ScriptedTurn(Upstream("claude", 5), Upstream("openai", 0.01, status=529), Upstream("ollama", 0.05), hedge_after=0.05)
    assert await race(turn) == ("ollama", "answer from ollama")
    assert turn.log == ["hedge claude → openai", "failed openai", "won ollama", "lost claude (hedged)"]


async def test_no_answer_when_every_leg_fails():
    turn = ScriptedTurn(Upstream("claude", 0.2, status=529), Upstream("ollama", 0.01, status=503), hedge_after=0.05)
    with pytest.raises(NoAnswer) as caught:
        await race(turn)
    assert caught.value.last is not None and caught.value.last.status == 529, "the latest failure"
    assert caught.value.surfaced is None


async def test_a_surfaced_failure_is_reported_only_when_no_other_attempt_answers():
    turn = ScriptedTurn(Upstream("claude", 0.2), Upstream("openai", 0.01, status=401), hedge_after=0.05)
    assert await race(turn) == ("claude", "answer from claude")
    turn = ScriptedTurn(Upstream("claude", 0.2, status=529), Upstream("openai", 0.01, status=401), hedge_after=0.05)
    with pytest.raises(NoAnswer) as caught:
        await race(turn)
    assert caught.value.surfaced is not None and caught.value.surfaced.status == 401


async def test_a_caller_cancelled_mid_race_leaves_no_attempt_running():
    turn = ScriptedTurn(Upstream("claude", 5), Upstream("ollama", 5), hedge_after=0.05)
    caller = asyncio.ensure_future(race(turn))
    await asyncio.sleep(0.1)
    assert turn.running == {"claude", "ollama"}
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0)
    assert turn.running == set()
    assert turn.log == ["hedge claude → ollama"], "nothing won or lost: the turn was abandoned"
