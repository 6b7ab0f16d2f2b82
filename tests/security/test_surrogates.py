"""Lone surrogates ("\\ud800", what JavaScript makes of a string cut inside an emoji) at every
boundary: client bodies in each position, the chat API, upstream answers and streams. Each is
replaced with U+FFFD (trooper/json_text.py says why), the turn is answered and stored whole, and
the server keeps serving. Before, each of these was a 500, a half-stored session or a dead stream.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.fakes.behaviours import reply_text
from trooper.json_text import REPLACEMENT, loads

LONE = "\\ud800"  # as it travels in JSON: an escape, since UTF-8 cannot carry it


def raw(body: dict) -> bytes:
    """``body`` as JSON with every "LONE" placeholder turned into a lone-surrogate escape."""
    return json.dumps(body).replace("LONE", LONE).encode()


@pytest.fixture
def local(fake_ollama, make_trooper):
    fake_ollama.default = reply_text("fine")
    return make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)


def transcript(server, session: str) -> list[dict]:
    server.flush()
    return httpx.get(f"{server.url}/sessions/{session}/transcript", timeout=10).json()["turns"]


ANTHROPIC_BODIES = {
    "user text": {"messages": [{"role": "user", "content": "emoji cut LONE here"}]},
    "system": {"system": "be brief LONE", "messages": [{"role": "user", "content": "hi"}]},
    "text block": {"messages": [{"role": "user", "content": [{"type": "text", "text": "LONE"}]}]},
    "earlier turn": {"messages": [
        {"role": "user", "content": "first LONE"}, {"role": "assistant", "content": "ok LONE"},
        {"role": "user", "content": "second"},
    ]},
    "tool input and result": {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {"city": "Paris LONE"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny LONE"}]},
    ]},
    "key": {"messages": [{"role": "user", "content": "hi"}], "metadata": {"user_id": "LONE"}},
}


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
@pytest.mark.parametrize("position", sorted(ANTHROPIC_BODIES))
def test_anthropic_front_door(local, position, stream):
    body = {"model": "claude-haiku-4-5", "max_tokens": 32, "stream": stream, **ANTHROPIC_BODIES[position]}
    session = f"sur-a-{position.replace(' ', '-')}-{stream}"
    response = httpx.post(f"{local.url}/v1/messages", content=raw(body), timeout=20,
                          headers={"content-type": "application/json", "X-Session-ID": session, "X-Trooper-Route": "local"})
    assert response.status_code == 200, response.text
    assert ("message_stop" in response.text) if stream else response.json()["content"][0]["text"] == "fine"
    turns = transcript(local, session)
    assert len(turns) == len(body["messages"]) + 1, "every turn stored"
    stored = json.dumps(turns, ensure_ascii=False)
    if position not in ("system", "key"):
        assert REPLACEMENT in stored


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_openai_front_door_and_tool_arguments(local, stream):
    body = {"model": "gpt-4o-mini", "stream": stream, "messages": [
        {"role": "system", "content": "sys LONE"},
        {"role": "user", "content": "weather LONE?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "w", "arguments": json.dumps({"city": "Nice LONE"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "rain LONE"},
    ]}
    session = f"sur-o-{stream}"
    response = httpx.post(f"{local.url}/v1/chat/completions", content=raw(body), timeout=20,
                          headers={"content-type": "application/json", "X-Session-ID": session, "X-Trooper-Route": "local"})
    assert response.status_code == 200, response.text
    assert "[DONE]" in response.text if stream else response.json()["choices"][0]["message"]["content"] == "fine"
    assert len(transcript(local, session)) == 4


def test_chat_api_keeps_the_chat_working(local):
    chat = httpx.post(f"{local.url}/api/chat/sessions", json={}, timeout=10).json()["id"]
    body = raw({"content": "cut emoji LONE"})
    with httpx.stream("POST", f"{local.url}/api/chat/sessions/{chat}/messages", content=body, timeout=20,
                      headers={"content-type": "application/json"}) as response:
        events = "".join(response.iter_text())
    assert response.status_code == 200 and "event: done" in events, events
    again = httpx.post(f"{local.url}/api/chat/sessions/{chat}/messages", json={"content": "still there?"}, timeout=20)
    assert again.status_code == 200 and "event: done" in again.text


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
def test_an_upstream_answer_with_a_lone_surrogate(fake_ollama, make_trooper, stream):
    fake_ollama.default = reply_text("half an emoji \ud83d and the rest")  # the fake escapes it, as JSON must
    server = make_trooper(FALLBACK_URL=fake_ollama.api_chat_url)
    body = {"model": "claude-haiku-4-5", "max_tokens": 32, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{server.url}/v1/messages", json=body, timeout=20, headers={"X-Session-ID": f"sur-up-{stream}"})
    assert response.status_code == 200, response.text
    if stream:
        assert "message_stop" in response.text
        events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
        text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
    else:
        text = response.json()["content"][0]["text"]
    assert REPLACEMENT in text and "and the rest" in text
    assert len(transcript(server, f"sur-up-{stream}")) == 2


def test_loads_refuses_what_is_not_json_and_scrubs_keys_too():
    for text in ('{"x": NaN}', '{"x": Infinity}', '[-Infinity]', '{"n": ' + "9" * 5000 + "}"):
        with pytest.raises(ValueError):
            loads(text)
    assert loads('{"\\udc00k": ["\\ud800", {"y": "\\ud83d\\ude00"}]}') == {"\ufffdk": ["\ufffd", {"y": "😀"}]}
