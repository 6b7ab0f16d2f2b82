"""Claude's server tools through the Messages door, with the official anthropic SDK (strict
validation): Claude Code's WebSearch request (a ``web_search_20250305`` tool) is answered by Claude
alone, its ``server_tool_use`` / ``web_search_tool_result`` blocks and the text's citations reach
the client as Claude sent them, created and streamed; the history resent with them reaches Claude
verbatim and any other upstream without them; and a turn no Claude may answer is refused
(``routing/builtin_tools.py``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anthropic
import httpx
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import overloaded, reply_text
from tests.harness import TrooperThread

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
#: What Claude Code sends for its WebSearch tool.
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8, "allowed_domains": ["example.org"]}


@pytest.fixture
def claude_first(fake_anthropic, fake_openai, fake_ollama, make_trooper):
    """A Trooper with Claude, then OpenAI, in its cloud chain, and a local tier."""
    env = {
        "CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url,
        "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_URL": fake_openai.chat_completions_url,
        "FALLBACK_URL": fake_ollama.api_chat_url,
    }  # fmt: skip
    return make_trooper(**env), fake_anthropic, fake_openai, fake_ollama


def sdk(server: TrooperThread) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True)


def chats(fake: Any) -> list[Any]:
    """What a local fake was asked to answer (not its model list)."""
    return [r for r in fake.requests if r.path == "/api/chat"]


def ask(client: anthropic.Anthropic, stream: bool, **request: Any) -> tuple[Any, httpx.Headers]:
    """The answer (a stream's final message) and Trooper's headers."""
    if not stream:
        raw = client.messages.with_raw_response.create(**request)
        return raw.parse(), raw.headers
    with client.messages.stream(**request) as events:
        return events.get_final_message(), events.response.headers


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_web_search_is_answered_by_claude_and_its_blocks_reach_the_client_verbatim(claude_first, stream):
    server, claude, openai_fake, local = claude_first
    claude.default = reply_text("Trooper 2.0 shipped on Monday.", chunks=["Trooper 2.0 ", "shipped ", "on Monday."])
    with sdk(server) as client:
        message, headers = ask(
            client, stream, model="claude-sonnet-4-5", max_tokens=512, tools=[WEATHER_TOOL_ANTHROPIC, WEB_SEARCH],
            messages=[{"role": "user", "content": "hi"}],  # a simple turn: the classifier alone would keep it local
            extra_headers={"X-Session-ID": f"websearch-{stream}"},
        )
    assert headers["x-trooper-decision"] == "claude (built-in tools: web_search_20250305)"
    assert chats(local) == [] and openai_fake.requests == [], "only Claude runs its server tools"
    (sent,) = claude.requests
    assert sent.json["tools"] == [{**WEATHER_TOOL_ANTHROPIC, "description": WEATHER_TOOL_ANTHROPIC.get("description", "")}, WEB_SEARCH]
    use, result, text = message.content
    assert use.type == "server_tool_use" and use.name == "web_search" and use.input == {"query": "hi"}
    assert result.type == "web_search_tool_result" and result.tool_use_id == use.id
    assert result.content[0].url == "https://example.org/found" and result.content[0].encrypted_content.startswith("Eq")
    assert text.text == "Trooper 2.0 shipped on Monday."
    # Claude's usage whole, as cost trackers read it: the searches billed, the cache writes by lifetime.
    assert message.usage.server_tool_use.web_search_requests == 1 and message.usage.service_tier == "standard"
    assert message.usage.cache_creation.ephemeral_5m_input_tokens == message.usage.cache_creation_input_tokens
    (citation,) = text.citations
    assert citation.type == "web_search_result_location" and citation.encrypted_index.startswith("Eo")


def test_the_history_with_server_blocks_reaches_claude_verbatim_and_the_local_model_without_them(claude_first):
    server, claude, _, local = claude_first
    claude.default = reply_text("Trooper 2.0 shipped on Monday.")
    local.default = reply_text("Noted.")
    with sdk(server) as client:
        question = {"role": "user", "content": "latest trooper release"}
        first = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, tools=[WEB_SEARCH], messages=[question],
                                       extra_headers={"X-Session-ID": "websearch-history"})
        history = [question, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]}]
        again = history + [{"role": "user", "content": "and the one before?"}]
        client.messages.create(model="claude-sonnet-4-5", max_tokens=512, tools=[WEB_SEARCH], messages=again,
                               extra_headers={"X-Session-ID": "websearch-history"})
        local_turn = history + [{"role": "user", "content": "thanks!"}]
        raw = client.messages.with_raw_response.create(model="claude-sonnet-4-5", max_tokens=512, messages=local_turn,
                                                       extra_headers={"X-Session-ID": "websearch-history", "X-Trooper-Route": "local"})
        transcript = httpx.get(f"{server.url}/sessions/websearch-history/transcript").json()["turns"]
    assert raw.headers["x-trooper-decision"].startswith("ollama")
    resent = claude.requests[1].json["messages"][1]["content"]
    assert [block["type"] for block in resent] == ["server_tool_use", "web_search_tool_result", "text"]
    assert resent == history[1]["content"], "Claude gets its own blocks back as it sent them (encrypted content, citations)"
    local_history = chats(local)[0].json["messages"]
    assert [m["content"] for m in local_history[-3:]] == ["latest trooper release", "Trooper 2.0 shipped on Monday.", "thanks!"]
    kinds = [block["type"] for block in transcript[1]["content"]]
    assert kinds == ["hosted_tool", "hosted_tool", "text"] and transcript[1]["content"][0]["host"] == "anthropic"


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_a_paused_server_tool_turn_tells_the_client_to_resend(claude_first, stream):
    # Claude pauses a long server-tool turn: its client must see pause_turn to resend and continue it.
    server, claude, _, _ = claude_first
    claude.default = replace(reply_text("Searching further"), stop_reason="pause_turn")
    with sdk(server) as client:
        message, _ = ask(client, stream, model="claude-sonnet-4-5", max_tokens=512, tools=[WEB_SEARCH],
                         messages=[{"role": "user", "content": "every trooper release"}])
    assert message.stop_reason == "pause_turn"
    assert [block.type for block in message.content] == ["server_tool_use", "web_search_tool_result", "text"]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_code_execution_runs_in_the_container_the_client_names_and_the_answer_names_it(claude_first, stream):
    server, claude, _, _ = claude_first
    claude.default = reply_text("Done.")
    code_execution = {"type": "code_execution_20250825", "name": "code_execution"}
    with sdk(server) as client:
        first, _ = ask(client, stream, model="claude-sonnet-4-5", max_tokens=512, tools=[code_execution],
                       messages=[{"role": "user", "content": "make a csv"}])
        again, _ = ask(client, stream, model="claude-sonnet-4-5", max_tokens=512, tools=[code_execution], container=first.container.id,
                       messages=[{"role": "user", "content": "now plot it"}])
    assert first.container.id.startswith("container_") and again.container.id == first.container.id
    assert "container" not in claude.requests[0].json and claude.requests[1].json["container"] == first.container.id


def test_claude_failing_fails_the_turn_clearly_without_a_fallback(claude_first):
    server, claude, openai_fake, local = claude_first
    claude.default = overloaded()
    with sdk(server) as client:
        with pytest.raises(anthropic.APIStatusError) as raised:
            client.messages.create(model="claude-sonnet-4-5", max_tokens=64, tools=[WEB_SEARCH], messages=[{"role": "user", "content": "news?"}])
    assert raised.value.status_code >= 500 and "Built-in tools run only on Claude" in raised.value.message
    assert raised.value.response.headers["x-trooper-decision"].startswith("claude (failed")
    assert chats(local) == [] and openai_fake.requests == [], "no other provider answers without the tools"


REFUSALS = [
    ("no claude", {}, "no Claude is configured to run them"),
    ("forced local", {"X-Trooper-Route": "local"}, "forced to the local model"),
]


@pytest.mark.parametrize("case,headers,why", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_turn_no_claude_may_answer_is_a_clear_400(case, headers, why, fake_anthropic, fake_openai, fake_ollama, make_trooper):
    env = {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_URL": fake_openai.chat_completions_url, "FALLBACK_URL": fake_ollama.api_chat_url}
    if case == "forced local":
        env |= {"CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url}
    server = make_trooper(**env)
    with httpx.Client(base_url=server.url, headers=headers) as client:
        body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "tools": [WEB_SEARCH], "messages": [{"role": "user", "content": "news?"}]}
        response = client.post("/v1/messages", json=body)
        assert client.get("/sessions").json()["sessions"] == [], "nothing of a refused request is recorded"
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "'web_search_20250305' run only on Claude's servers" in error["message"] and why in error["message"]
    assert "CLAUDE_API_KEY" in error["message"]
    assert fake_anthropic.requests == [] and fake_openai.requests == [] and chats(fake_ollama) == []
