"""The router's branches with scripted in-process providers: fast, no HTTP (tests/scripted.py).

The same turn goes through ``complete`` and ``stream`` wherever both paths have the branch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from tests.scripted import Answer, CutAfter, Fail, Hang, ScriptedProvider, collect
from trooper.config import Settings
from trooper.conversation import (
    EventStream,
    Message,
    MessageDelta,
    MessageStart,
    Request,
    StreamAccumulator,
    StreamError,
    TextBlock,
    Usage,
)
from trooper.providers.base import CallOptions
from trooper.routing import policy
from trooper.routing.hedge import MIN_SAMPLES, Key
from trooper.routing.router import RoutedError, Router, TurnRecorder
from trooper.store.records import AttemptRecord

SETTINGS = Settings(retry_backoff=0.0, max_backoff=0.05, first_token_timeout=0.3, idle_timeout=0.3, provider_timeout=2.0)


@dataclass
class Recorded:
    attempts: list[AttemptRecord] = field(default_factory=list)
    events: list[tuple[str, dict]] = field(default_factory=list)

    def recorder(self) -> TurnRecorder:
        return TurnRecorder("s", attempt=self.attempts.append, event=lambda kind, **detail: self.events.append((kind, detail)))

    def outcomes(self) -> list[tuple[str, str, str]]:
        return [(a.provider, a.outcome, a.error_class) for a in self.attempts]


def request(text: str = "write a long design review of this module") -> Request:
    return Request("claude-haiku-4-5", [Message("user", [TextBlock(text)])], max_tokens=64)


def router(*cloud: ScriptedProvider, local: ScriptedProvider | None = None, settings: Settings = SETTINGS) -> Router:
    return Router(settings, list(cloud), lambda: local)


async def run(r: Router, stream: bool, forced: str | None = "cloud") -> tuple[str, Recorded, list]:
    """The answer's text, what was recorded, and (streams) the events."""
    recorded = Recorded()
    plan = r.plan(request(), forced)
    if not stream:
        response, _, _ = await r.complete(request(), plan, CallOptions(), recorded.recorder())
        return response.text(), recorded, []
    events = await collect(r.stream(request(), plan, CallOptions(), recorded.recorder(), plan.new_trail()))
    answer = StreamAccumulator()
    for event in events:
        answer.add(event)
    return answer.response().text(), recorded, events


@pytest.fixture(params=[False, True], ids=["complete", "stream"])
def stream(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def test_a_healthy_provider_answers(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Answer("hello there")])
    text, recorded, _ = await run(router(claude), stream)
    assert text == "hello there" and recorded.outcomes() == [("claude", "ok", "")] and recorded.events == []


async def test_a_short_rate_limit_is_retried_on_the_same_provider(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Fail(status=429, error_type="rate_limit_error", retry_after=0.01), Answer("after the wait")])
    openai = ScriptedProvider("openai")
    text, recorded, _ = await run(router(claude, openai), stream)
    assert text == "after the wait" and not openai.calls
    assert recorded.outcomes() == [("claude", "error", "rate_limit"), ("claude", "ok", "")]


async def test_a_long_rate_limit_moves_on_at_once(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Fail(status=429, error_type="rate_limit_error", retry_after=600)])
    openai = ScriptedProvider("openai", script=[Answer("from openai")])
    text, recorded, _ = await run(router(claude, openai), stream)
    assert text == "from openai" and len(claude.calls) == 1
    assert [kind for kind, _ in recorded.events] == ["fallback"]


async def test_a_bad_request_is_surfaced_not_masked(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Fail(status=400, error_type="invalid_request_error", message="max_tokens: too large")])
    openai = ScriptedProvider("openai")
    with pytest.raises(RoutedError) as caught:
        await run(router(claude, openai), stream)
    assert caught.value.status == 400 and "max_tokens" in caught.value.message and not openai.calls


async def test_every_provider_failing_is_one_clear_503(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Fail(status=529, error_type="overloaded_error")] * 2)
    openai = ScriptedProvider("openai", script=[Fail(kind="connect", message="refused")])
    with pytest.raises(RoutedError) as caught:
        await run(router(claude, openai), stream)
    assert caught.value.status == 503 and "claude" in caught.value.message and "openai" in caught.value.message


async def test_a_provider_that_never_answers_times_out_and_falls_back(stream: bool) -> None:
    claude = ScriptedProvider("claude", script=[Hang()])
    openai = ScriptedProvider("openai", script=[Answer("from openai")])
    settings = SETTINGS.with_overrides(provider_timeout=0.3)
    text, recorded, _ = await run(router(claude, openai, settings=settings), stream)
    assert text == "from openai"
    assert recorded.outcomes()[0][:2] == ("claude", "error") and recorded.outcomes()[-1] == ("openai", "ok", "")


async def test_a_hang_counts_double_toward_the_breaker_whether_it_runs_out_its_budget_or_loses_a_hedge(stream: bool) -> None:
    claude = ScriptedProvider("claude", default=Hang())
    openai = ScriptedProvider("openai", default=Answer("from openai"))
    r = router(claude, openai, settings=SETTINGS.with_overrides(provider_timeout=0.3, hedge_floor=0.05))
    _, recorded, _ = await run(r, stream)  # no history yet: the whole budget
    assert recorded.outcomes()[0] == ("claude", "error", "timeout")
    assert r.breakers["claude"].consecutive_failures == 2 and r.breakers["claude"].state == "closed"
    for _ in range(MIN_SAMPLES):
        r.first_tokens.record(Key("claude", claude.model, stream), 0.01)
    text, recorded, _ = await run(r, stream)  # hedged after the floor, 0.05 s
    assert text == "from openai"
    assert recorded.outcomes() == [("claude", "cancelled", "slow_first_token"), ("openai", "ok", "")]
    assert [kind for kind, _ in recorded.events] == ["hedge"]
    assert r.breakers["claude"].state == "open", "two hangs open a breaker of threshold 3"


@dataclass(eq=False)
class Late(ScriptedProvider):
    """Streams its script after ``delay`` seconds."""

    delay: float = 0.15

    async def stream(self, request: Request, options: CallOptions) -> EventStream:
        await asyncio.sleep(self.delay)
        async for event in super().stream(request, options):
            yield event


async def test_a_hedge_whose_stream_ends_without_a_word_does_not_win_the_race() -> None:
    class Silent(ScriptedProvider):
        async def stream(self, request: Request, options: CallOptions) -> EventStream:
            yield MessageStart("msg-silent", self.model, Usage(10, 0))  # and then the connection closes cleanly

    claude = Late("claude", default=Answer("from claude"))
    r = router(claude, Silent("openai"), settings=SETTINGS.with_overrides(hedge_floor=0.05))
    for _ in range(MIN_SAMPLES):
        r.first_tokens.record(Key("claude", claude.model, True), 0.01)
    text, recorded, _ = await run(r, stream=True)
    assert text == "from claude"
    assert recorded.outcomes() == [("openai", "error", "stream_cut"), ("claude", "ok", "")]


async def test_a_stream_cut_mid_answer_is_continued_by_the_next_provider() -> None:
    claude = ScriptedProvider("claude", script=[CutAfter("The first half, ")])
    openai = ScriptedProvider("openai", script=[Answer("and the second half.")])
    text, recorded, events = await run(router(claude, openai), stream=True)
    assert text == "The first half, and the second half."
    assert [kind for kind, _ in recorded.events] == ["rescue"]
    assert not any(isinstance(e, StreamError) for e in events)
    continued = openai.calls[0].request.messages[-1]
    assert continued.role == "assistant" and "The first half" in continued.content[0].text, "the continuation is prefilled"
    final = [e for e in events if isinstance(e, MessageDelta)][-1]
    assert final.stop_reason == "end_turn"


async def test_a_cut_stream_nobody_can_continue_ends_in_an_error_event() -> None:
    claude = ScriptedProvider("claude", script=[CutAfter("Half an answer")])
    openai = ScriptedProvider("openai", script=[Fail(status=503, error_type="overloaded_error")] * 2)
    _, _, events = await run(router(claude, openai), stream=True)
    assert isinstance(events[-1], StreamError) and "cut off" in events[-1].message


async def test_an_open_breaker_skips_its_provider_until_the_cooldown(stream: bool) -> None:
    settings = SETTINGS.with_overrides(breaker_failures=2, breaker_cooldown=60.0)
    claude = ScriptedProvider("claude", script=[Fail(kind="connect", message="refused")] * 2, default=Fail(kind="connect"))
    openai = ScriptedProvider("openai", default=Answer("from openai"))
    r = router(claude, openai, settings=settings)
    for _ in range(2):
        await run(r, stream)
    calls_before = len(claude.calls)
    text, recorded, _ = await run(r, stream)
    assert text == "from openai" and len(claude.calls) == calls_before, "the open breaker was not tried"


async def test_a_simple_turn_goes_local_and_the_cloud_rescues_it(stream: bool) -> None:
    local = ScriptedProvider("ollama", tier="local", script=[Fail(status=500)] * 2)
    claude = ScriptedProvider("claude", script=[Answer("from the cloud")])
    recorded = Recorded()
    r = router(claude, local=local)
    simple = request("thanks!")
    plan = r.plan(simple)
    assert plan.route == "local" and plan.candidates == [local, claude]
    if stream:
        events = await collect(r.stream(simple, plan, CallOptions(), recorded.recorder(), plan.new_trail()))
        assert not any(isinstance(e, StreamError) for e in events)
    else:
        response, _, _ = await r.complete(simple, plan, CallOptions(), recorded.recorder())
        assert response.text() == "from the cloud"
    assert [a.provider for a in recorded.attempts] == ["ollama", "ollama", "claude"]


async def test_a_turn_forced_local_never_leaves_the_machine(stream: bool) -> None:
    local = ScriptedProvider("ollama", tier="local", script=[Fail(status=500)] * 2)
    claude = ScriptedProvider("claude")
    with pytest.raises(RoutedError) as caught:
        await run(router(claude, local=local), stream, forced="local")
    assert caught.value.status == 503 and not claude.calls


async def test_the_policy_alone_caps_retries_on_a_provider(stream: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Raising MAX_ATTEMPTS_PER_PROVIDER gives a provider more tries: the router keeps no cap of its own."""
    monkeypatch.setattr(policy, "MAX_ATTEMPTS_PER_PROVIDER", 3)
    limited = Fail(status=429, error_type="rate_limit_error", retry_after=0.01)
    claude = ScriptedProvider("claude", script=[limited, limited, Answer("third time")])
    text, recorded, _ = await run(router(claude, ScriptedProvider("openai")), stream)
    assert text == "third time" and len(claude.calls) == 3
