"""Claude's own content blocks for retrieval and tool search pass through: a ``search_result``
block (a RAG app's result, which Claude cites), in a message or a tool result, and a
``tool_reference`` in a tool result (Claude Code's tool search naming a deferred tool to load).
Before, each was a 400. Another model gets their text in their place."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.behaviours import reply_text

RESULT = {
    "type": "search_result", "source": "https://docs.example/pool", "title": "Connection pools",
    "content": [{"type": "text", "text": "Set max_conns to twice the cores."}], "citations": {"enabled": True},
}  # fmt: skip
REFERENCE = {"type": "tool_reference", "tool_name": "mcp__db__query"}
TOOLS = [
    {"name": "ToolSearch", "description": "Find tools.", "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}}},
    {"name": "mcp__db__query", "description": "Query.", "input_schema": {"type": "object", "properties": {}}, "defer_loading": True},
]
HISTORY = [
    {"role": "user", "content": [RESULT, {"type": "text", "text": "How big should my pool be?"}]},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "db"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [REFERENCE, RESULT]}]},
]


@pytest.fixture
def server(claude_and_ollama, fake_anthropic, fake_ollama):
    fake_anthropic.default = fake_ollama.default = reply_text("Twice the cores.")
    return claude_and_ollama


def post(server, messages: list, headers: dict | None = None) -> httpx.Response:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": messages, "tools": TOOLS}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        return http.post("/v1/messages", json=body, headers=headers or {})


def test_claude_gets_them_as_sent_and_a_search_result_turn_goes_to_the_cloud(server, fake_anthropic):
    asked = post(server, HISTORY[:1])
    assert asked.status_code == 200 and asked.headers["x-trooper-trigger"] == "search results"
    assert fake_anthropic.requests[-1].json["messages"][0]["content"][0] == RESULT
    assert post(server, HISTORY).status_code == 200
    assert fake_anthropic.requests[-1].json["messages"][-1]["content"][0]["content"] == [REFERENCE, RESULT]


def test_another_model_gets_their_text(server, fake_ollama):
    assert post(server, HISTORY, {"X-Trooper-Route": "local"}).status_code == 200
    text = "\n".join(m["content"] for m in fake_ollama.requests[-1].json["messages"])
    assert "[search result: Connection pools (https://docs.example/pool)]\nSet max_conns to twice the cores." in text
    assert "[tool mcp__db__query is available]" in text


def test_a_search_result_without_its_title_is_a_400(server, fake_anthropic):
    untitled = {key: value for key, value in RESULT.items() if key != "title"}
    response = post(server, [{"role": "user", "content": [untitled, {"type": "text", "text": "?"}]}])
    assert response.status_code == 400 and "messages[0].content[0].title: field required" in response.json()["error"]["message"]
    assert fake_anthropic.requests == []
