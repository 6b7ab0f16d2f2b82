"""A turn that forces a tool call goes to the cloud, at every door: OpenAI's ``tool_choice:
"required"`` or a named function (the Agents SDK's handoffs name one), Claude's ``any`` or a named
tool. Before, such a turn with simple words was a "simple turn" for Ollama, which takes no tool
choice, so the force was silently dropped and the model could answer in words."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from tests.fakes.behaviours import reply_text

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
HELLO = [{"role": "user", "content": "hola"}]


@pytest.fixture
def server(claude_and_ollama, fake_anthropic, fake_ollama):
    fake_anthropic.default = reply_text("from Claude")
    fake_ollama.default = reply_text("from Ollama")
    return claude_and_ollama


def oai(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def assert_escalated(headers, fake_anthropic, fake_ollama, choice: dict) -> None:
    assert (headers["x-trooper-provider"], headers["x-trooper-trigger"]) == ("claude", "tool call forced")
    assert headers["x-trooper-decision"] == "claude (escalated)"
    assert fake_anthropic.requests[-1].json["tool_choice"] == choice, "the force reached Claude"
    assert not [r for r in fake_ollama.requests if r.path == "/api/chat"], "the model that cannot force a tool was not asked"


@pytest.mark.parametrize(
    ("tool_choice", "claude_choice"),
    [("required", {"type": "any"}), ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"})],
    ids=["required", "named"],
)
def test_chat_completions(server, fake_anthropic, fake_ollama, tool_choice, claude_choice) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    with oai(server) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4.1", messages=HELLO, tools=tools, tool_choice=tool_choice)  # type: ignore[arg-type]
    assert raw.parse().choices[0].message.content == "from Claude"
    assert_escalated(raw.headers, fake_anthropic, fake_ollama, claude_choice)


def test_responses_handoff(server, fake_anthropic, fake_ollama) -> None:
    handoff = {"type": "function", "name": "transfer_to_spanish_agent", "strict": True,
               "parameters": {"type": "object", "properties": {}, "required": [], "additionalProperties": False}}  # fmt: skip
    with oai(server) as client:
        raw = client.responses.with_raw_response.create(model="gpt-4.1", input="hola", tools=[handoff],  # type: ignore[list-item]
                                                        tool_choice={"type": "function", "name": "transfer_to_spanish_agent"})  # fmt: skip
    assert raw.parse().output_text == "from Claude"
    assert_escalated(raw.headers, fake_anthropic, fake_ollama, {"type": "tool", "name": "transfer_to_spanish_agent"})


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}], ids=["any", "named"])
def test_messages(server, fake_anthropic, fake_ollama, choice) -> None:
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=64, messages=HELLO,  # type: ignore[arg-type]
                                                       tools=[{"name": "get_weather", "input_schema": WEATHER}], tool_choice=choice)  # fmt: skip
    assert raw.parse().content[0].text == "from Claude"  # type: ignore[union-attr]
    assert_escalated(raw.headers, fake_anthropic, fake_ollama, choice)


def test_auto_leaves_a_simple_turn_local(server, fake_anthropic, fake_ollama) -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    with oai(server) as client:
        raw = client.chat.completions.with_raw_response.create(model="gpt-4.1", messages=HELLO, tools=tools, tool_choice="auto")  # type: ignore[arg-type]
    assert raw.headers["x-trooper-decision"] == "ollama (simple turn) | cloud skipped"


def test_a_forced_call_that_must_stay_local_says_the_force_is_dropped(server, fake_ollama) -> None:
    # Kept local (X-Trooper-Route: local, or a fallback), the turn reaches Ollama, which takes no
    # tool choice: the answer may be words, and the headers and the session's events say why.
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
    with oai(server) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4.1", messages=HELLO, tools=tools, tool_choice="required", extra_headers={"X-Trooper-Route": "local"},
        )  # fmt: skip
    server.flush()
    events = httpx.get(f"{server.url}/sessions/{raw.headers['x-trooper-session']}/events", timeout=10).json()["events"]
    assert raw.parse().choices[0].message.content == "from Ollama"
    assert raw.headers["x-trooper-decision"].endswith("| tool choice dropped: the model takes none")
    assert "tool_choice" not in fake_ollama.requests[-1].json
    assert [e["kind"] for e in events if e["kind"] == "tool_choice_dropped"] == ["tool_choice_dropped"]
