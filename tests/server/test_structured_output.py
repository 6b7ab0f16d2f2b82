"""Structured output survives the proxy: a JSON schema asked for at any front door reaches the
model that answers, in that model's own shape, and the SDKs' ``parse`` helpers get their object.
Before, Chat Completions' ``response_format`` was dropped without a word (the model answered in
prose and ``chat.completions.parse`` failed on it), and the Responses API's ``text.format`` and
Claude's ``output_config`` were refused or ignored."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pydantic
import pytest

from tests.fakes.behaviours import reply_text
from trooper.wire.output_format import JSON_MODE_INSTRUCTION

CLAUDE_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
CLOUD = {"X-Trooper-Route": "cloud"}
LOCAL = {"X-Trooper-Route": "local"}
ANSWER = '{"city": "Paris", "celsius": 21}'


class Weather(pydantic.BaseModel):
    city: str
    celsius: int


#: ``Weather``'s schema as the openai SDK sends it (strict: every property required, no others).
STRICT_SCHEMA = {
    "type": "object",
    "properties": {"city": {"title": "City", "type": "string"}, "celsius": {"title": "Celsius", "type": "integer"}},
    "required": ["city", "celsius"],
    "title": "Weather",
    "additionalProperties": False,
}


@pytest.fixture
def upstreams(fake_anthropic, fake_openai, fake_ollama):
    for fake in (fake_anthropic, fake_openai, fake_ollama):
        fake.default = reply_text(ANSWER)
    return fake_anthropic, fake_openai, fake_ollama


@pytest.fixture
def claude(upstreams, make_trooper):
    fake_claude, _, fake_ollama = upstreams
    server = make_trooper(CLAUDE_API_KEY=CLAUDE_KEY, CLAUDE_URL=fake_claude.messages_url, FALLBACK_URL=fake_ollama.api_chat_url)
    return server, fake_claude, fake_ollama


@pytest.fixture
def openai_only(upstreams, make_trooper):
    _, fake_openai, fake_ollama = upstreams
    server = make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url, FALLBACK_URL=fake_ollama.api_chat_url)
    return server, fake_openai


def openai_sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def test_chat_parse_through_claude_gets_its_object_and_claude_gets_the_schema(claude):
    server, fake_claude, _ = claude
    with openai_sdk(server.url) as client:
        completion = client.chat.completions.parse(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Paris?"}], response_format=Weather, extra_headers=CLOUD
        )
    assert completion.choices[0].message.parsed == Weather(city="Paris", celsius=21)
    sent = fake_claude.requests[-1].json
    assert sent["output_config"] == {"format": {"type": "json_schema", "schema": STRICT_SCHEMA}}


def test_chat_response_format_reaches_openai_as_sent(openai_only):
    server, fake_openai = openai_only
    response_format = {"type": "json_schema", "json_schema": {"name": "Weather", "schema": STRICT_SCHEMA, "strict": True, "description": "d"}}
    with openai_sdk(server.url) as client:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Paris?"}],
            response_format=response_format, extra_headers=CLOUD,  # type: ignore[arg-type]
        )
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Paris, as JSON?"}],
            response_format={"type": "json_object"}, extra_headers=CLOUD,
        )
    schema_body, json_mode_body = (request.json for request in fake_openai.requests[-2:])
    assert schema_body["response_format"] == response_format
    assert json_mode_body["response_format"] == {"type": "json_object"}


def test_local_model_gets_ollamas_format(claude):
    server, _, fake_ollama = claude
    with openai_sdk(server.url) as client:
        completion = client.chat.completions.parse(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Paris?"}], response_format=Weather, extra_headers=LOCAL
        )
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Weather in Paris, as JSON?"}],
            response_format={"type": "json_object"}, extra_headers=LOCAL,
        )
    assert completion.choices[0].message.parsed == Weather(city="Paris", celsius=21)
    schema_body, json_mode_body = (request.json for request in fake_ollama.requests[-2:])
    assert schema_body["format"] == STRICT_SCHEMA
    assert json_mode_body["format"] == "json"


def test_json_mode_reaches_claude_as_an_instruction_after_the_cached_system_blocks(claude):
    server, fake_claude, _ = claude
    with openai_sdk(server.url) as client:
        client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather?"}],
            response_format={"type": "json_object"}, extra_headers=CLOUD,
        )
    sent = fake_claude.requests[-1].json
    assert sent["system"] == f"Be brief.\n\n{JSON_MODE_INSTRUCTION}" and "output_config" not in sent

    system = [{"type": "text", "text": "You are a weather bot.", "cache_control": {"type": "ephemeral"}}]
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": system, "messages": [{"role": "user", "content": "Weather?"}]}
    with httpx.Client(base_url=server.url) as http:
        # Only an OpenAI client can ask for JSON mode; Claude's own clients send a schema.
        assert http.post("/v1/messages", json={**body, "output_config": {"format": {"type": "json_object"}}}, headers=CLOUD).status_code == 400


def test_responses_parse_through_claude_echoes_the_format(claude):
    server, fake_claude, _ = claude
    with openai_sdk(server.url) as client:
        response = client.responses.parse(model="gpt-5", input="Weather in Paris?", text_format=Weather, extra_headers=CLOUD)
        streamed = client.responses.create(
            model="gpt-5", input="Weather in Paris, briefly?", extra_headers=CLOUD,
            text={"format": {"type": "json_schema", "name": "Weather", "schema": STRICT_SCHEMA, "strict": True}, "verbosity": "low"},
            stream=True,
        )
        completed = [event.response for event in streamed if event.type == "response.completed"]
    assert response.output_parsed == Weather(city="Paris", celsius=21)
    assert response.text is not None and response.text.format is not None and response.text.format.type == "json_schema"
    assert fake_claude.requests[-2].json["output_config"] == {"format": {"type": "json_schema", "schema": STRICT_SCHEMA}}
    assert completed[0].text is not None and completed[0].text.verbosity == "low"
    assert completed[0].text.format is not None and completed[0].text.format.type == "json_schema"
    with openai_sdk(server.url) as client:
        kept = client.responses.retrieve(response.id)
    assert kept.text is not None and kept.text.format is not None and kept.text.format.type == "json_schema"


def test_responses_format_and_verbosity_reach_openai_by_either_of_its_apis(openai_only):
    server, fake_openai = openai_only
    text = {"format": {"type": "json_schema", "name": "Weather", "schema": STRICT_SCHEMA, "strict": True}, "verbosity": "low"}
    with openai_sdk(server.url) as client:
        client.responses.create(model="gpt-5", input="Weather in Paris?", text=text, extra_headers=CLOUD)  # type: ignore[arg-type]
        by_chat = fake_openai.requests[-1]
        # A built-in tool takes the turn to OpenAI's Responses API.
        client.responses.create(model="gpt-5", input="Weather in Paris?", text=text, tools=[{"type": "web_search"}])  # type: ignore[arg-type]
        by_responses = fake_openai.requests[-1]
    assert by_chat.path.endswith("/chat/completions") and by_responses.path.endswith("/responses")
    assert by_chat.json["response_format"] == {"type": "json_schema", "json_schema": {k: v for k, v in text["format"].items() if k != "type"}}
    assert by_chat.json["verbosity"] == "low"
    assert by_responses.json["text"] == text


def test_claude_clients_output_config_reaches_claude_and_the_local_model(claude):
    server, fake_claude, fake_ollama = claude
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False}
    with anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True) as client:
        for route in (CLOUD, LOCAL):
            client.messages.create(
                model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "Which city?"}],
                extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}}, extra_headers=route,
            )
    assert fake_claude.requests[-1].json["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert fake_ollama.requests[-1].json["format"] == schema


@pytest.mark.parametrize(
    "path,body,mentions",
    [
        ("/v1/chat/completions", {"response_format": {"type": "yaml"}}, "response_format.type: must be one of text, json_schema, json_object"),
        ("/v1/chat/completions", {"response_format": {"type": "json_schema", "json_schema": {"name": "W"}}}, "response_format.json_schema.schema: field required"),
        ("/v1/chat/completions", {"verbosity": "terse"}, "verbosity: must be one of low, medium, high"),
        ("/v1/responses", {"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name: field required"),
    ],
)
def test_a_bad_format_is_a_400_in_openai_shape(claude, path, body, mentions):
    server, fake_claude, _ = claude
    base = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]} if "chat" in path else {"model": "gpt-5", "input": "hi"}
    with httpx.Client(base_url=server.url) as http:
        response = http.post(path, json={**base, **body}, headers=CLOUD)
        assert response.status_code == 400
        assert mentions in response.json()["error"]["message"]
        assert http.get("/health").status_code == 200
    assert fake_claude.requests == []
