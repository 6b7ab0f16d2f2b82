"""``POST /v1/messages/count_tokens``: Claude's exact count when the turn would go to Claude,
Trooper's estimate otherwise or when Claude cannot answer; a header says which."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes.behaviours import reply_text

BODY = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "explain the borrow checker in depth " * 30}],
        "system": "You are Claude Code."}


def count(url: str, **headers: str):
    with anthropic.Anthropic(base_url=url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.count_tokens(**BODY, extra_headers=headers)
    return raw.parse().input_tokens, raw.headers["x-trooper-token-count"]


@pytest.fixture
def with_claude(fake_anthropic, fake_ollama, make_trooper):
    fake_ollama.default = reply_text("ok")
    server = make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
                          FALLBACK_URL=fake_ollama.api_chat_url)
    return server, fake_anthropic


def test_a_cloud_turn_is_counted_by_claude(with_claude):
    server, claude = with_claude
    tokens, counter = count(server.url)
    asked = [r for r in claude.requests if r.path == "/v1/messages/count_tokens"]
    assert counter == "claude" and len(asked) == 1
    assert tokens == asked[0].input_tokens(), "Claude's own figure, not Trooper's estimate"
    assert "max_tokens" not in asked[0].json and asked[0].json["system"] == BODY["system"]


def test_claude_failing_falls_back_to_the_estimate(with_claude):
    server, claude = with_claude
    claude.api_key = "sk-ant-another-key-0123456789"  # Claude refuses the key Trooper has: a 401
    tokens, counter = count(server.url)
    assert counter == "estimate" and tokens > 100


def test_a_local_turn_or_no_cloud_is_estimated(fake_ollama, make_trooper, with_claude):
    server, claude = with_claude
    _, counter = count(server.url, **{"X-Trooper-Route": "local"})
    assert counter == "estimate" and not [r for r in claude.requests if r.path.endswith("count_tokens")]
    local_only = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    assert count(local_only.url)[1] == "estimate"


def test_a_bearer_key_is_the_key_claude_counts_with(with_claude):
    # Claude Code with ANTHROPIC_AUTH_TOKEN sends its key as a bearer token, as /v1/messages takes it.
    server, claude = with_claude
    claude.api_key = "sk-ant-caller-bearer-0123456789"
    with anthropic.Anthropic(base_url=server.url, api_key=None, auth_token=claude.api_key, max_retries=0,
                             _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.count_tokens(**BODY)
    assert raw.headers["x-trooper-token-count"] == "claude"
