"""A client keeping OpenAI's reasoning itself (Codex CLI, the Agents SDK with ``store: false`` and
``include: ["reasoning.encrypted_content"]``), offering function tools only, through the Responses
door with the official openai SDK (strict validation): when OpenAI answers with a reasoning model,
the turn goes by OpenAI's Responses API (the fake's ``/v1/responses``), so OpenAI's reasoning items
reach the client and go back to OpenAI verbatim and in place; a turn that does not keep them stays
on Chat Completions. The fake refuses a reasoning item it did not issue, or one that lost its
``encrypted_content`` or the item it preceded, as OpenAI does under ``store: false``."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import overloaded, reply_text, reply_tool_calls, tool_call
from tests.fakes.openai_responses import ENCRYPTED_REASONING
from tests.harness import TrooperThread

ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city", "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"]}
KEPT = " | Responses API: reasoning items kept"
QUESTION = {"role": "user", "content": "weather in Paris?"}
#: The Agents SDK's and Codex's stateless settings: the client keeps the conversation, and OpenAI's reasoning.
STATELESS = {"tools": [WEATHER], "store": False, "include": [ENCRYPTED_REASONING]}


@pytest.fixture
def openai_only(fake_openai, make_trooper):
    return make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url), fake_openai


def sdk(server: TrooperThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def ask(client: openai.OpenAI, stream: bool, **request: Any) -> tuple[Any, httpx.Headers]:
    """(the response, Trooper's headers), created or streamed (then the stream's final response)."""
    raw = client.responses.with_raw_response.create(stream=stream, **request)
    if not stream:
        return raw.parse(), raw.headers
    events = list(raw.parse())
    assert events[-1].type == "response.completed", events[-1]
    return events[-1].response, raw.headers


def paths(fake: Any) -> list[str]:
    return [r.path for r in fake.requests if r.path in ("/v1/responses", "/v1/chat/completions")]


def responses_calls(fake: Any) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/v1/responses"]


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_openai_s_reasoning_goes_back_to_it_verbatim_and_in_place_between_tool_calls(openai_only, stream):
    server, fake = openai_only
    thinking = "The weather tool knows Paris; call it first."
    fake.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"}, id="call_paris"), thinking=thinking), reply_text("Sunny in Paris."))
    with sdk(server) as client:
        first, headers = ask(client, stream, model="gpt-5", input=[QUESTION], **STATELESS)
        reasoning, call = first.output
        assert reasoning.type == "reasoning" and (reasoning.id, reasoning.encrypted_content) in fake.issued_reasoning.items()
        assert call.type == "function_call" and call.call_id == "call_paris"
        assert headers["x-trooper-decision"].endswith(KEPT)
        output = {"type": "function_call_output", "call_id": "call_paris", "output": "18C, sunny"}
        resent = [QUESTION, *(item.model_dump(exclude_none=True) for item in first.output), output]
        second, headers = ask(client, stream, model="gpt-5", input=resent, **STATELESS)
    assert second.output_text == "Sunny in Paris." and headers["x-trooper-decision"].endswith(KEPT)
    assert paths(fake) == ["/v1/responses", "/v1/responses"], "both turns by the Responses API, none by Chat Completions"
    sent = responses_calls(fake)[-1]
    assert [item["type"] for item in sent["input"]] == ["message", "reasoning", "function_call", "function_call_output"]
    assert sent["input"][1] == reasoning.model_dump(exclude_none=True), "OpenAI's reasoning item, verbatim, before its call"
    assert [tool["type"] for tool in sent["tools"]] == ["function"] and sent["store"] is False
    assert sent["include"] == [ENCRYPTED_REASONING] and sent["stream"] is stream


def test_a_resent_reasoning_item_is_enough_and_the_choice_is_an_event(openai_only):
    """A client that stops asking for the content still resends what it kept: that turn too goes
    by the Responses API, and the session's events say why."""
    server, fake = openai_only
    fake.enqueue(reply_text("Take an umbrella.", thinking="Rain is forecast."), reply_text("Yes, all day."))
    with sdk(server) as client:
        first = client.responses.create(model="o4-mini", input=[QUESTION], **STATELESS)
        resent = [QUESTION, *(item.model_dump(exclude_none=True) for item in first.output), {"role": "user", "content": "all day?"}]
        raw = client.responses.with_raw_response.create(model="o4-mini", input=resent, tools=[WEATHER], store=False)
    assert raw.parse().output_text == "Yes, all day." and raw.headers["x-trooper-decision"].endswith(KEPT)
    sent = responses_calls(fake)[-1]
    assert [item["type"] for item in sent["input"]] == ["message", "reasoning", "message", "message"] and "include" not in sent
    server.flush()
    session = raw.headers["x-trooper-session"]
    events = httpx.get(f"{server.url}/sessions/{session}/events", timeout=10).json()["events"]
    kept = [e["detail"] for e in events if e["kind"] == "responses_api"]
    assert kept == [{"provider": "openai", "reason": "reasoning items kept"}] * 2


@pytest.mark.parametrize(
    "model, settings",
    [
        ("gpt-5", {"tools": [WEATHER]}),  # a reasoning model, but OpenAI keeps (or drops) its reasoning
        ("gpt-4.1", STATELESS),  # a model that does not reason: no reasoning items to keep
    ],
    ids=["nothing-kept", "no-reasoning-model"],
)
@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_a_turn_not_keeping_openai_s_reasoning_stays_on_chat_completions(openai_only, model, settings, stream):
    server, fake = openai_only
    fake.default = reply_text("Sunny in Paris.", thinking="Paris is usually mild.")
    with sdk(server) as client:
        response, headers = ask(client, stream, model=model, input=[QUESTION], **settings)
    assert response.output_text == "Sunny in Paris." and "Responses API" not in headers["x-trooper-decision"]
    assert paths(fake) == ["/v1/chat/completions"]
    assert all(item.encrypted_content is None for item in response.output if item.type == "reasoning")


def test_openai_answering_as_the_fallback_gets_the_reasoning_by_its_responses_api(fake_anthropic, fake_openai, make_trooper):
    """Claude, first in the chain, gets the turn without OpenAI's items; when it fails, OpenAI
    answers by its Responses API with them."""
    server = make_trooper(
        CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url,
        OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url,
    )  # fmt: skip
    fake_anthropic.default = overloaded()
    fake_openai.enqueue(reply_text("Take an umbrella.", thinking="Rain is forecast."), reply_text("Yes, all day."))
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", input=[QUESTION], **STATELESS)
        resent = [QUESTION, *(item.model_dump(exclude_none=True) for item in first.output), {"role": "user", "content": "all day?"}]
        raw = client.responses.with_raw_response.create(model="gpt-5", input=resent, **STATELESS)
    assert raw.parse().output_text == "Yes, all day." and raw.headers["x-trooper-decision"] == "openai (fallback: overloaded)" + KEPT
    reasoning = first.output[0]
    assert responses_calls(fake_openai)[-1]["input"][1] == reasoning.model_dump(exclude_none=True)
    to_claude = [r.body.decode() for r in fake_anthropic.requests if r.path == "/v1/messages"]
    assert to_claude and all(reasoning.encrypted_content not in body for body in to_claude), "Claude never gets OpenAI's blob"


def test_an_item_openai_cannot_verify_fails_the_turn_with_openai_s_error(openai_only):
    """Reasoning encrypted for another organisation (a client that talked to OpenAI with another
    key): OpenAI's refusal reaches the client as OpenAI's 400, as it would have directly; Trooper
    does not answer on as if the reasoning had never been there."""
    server, fake = openai_only
    foreign = {"type": "reasoning", "id": "rs_elsewhere", "summary": [], "encrypted_content": "gAAAAAB-another-organisation"}
    answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "On Monday."}]}
    with sdk(server) as client, pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model="gpt-5", input=[QUESTION, foreign, answer, {"role": "user", "content": "sure?"}], store=False)
    assert "could not be verified" in refused.value.message and paths(fake) == ["/v1/responses"]
