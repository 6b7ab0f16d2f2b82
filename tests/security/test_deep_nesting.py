"""JSON nested deep inside a valid request (a tool call's input, a tool schema) is refused with a
400 in the caller's shape, never a 500 from a recursion limit further in, and nothing is stored."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes.behaviours import reply_text

DEPTH = 990


NESTED = "NESTED"


def nested(depth: int) -> str:
    """JSON text nested ``depth`` objects deep (too deep for json.dumps to write it)."""
    return '{"a": ' * depth + '{"leaf": 1}' + "}" * depth


def raw(body: dict) -> bytes:
    return json.dumps(body).replace(f'"{NESTED}"', nested(DEPTH)).encode()


@pytest.fixture
def local(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("fine")
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)


@pytest.mark.parametrize("where", ["tool input", "tool schema", "metadata"])
def test_deep_json_in_an_anthropic_request(local, where):
    body: dict = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
    if where == "tool input":
        body["messages"] = [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": NESTED}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
        ]
    elif where == "tool schema":
        body["tools"] = [{"name": "w", "input_schema": {"type": "object", "properties": NESTED}}]
    else:
        body["metadata"] = NESTED
    response = httpx.post(f"{local.url}/v1/messages", content=raw(body), headers={"content-type": "application/json", "X-Session-ID": f"deep-{where.replace(' ', '-')}"}, timeout=20)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "nested" in response.json()["error"]["message"]
    local.flush()
    assert httpx.get(f"{local.url}/sessions/deep-{where.replace(' ', '-')}", timeout=10).status_code == 404
    assert httpx.post(f"{local.url}/v1/messages", timeout=20,
                      json={"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200


def test_deep_tool_arguments_in_an_openai_request(local):
    """The arguments are JSON inside a JSON string: parsed by Trooper itself, further in."""
    body = {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "w", "arguments": nested(DEPTH)}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"},
    ]}
    response = httpx.post(f"{local.url}/v1/chat/completions", json=body, timeout=20, headers={"X-Session-ID": "deep-oai"})
    assert response.status_code == 400, response.text
    assert "nested" in response.json()["error"]["message"]
