"""Gemini 3 tool calls through Trooper: the fake Gemini signs its tool calls and, like the real
API, refuses a turn that sends a call back without its thought signature. Anthropic clients have
no field for it, so Trooper puts it back from the session; a call another model made gets Google's
bypass value."""

from __future__ import annotations

import anthropic
import openai

from tests.client_tools import WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_OPENAI
from tests.fakes.behaviours import overloaded, reply_text, reply_tool_calls, tool_call
from tests.fakes.openai import FakeGemini

GEMINI_3 = {"GEMINI_API_KEY": "AIza-test-0123456789abcdef", "GEMINI_MODEL": "gemini-3-flash-preview"}
QUESTION = {"role": "user", "content": "what is the weather in Paris?"}


def anthropic_client(server) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True)


def signature_sent_back(fake: FakeGemini) -> str | None:
    assistant = next(m for m in fake.last_request.json["messages"] if m["role"] == "assistant")
    return assistant["tool_calls"][0].get("extra_content", {}).get("google", {}).get("thought_signature")


def ask_weather_then_answer_the_tool(client: anthropic.Anthropic, stream: bool) -> str:
    """A tool round trip as an Anthropic agent does it: the call, then its result."""
    first = client.messages.create(model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC], messages=[QUESTION])
    call = next(b for b in first.content if b.type == "tool_use")
    messages = [
        QUESTION,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21°C"}]},
    ]
    if stream:
        with client.messages.stream(model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC], messages=messages) as answer:
            return answer.get_final_text()
    final = client.messages.create(model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC], messages=messages)
    return "".join(b.text for b in final.content if b.type == "text")


def test_an_anthropic_agent_completes_a_gemini_3_tool_round_trip(fake_gemini, make_trooper):
    server = make_trooper(GEMINI_URL=fake_gemini.chat_completions_url, **GEMINI_3)
    for stream in (False, True):
        fake_gemini.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"})), reply_text("Sunny in Paris."))
        with anthropic_client(server) as client:
            assert ask_weather_then_answer_the_tool(client, stream) == "Sunny in Paris."
        assert signature_sent_back(fake_gemini) == fake_gemini.issued_signatures[-1]


def test_an_openai_caller_sees_the_signature_and_gets_it_sent_back_when_it_drops_it(fake_gemini, make_trooper):
    server = make_trooper(GEMINI_URL=fake_gemini.chat_completions_url, **GEMINI_3)
    fake_gemini.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"})), reply_text("Sunny in Paris."))
    tools = [WEATHER_TOOL_OPENAI]
    with openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True) as client:
        first = client.chat.completions.create(model="gpt-4o-mini", tools=tools, messages=[QUESTION])
        call = first.choices[0].message.tool_calls[0]
        assert call.model_extra["extra_content"]["google"]["thought_signature"] == fake_gemini.issued_signatures[-1]
        rebuilt = {"id": call.id, "type": "function", "function": {"name": call.function.name, "arguments": call.function.arguments}}
        final = client.chat.completions.create(model="gpt-4o-mini", tools=tools, messages=[
            QUESTION,
            {"role": "assistant", "content": None, "tool_calls": [rebuilt]},  # the signature left out
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21°C"},
        ])  # fmt: skip
    assert final.choices[0].message.content == "Sunny in Paris."
    assert signature_sent_back(fake_gemini) == fake_gemini.issued_signatures[-1]


def test_a_tool_call_claude_made_reaches_gemini_3_with_the_bypass_after_a_fallback(fake_anthropic, fake_gemini, make_trooper):
    server = make_trooper(
        CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url,
        GEMINI_URL=fake_gemini.chat_completions_url, **GEMINI_3,
    )
    fake_anthropic.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"})), overloaded())
    fake_gemini.enqueue(reply_text("Sunny in Paris."))
    with anthropic_client(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC], messages=[QUESTION]
        )
        first = raw.parse()
        call = next(b for b in first.content if b.type == "tool_use")
        final = client.messages.create(model="claude-haiku-4-5", max_tokens=200, tools=[WEATHER_TOOL_ANTHROPIC], messages=[
            QUESTION,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21°C"}]},
        ])  # fmt: skip
    assert "".join(b.text for b in final.content if b.type == "text") == "Sunny in Paris."
    assert signature_sent_back(fake_gemini) == FakeGemini.SIGNATURE_BYPASS
