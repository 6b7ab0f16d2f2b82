"""A function tool's ``strict`` reaches the upstreams that take it. The OpenAI Agents SDK and
``openai.pydantic_function_tool`` mark their tools strict, so OpenAI holds a call's arguments to
the schema; before, every door dropped ``strict``, and the arguments OpenAI or Claude wrote were no
longer guaranteed. The Responses API takes an omitted ``strict`` as true (normalising the schema
into strict form), Chat Completions and Claude as false: a Responses tool passed on to Chat
Completions says so, with the schema as OpenAI would have normalised it."""

from __future__ import annotations

import anthropic
import openai
import pydantic
import pytest

from tests.fakes.behaviours import reply_text

CLOUD = {"X-Trooper-Route": "cloud"}
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
#: An Agents SDK tool: ``strict`` said, the schema already in strict form.
AGENTS_TOOL = {"type": "function", "name": "get_weather", "description": "Get the weather.", "strict": True, "parameters": WEATHER}
#: A tool with an optional field and no ``strict``: the Responses API makes it strict, every field required.
LOOSE = {"type": "object", "properties": {"city": {"type": "string"}, "units": {"type": "string"}}, "required": ["city"]}


class Weather(pydantic.BaseModel):
    city: str


@pytest.fixture
def openai_server(fake_openai, make_trooper):
    fake_openai.default = reply_text("Sunny.")
    return make_trooper(OPENAI_API_KEY="sk-test-openai-0123456789abcdef", OPENAI_URL=fake_openai.chat_completions_url)


@pytest.fixture
def claude_server(fake_anthropic, make_trooper):
    fake_anthropic.default = reply_text("Sunny.")
    return make_trooper(CLAUDE_API_KEY="sk-ant-test-0123456789abcdef", CLAUDE_URL=fake_anthropic.messages_url)


def oai(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def sent_function(fake_openai) -> dict:
    return fake_openai.requests[-1].json["tools"][0]["function"]


def test_a_pydantic_function_tool_stays_strict_at_openai(openai_server, fake_openai) -> None:
    with oai(openai_server) as client:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Weather in Tokyo?"}],
                                       tools=[openai.pydantic_function_tool(Weather)], extra_headers=CLOUD)  # fmt: skip
    function = sent_function(fake_openai)
    assert function["strict"] is True and function["parameters"]["additionalProperties"] is False


def test_a_chat_tool_that_says_nothing_is_sent_without_strict(openai_server, fake_openai) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": LOOSE}}
    with oai(openai_server) as client:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Weather in Tokyo?"}],
                                       tools=[tool], extra_headers=CLOUD)  # type: ignore[list-item]  # fmt: skip
    assert "strict" not in sent_function(fake_openai) and sent_function(fake_openai)["parameters"] == LOOSE


def test_an_agents_sdk_tool_at_the_responses_door_stays_strict_at_chat_completions(openai_server, fake_openai) -> None:
    with oai(openai_server) as client:
        client.responses.create(model="gpt-4.1", input="Weather in Tokyo?", tools=[AGENTS_TOOL], extra_headers=CLOUD)  # type: ignore[list-item]
    function = sent_function(fake_openai)
    assert function["strict"] is True and function["parameters"] == WEATHER


def test_a_responses_tool_that_omits_strict_is_strict_with_its_schema_normalised(openai_server, fake_openai) -> None:
    tool = {"type": "function", "name": "get_weather", "parameters": LOOSE}
    with oai(openai_server) as client:
        client.responses.create(model="gpt-4.1", input="Weather in Tokyo?", tools=[tool], extra_headers=CLOUD)  # type: ignore[list-item]
    function = sent_function(fake_openai)
    assert function["strict"] is True
    assert function["parameters"] == {**LOOSE, "required": ["city", "units"], "additionalProperties": False}


def test_a_responses_tool_strict_false_stays_non_strict(openai_server, fake_openai) -> None:
    tool = {"type": "function", "name": "get_weather", "strict": False, "parameters": LOOSE}
    with oai(openai_server) as client:
        client.responses.create(model="gpt-4.1", input="Weather in Tokyo?", tools=[tool], extra_headers=CLOUD)  # type: ignore[list-item]
    function = sent_function(fake_openai)
    assert function["strict"] is False and function["parameters"] == LOOSE


def test_a_responses_tool_strict_mode_cannot_express_stays_non_strict(openai_server, fake_openai) -> None:
    # An open object (any keys): strict mode has no form for it, so it goes as the client wrote it.
    open_schema = {"type": "object", "properties": {"labels": {"type": "object"}}}
    tool = {"type": "function", "name": "tag", "parameters": open_schema}
    with oai(openai_server) as client:
        client.responses.create(model="gpt-4.1", input="Tag it.", tools=[tool], extra_headers=CLOUD)  # type: ignore[list-item]
    function = sent_function(fake_openai)
    assert "strict" not in function and function["parameters"] == open_schema


def test_strict_reaches_claude_from_the_messages_and_responses_doors(claude_server, fake_anthropic) -> None:
    with anthropic.Anthropic(base_url=claude_server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "Weather in Tokyo?"}],
                               tools=[{"name": "get_weather", "input_schema": WEATHER, "strict": True}], extra_headers=CLOUD)  # fmt: skip
    assert fake_anthropic.requests[-1].json["tools"][0]["strict"] is True
    with oai(claude_server) as client:
        client.responses.create(model="gpt-4.1", input="Weather in Tokyo?", tools=[AGENTS_TOOL], extra_headers=CLOUD)  # type: ignore[list-item]
    assert fake_anthropic.requests[-1].json["tools"][0]["strict"] is True
    with oai(claude_server) as client:
        client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Weather in Tokyo?"}],
                                       tools=[{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}],
                                       extra_headers=CLOUD)  # fmt: skip
    assert "strict" not in fake_anthropic.requests[-1].json["tools"][0], "Claude's default, not said"
