"""Failure handling end to end: fault-injecting fake upstreams, a real Trooper, the official SDKs.

For each fault: what the caller gets (a complete answer or a clean, bounded error — never a
truncated success), what the upstreams saw (bounded attempts, honoured gaps), the headers, and
that the server still serves the next request.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import (
    connection_reset,
    content_blocked,
    context_too_long,
    echo,
    hang,
    invalid_api_key,
    malformed_chunk,
    missing_terminator,
    out_of_credit,
    overloaded,
    rate_limited,
    reply_text,
    server_error,
    slow_first_token,
    stream_cut,
    stream_error,
    stream_stall,
)

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
LOCAL_TEXT = "Local answer here."
FULL_TEXT = "Goroutines are cheap because the Go runtime multiplexes them onto threads."


@pytest.fixture
def claude_and_ollama(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text(LOCAL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_FIRST_TOKEN_TIMEOUT="1", TROOPER_IDLE_TIMEOUT="1", TROOPER_PROVIDER_TIMEOUT="2",
    )
    return server, fake_anthropic, fake_ollama


def ask(server, text="explain why goroutines are better than threads", *, stream=False, session=None):
    """One Anthropic-SDK turn; returns (message, headers)."""
    headers = {"X-Session-ID": session} if session else {}
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        if stream:
            with client.messages.stream(
                model="claude-haiku-4-5", max_tokens=200, messages=[{"role": "user", "content": text}], extra_headers=headers
            ) as s:
                return s.get_final_message(), s.response.headers
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=200, messages=[{"role": "user", "content": text}], extra_headers=headers
        )
        return raw.parse(), raw.headers


def chats(fake_ollama) -> list:
    """The chat requests an Ollama fake received (discovery calls to /api/show, /api/tags aside)."""
    return [r for r in fake_ollama.requests if r.path == "/api/chat"]


def text_of(message) -> str:
    return "".join(b.text for b in message.content if b.type == "text")


# ---------------------------------------------------------------- HTTP errors before any output


def test_429_with_retry_after_is_retried_once_after_the_gap_then_falls_back(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.enqueue(rate_limited(retry_after=0.4), rate_limited(retry_after=0.4))
    message, headers = ask(server)
    assert text_of(message) == LOCAL_TEXT
    assert len(claude.requests) == 2
    assert claude.requests[1].arrived_at - claude.requests[0].arrived_at >= 0.35
    assert headers["x-trooper-provider"] == "ollama"
    assert "fallback: rate_limit" in headers["x-trooper-decision"]
    assert headers["x-trooper-fallback-count"] == "1"


def test_429_without_retry_after_retries_with_default_backoff_and_succeeds(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.enqueue(rate_limited())
    claude.default = reply_text(FULL_TEXT)
    message, headers = ask(server)
    assert text_of(message) == FULL_TEXT
    assert len(claude.requests) == 2 and chats(ollama) == []
    assert headers["x-trooper-provider"] == "claude"


def test_500_once_is_retried(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.enqueue(server_error(500))
    claude.default = reply_text(FULL_TEXT)
    message, _ = ask(server, stream=True)
    assert text_of(message) == FULL_TEXT
    assert len(claude.requests) == 2


@pytest.mark.parametrize("fault", [overloaded(), server_error(503), out_of_credit(), connection_reset()],
                         ids=["529", "503", "credit", "reset"])
@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_persistent_failures_fall_back_to_local(claude_and_ollama, fault, stream):
    server, claude, ollama = claude_and_ollama
    claude.default = fault
    message, headers = ask(server, stream=stream)
    assert text_of(message) == LOCAL_TEXT
    assert message.stop_reason == "end_turn"
    assert headers["x-trooper-provider"] == "ollama"
    assert headers["x-trooper-decision"].startswith("ollama (fallback: ")
    assert len(claude.requests) <= 2, "no hammering"
    assert message.model == "llama3.1:8b", "the body names the model that really answered"


def test_original_case_credit_balance(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    claude.default = out_of_credit()
    message, headers = ask(server, "explain why goroutines are better than threads")
    assert headers["x-trooper-decision"] == "ollama (fallback: credit_balance)"
    assert text_of(message) == LOCAL_TEXT
    assert len(claude.requests) == 1


def test_no_response_at_all_times_out_and_falls_back(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    claude.default = hang(10)
    started = time.monotonic()
    message, headers = ask(server)
    assert text_of(message) == LOCAL_TEXT
    assert time.monotonic() - started < 6
    assert "timeout" in headers["x-trooper-decision"]
    assert len(claude.requests) == 1, "a hang is never retried"


def test_slow_first_token_fails_over_invisibly(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    claude.default = slow_first_token(5, FULL_TEXT)
    message, headers = ask(server, stream=True)
    assert text_of(message) == LOCAL_TEXT
    assert headers["x-trooper-provider"] == "ollama"


# ---------------------------------------------------------------- connections dropped before any response byte


def attempts_of(server, session: str) -> list[tuple[str, str, str, str]]:
    """(provider, trigger, outcome, error_class) of each stored attempt of the session."""
    server.flush()
    with httpx.Client() as client:
        attempts = client.get(f"{server.url}/sessions/{session}/attempts").json()["attempts"]
    return [(a["provider"], a["trigger"], a["outcome"], a["error_class"]) for a in attempts]


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_reset_before_any_response_byte_is_retried_once_instead_of_falling_back(claude_and_ollama, stream):
    server, claude, ollama = claude_and_ollama
    claude.enqueue(connection_reset())
    claude.default = reply_text(FULL_TEXT)
    message, headers = ask(server, stream=stream, session="reset-once")
    assert text_of(message) == FULL_TEXT and message.model == "claude-haiku-4-5"
    assert len(claude.requests) == 2 and chats(ollama) == []
    assert headers["x-trooper-provider"] == "claude"
    assert headers["x-trooper-summary"] == "claude → claude (connection_reset) ✓"
    assert headers["x-trooper-fallback-count"] == "0"
    assert attempts_of(server, "reset-once") == [
        ("claude", "escalated", "error", "connection_reset"),
        ("claude", "retry", "ok", ""),
    ]


def test_the_retry_goes_over_a_new_connection_not_another_pooled_one(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    claude.default = reply_text(FULL_TEXT, first_token_delay=0.2)  # both turns in flight at once: two connections
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: ask(server), range(2)))
    pooled = {request.client_port for request in claude.requests}
    assert len(pooled) == 2
    claude.default = reply_text(FULL_TEXT)
    claude.enqueue(connection_reset())
    assert ask(server)[1]["x-trooper-provider"] == "claude"
    dropped, retried = claude.requests[2:]
    assert dropped.client_port in pooled
    assert retried.client_port not in pooled, "an idle pooled connection may be as stale as the one that was dropped"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_second_reset_on_the_retry_falls_back(claude_and_ollama, stream):
    server, claude, ollama = claude_and_ollama
    claude.enqueue(connection_reset(), connection_reset())
    claude.default = reply_text(FULL_TEXT)
    message, headers = ask(server, stream=stream)
    assert text_of(message) == LOCAL_TEXT
    assert len(claude.requests) == 2 and len(chats(ollama)) == 1
    assert headers["x-trooper-decision"] == "ollama (fallback: connection_reset)"
    assert headers["x-trooper-summary"] == "claude → claude → ollama (connection_reset, connection_reset) ✓"
    assert headers["x-trooper-fallback-count"] == "1"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_a_reset_after_the_response_started_is_not_retried(claude_and_ollama, stream):
    server, claude, _ = claude_and_ollama
    claude.default = reply_text(FULL_TEXT).reset_after(0)  # the status line and headers, then a reset
    message, headers = ask(server, stream=stream)
    assert text_of(message) == LOCAL_TEXT
    assert len(claude.requests) == 1
    assert headers["x-trooper-decision"] == "ollama (fallback: stream_cut)"


def test_the_local_model_gets_the_same_one_retry(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    ollama.enqueue(connection_reset(), when=lambda request: request.path == "/api/chat")
    message, headers = ask(server, "how many days in a week")
    assert text_of(message) == LOCAL_TEXT and claude.requests == []
    assert len(chats(ollama)) == 2
    assert headers["x-trooper-summary"] == "ollama → ollama (connection_reset) ✓"


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_the_openai_door_and_an_openai_upstream_retry_a_reset_too(fake_openai, fake_ollama, make_trooper, stream):
    fake_ollama.default = reply_text(LOCAL_TEXT)
    fake_openai.enqueue(connection_reset())
    fake_openai.default = reply_text(FULL_TEXT)
    server = make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789", OPENAI_URL=fake_openai.chat_completions_url,
                          FALLBACK_URL=fake_ollama.api_chat_url)
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "explain why goroutines are better than threads"}], stream=stream,
        )
        answer = raw.parse()
        text = "".join(chunk.choices[0].delta.content or "" for chunk in answer if chunk.choices) if stream else answer.choices[0].message.content
    assert text == FULL_TEXT
    assert len(fake_openai.requests) == 2 and chats(fake_ollama) == []
    assert raw.headers["x-trooper-summary"] == "openai → openai (connection_reset) ✓"


# ---------------------------------------------------------------- errors that must surface


def test_401_is_surfaced_never_masked(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.default = invalid_api_key()
    with pytest.raises(anthropic.AuthenticationError) as caught:
        ask(server)
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert chats(ollama) == []
    assert len(claude.requests) == 1


def test_content_policy_400_is_surfaced_unchanged(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.default = content_blocked()
    with pytest.raises(anthropic.BadRequestError):
        ask(server)
    assert chats(ollama) == [] and len(claude.requests) == 1


def test_context_length_goes_to_a_provider_that_fits_it(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.default = context_too_long()
    message, headers = ask(server)
    assert text_of(message) == LOCAL_TEXT
    assert len(claude.requests) == 1, "never retried on the same model"
    assert chats(ollama)[-1].json["options"]["num_ctx"] > 0


# ---------------------------------------------------------------- streams that die after output


@pytest.mark.parametrize(
    "fault",
    [stream_cut(3, FULL_TEXT), reply_text(FULL_TEXT).reset_after(3), stream_stall(3, 5, FULL_TEXT), malformed_chunk(3, FULL_TEXT),
     stream_error(3, FULL_TEXT)],
    ids=["cut", "reset", "stall", "malformed", "error-event"],
)
def test_stream_dying_mid_answer_is_rescued_by_the_fallback(claude_and_ollama, fault):
    server, claude, ollama = claude_and_ollama
    claude.default = fault
    ollama.default = reply_text(" and that is the rest.")
    message, headers = ask(server, stream=True)
    assert len(claude.requests) == 1, "never retried once the answer started"
    text = text_of(message)
    assert text.startswith("Goroutines are cheap ")
    assert text.endswith("and that is the rest.")
    assert message.stop_reason == "end_turn"
    # The rescuer was asked to continue what the client already had (an assistant prefill).
    sent = chats(ollama)[-1].json["messages"]
    assert sent[-1]["role"] == "assistant" and sent[-1]["content"].startswith("Goroutines are cheap")
    assert headers["x-trooper-provider"] == "claude", "headers went out when Claude started answering"


def test_a_rescued_stream_says_who_finished_it_in_its_final_event(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.default = stream_cut(3, FULL_TEXT)
    with httpx.Client() as client:
        body = {"model": "claude-haiku-4-5", "max_tokens": 50, "stream": True,
                "messages": [{"role": "user", "content": "explain goroutines"}]}
        anthropic_stream = client.post(server.url + "/v1/messages", json=body).text
        assert '"answered_by":"llama3.1:8b"' in anthropic_stream.split("event: message_delta")[1]
        claude.default = stream_cut(3, FULL_TEXT)
        body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "explain goroutines"}]}
        frames = [line for line in client.post(server.url + "/v1/chat/completions", json=body).text.splitlines() if line.startswith("data: {")]
        assert '"model":"llama3.1:8b"' in frames[-1] and '"finish_reason":"stop"' in frames[-1]


def test_missing_terminator_is_finalised_promptly(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    claude.default = missing_terminator(FULL_TEXT)
    started = time.monotonic()
    message, _ = ask(server, stream=True)
    assert time.monotonic() - started < 5
    assert text_of(message).startswith(FULL_TEXT)
    assert message.stop_reason in ("end_turn", "max_tokens")


def test_rescue_with_a_target_that_rejects_prefill_restarts_cleanly(fake_anthropic, fake_openai, make_trooper):
    fake_anthropic.default = stream_cut(3, FULL_TEXT)
    fake_openai.default = echo(lambda r: "restarted")
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url,
        OPENAI_API_KEY="sk-test-openai-0123456789", OPENAI_URL=fake_openai.chat_completions_url,
    )
    message, _ = ask(server, stream=True)
    assert text_of(message).endswith("restarted")
    sent = fake_openai.requests[-1].json["messages"]
    assert sent[-1]["role"] == "user" and "cut off" in str(sent[-1]["content"])


def test_unrescuable_stream_ends_with_a_protocol_error_not_a_truncated_success(fake_anthropic, make_trooper):
    fake_anthropic.default = stream_cut(3, FULL_TEXT)
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with pytest.raises(anthropic.APIError):
        ask(server, stream=True)
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0) as client:
        with pytest.raises(openai.APIError):
            with client.chat.completions.stream(model="gpt-4o-mini", messages=[{"role": "user", "content": "explain"}]) as s:
                s.get_final_completion()
    fake_anthropic.default = reply_text("back")
    assert text_of(ask(server)[0]) == "back", "the server still serves"


# ---------------------------------------------------------------- breaker and recovery


def test_breaker_opens_skips_the_primary_and_returns_after_recovery(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text(LOCAL_TEXT)
    fake_anthropic.default = reply_text(FULL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        # A cooldown of seconds, not one: on a loaded machine the fake's restart and the next ask
        # could outlast a 1 s cooldown, and the breaker would rightly be half-open already.
        TROOPER_BREAKER_FAILURES="2", TROOPER_BREAKER_COOLDOWN="3", AUTO_RECOVERY="false",
    )
    fake_anthropic.stop()
    for _ in range(2):
        assert ask(server)[1]["x-trooper-provider"] == "ollama"
    with httpx.Client() as client:
        assert client.get(server.url + "/health").json()["breakers"]["claude"] == "open"
    fake_anthropic.start()
    assert ask(server)[1]["x-trooper-provider"] == "ollama"
    assert fake_anthropic.requests == [], "an open breaker skips the provider"
    time.sleep(3.2)
    message, headers = ask(server)
    assert headers["x-trooper-provider"] == "claude" and text_of(message) == FULL_TEXT


def test_two_hangs_open_the_breaker_a_hang_counting_double(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text(LOCAL_TEXT)
    fake_anthropic.default = hang(10)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_FIRST_TOKEN_TIMEOUT="0.3", TROOPER_PROVIDER_TIMEOUT="0.3", AUTO_RECOVERY="false",
    )
    assert server.settings.breaker_failures == 3
    for stream in (False, True):
        assert ask(server, stream=stream)[1]["x-trooper-decision"] == "ollama (fallback: timeout)"
    with httpx.Client() as client:
        assert client.get(server.url + "/health").json()["breakers"]["claude"] == "open"
    assert ask(server)[1]["x-trooper-provider"] == "ollama"
    assert len(fake_anthropic.requests) == 2, "the third turn skips the hung provider"


def test_auto_recovery_probes_in_the_background_and_returns_traffic(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text(LOCAL_TEXT)
    fake_anthropic.default = reply_text(FULL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_BREAKER_FAILURES="1", TROOPER_BREAKER_COOLDOWN="0.5", AUTO_RECOVERY="true",
    )
    fake_anthropic.stop()
    assert ask(server)[1]["x-trooper-provider"] == "ollama"
    fake_anthropic.start()
    probe = fake_anthropic.wait_for_requests(1, timeout=5)[0]
    assert probe.json["max_tokens"] == 1, "the probe is a one-token request, not a user's turn"
    with httpx.Client() as client:
        deadline = time.monotonic() + 5
        while client.get(server.url + "/health").json()["breakers"]["claude"] != "closed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    message, headers = ask(server)
    assert headers["x-trooper-provider"] == "claude" and text_of(message) == FULL_TEXT


# ---------------------------------------------------------------- the original's sanity cases


def test_simple_turn_goes_local_and_skips_the_cloud(claude_and_ollama):
    server, claude, _ = claude_and_ollama
    message, headers = ask(server, "how many days in a week")
    assert headers["x-trooper-decision"] == "ollama (simple turn) | cloud skipped"
    assert claude.requests == []
    assert text_of(message) == LOCAL_TEXT


def test_session_memory_survives_fallback_and_sessions_do_not_bleed(claude_and_ollama):
    server, claude, ollama = claude_and_ollama
    claude.default = reply_text("Nice to meet you, Souvik.")
    history = [{"role": "user", "content": "my name is Souvik, explain what you can do"}]
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0) as client:
        first = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=history)
        history += [{"role": "assistant", "content": text_of(first)}, {"role": "user", "content": "explain what is my name"}]
        claude.default = out_of_credit()
        ollama.default = echo(lambda r: "Your name is Souvik." if "Souvik" in str(r.json) else "I don't know.")
        second = client.messages.create(model="claude-haiku-4-5", max_tokens=50, messages=history)
        assert text_of(second) == "Your name is Souvik."
        other = client.messages.create(
            model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "explain what is my name"}]
        )
        assert text_of(other) == "I don't know."


def test_a_continuation_that_adds_nothing_completes_an_unterminated_answer(fake_anthropic, fake_ollama, make_trooper):
    """The whole answer arrived but its message_stop did not; the local model, asked to continue,
    adds nothing: the answer is complete, not "cut off and no provider could continue it"."""
    fake_ollama.default = reply_text("")
    fake_anthropic.default = missing_terminator(FULL_TEXT)
    server = make_trooper(
        CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url,
        TROOPER_FIRST_TOKEN_TIMEOUT="1", TROOPER_IDLE_TIMEOUT="1", TROOPER_PROVIDER_TIMEOUT="2",
    )
    message, _ = ask(server, stream=True)
    assert text_of(message) == FULL_TEXT
    assert message.stop_reason == "end_turn"
