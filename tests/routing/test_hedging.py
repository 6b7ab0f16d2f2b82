"""Hedged fallback, end to end: a provider slower to start answering than its own recent history
gets the next provider started alongside it; the first to start answering wins, the other is
cancelled, and nothing from the loser reaches the client.

A real Trooper, fake upstreams on 127.0.0.1, the official SDKs. The first-token and provider
budgets are 20 s here (``BUDGET``), so a turn that waited for them, as every hung turn did before
hedging, would take 20 s: every bound below is far from that.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from tests.fakes.behaviours import hang, reply_text, stream_cut
from tests.routing.test_resilience import CLAUDE_KEY, FULL_TEXT, LOCAL_TEXT, ask, attempts_of, chats, text_of
from trooper.routing.hedge import MIN_SAMPLES

BUDGET = "20"
LATE_TEXT = "This late answer from Claude must never reach the client."
#: Ten words streamed a tenth of a second apart: a fallback still answering when Claude would.
SLOW_LOCAL_TEXT = "The local model answers this one slowly, word by word, to the end."
HEDGE_FLOOR = "0.2"


@pytest.fixture
def claude_ollama(fake_anthropic, fake_ollama, make_trooper):
    def start(**env: str):
        fake_ollama.default = reply_text(LOCAL_TEXT)
        budgets = {"TROOPER_FIRST_TOKEN_TIMEOUT": BUDGET, "TROOPER_IDLE_TIMEOUT": BUDGET, "TROOPER_PROVIDER_TIMEOUT": BUDGET}
        server = make_trooper(
            CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
            AUTO_RECOVERY="false", **{**budgets, **env},
        )
        return server, fake_anthropic, fake_ollama

    return start


def give_history(server, claude, *, stream: bool, seconds: float) -> None:
    """``MIN_SAMPLES`` answers from Claude, in this mode, each ``seconds`` to its first token: the
    history that sets its hedge delay. Sent at once, so it takes ``seconds``, not five times that."""
    claude.default = reply_text(FULL_TEXT, first_token_delay=seconds)
    with ThreadPoolExecutor(MIN_SAMPLES) as pool:
        answers = list(pool.map(lambda i: ask(server, stream=stream, session=f"history-{i}"), range(MIN_SAMPLES)))
    assert [headers["x-trooper-provider"] for _, headers in answers] == ["claude"] * MIN_SAMPLES
    claude.reset()


def health(server) -> dict:
    with httpx.Client() as client:
        return client.get(server.url + "/health").json()


# ---------------------------------------------------------------- a hung provider


@pytest.mark.parametrize("after_headers", [False, True], ids=["before-headers", "after-headers"])
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_hung_claude_with_a_one_second_history_falls_back_within_two_seconds(claude_ollama, stream, after_headers):
    server, claude, ollama = claude_ollama()
    give_history(server, claude, stream=stream, seconds=1.0)
    claude.default = hang(30, after_headers=after_headers)
    started = time.monotonic()
    message, headers = ask(server, stream=stream, session="hung")
    elapsed = time.monotonic() - started
    assert text_of(message) == LOCAL_TEXT and message.model == "llama3.1:8b"
    assert elapsed < 2.0, f"fell back after {elapsed:.2f} s: the hedge delay is ~1 s, the old wait {BUDGET} s"
    assert headers["x-trooper-decision"] == "ollama (hedge: slow_first_token)"
    assert claude.wait_for_abandoned(1) == claude.requests, "the hung call was cancelled, not left open"
    assert health(server)["breakers"]["claude"] == "closed", "one hang counts two of the three failures"


def test_two_hung_turns_open_the_breaker_and_the_third_skips_claude(claude_ollama):
    server, claude, ollama = claude_ollama(TROOPER_HEDGE_FLOOR=HEDGE_FLOOR)
    give_history(server, claude, stream=True, seconds=0.3)
    claude.default = hang(30)
    for turn in range(2):
        assert ask(server, stream=True, session=f"hung-{turn}")[1]["x-trooper-provider"] == "ollama"
    assert health(server)["breakers"]["claude"] == "open"
    assert ask(server, stream=True, session="after")[1]["x-trooper-provider"] == "ollama"
    assert len(claude.requests) == 2


def test_without_a_history_a_hang_waits_the_whole_budget_as_before(claude_ollama):
    server, claude, ollama = claude_ollama(TROOPER_FIRST_TOKEN_TIMEOUT="0.6")
    claude.default = hang(30)
    started = time.monotonic()
    message, headers = ask(server, stream=True)
    assert time.monotonic() - started >= 0.6
    assert headers["x-trooper-decision"] == "ollama (fallback: timeout)"
    assert attempts_of(server, headers["x-trooper-session"]) == [
        ("claude", "escalated", "error", "timeout"),
        ("ollama", "fallback: timeout", "ok", ""),
    ]


# ---------------------------------------------------------------- the race


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_the_fallback_answering_first_wins_and_the_late_answer_never_reaches_the_client(claude_ollama, stream):
    server, claude, ollama = claude_ollama(TROOPER_HEDGE_FLOOR=HEDGE_FLOOR)
    give_history(server, claude, stream=stream, seconds=0.3)
    # Claude answers at 1.5 s; Ollama, started at its hedge (~0.3 s), first answers at ~0.6 s and,
    # streaming, is still sending words when Claude's would arrive.
    claude.default = reply_text(LATE_TEXT, first_token_delay=1.5)
    ollama.default = reply_text(SLOW_LOCAL_TEXT, first_token_delay=0.3, chunk_delay=0.1 if stream else 0)
    message, headers = ask(server, stream=stream, session="race")
    assert text_of(message) == SLOW_LOCAL_TEXT
    assert claude.wait_for_abandoned(1) == claude.requests
    assert headers["x-trooper-provider"] == "ollama"
    assert headers["x-trooper-decision"] == "ollama (hedge: slow_first_token)"
    assert headers["x-trooper-summary"] == "claude → ollama (slow_first_token) ✓"
    assert headers["x-trooper-fallback-count"] == "1"
    assert attempts_of(server, "race") == [
        ("claude", "escalated", "cancelled", "slow_first_token"),
        ("ollama", "hedge", "ok", ""),
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_the_slow_provider_answering_before_its_hedge_wins_and_the_hedge_is_cancelled(claude_ollama, stream):
    server, claude, ollama = claude_ollama(TROOPER_HEDGE_FLOOR=HEDGE_FLOOR)
    give_history(server, claude, stream=stream, seconds=0.3)
    # Claude answers at 1.2 s, after its hedge (~0.3 s) started Ollama, which would answer at 3 s.
    claude.default = reply_text(FULL_TEXT, first_token_delay=1.2)
    ollama.default = reply_text(LOCAL_TEXT, first_token_delay=3.0)
    message, headers = ask(server, stream=stream, session="race")
    assert text_of(message) == FULL_TEXT and message.model == "claude-haiku-4-5"
    assert ollama.wait_for_abandoned(1) == chats(ollama), "the hedge was started, then cancelled"
    assert headers["x-trooper-provider"] == "claude"
    assert headers["x-trooper-decision"] == "claude (escalated) | hedge cancelled: ollama"
    assert headers["x-trooper-summary"] == "claude (escalated) ✓"
    assert headers["x-trooper-fallback-count"] == "0"
    assert attempts_of(server, "race") == [  # in the order they ended
        ("ollama", "hedge", "cancelled", ""),
        ("claude", "escalated", "ok", ""),
    ]
    assert health(server)["breakers"]["claude"] == "closed"


def test_the_openai_door_streams_only_the_winner(claude_ollama):
    # The OpenAI door's model is replaced by CLAUDE_MODEL: the one the history was taken with.
    server, claude, ollama = claude_ollama(TROOPER_HEDGE_FLOOR=HEDGE_FLOOR, CLAUDE_MODEL="claude-haiku-4-5")
    give_history(server, claude, stream=True, seconds=0.3)
    claude.default = reply_text(LATE_TEXT, first_token_delay=1.0)
    ollama.default = reply_text(SLOW_LOCAL_TEXT, first_token_delay=0.3, chunk_delay=0.1)
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        chunks = list(client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "explain why goroutines are better than threads"}], stream=True,
        ))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == SLOW_LOCAL_TEXT
    assert {chunk.model for chunk in chunks} == {"llama3.1:8b"}


def test_a_stream_the_hedge_won_is_still_rescued_when_it_breaks(fake_anthropic, fake_openai, fake_ollama, make_trooper):
    fake_ollama.default = reply_text(" and that is the rest.")
    fake_openai.default = stream_cut(3, FULL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url,
        OPENAI_API_KEY="sk-test-openai-0123456789", OPENAI_URL=fake_openai.chat_completions_url,
        FALLBACK_URL=fake_ollama.api_chat_url, TROOPER_FIRST_TOKEN_TIMEOUT=BUDGET, TROOPER_PROVIDER_TIMEOUT=BUDGET,
        TROOPER_HEDGE_FLOOR=HEDGE_FLOOR,
    )
    give_history(server, fake_anthropic, stream=True, seconds=0.3)
    fake_anthropic.default = hang(30)
    message, headers = ask(server, stream=True, session="rescued")
    text = text_of(message)
    assert text.startswith("Goroutines are cheap ") and text.endswith("and that is the rest.")
    assert message.stop_reason == "end_turn"
    assert headers["x-trooper-provider"] == "openai", "headers went out when OpenAI started answering"
    assert attempts_of(server, "rescued") == [
        ("claude", "escalated", "cancelled", "slow_first_token"),
        ("openai", "hedge", "error", "stream_cut"),
        ("ollama", "rescue: stream_cut", "rescued", ""),
    ]
