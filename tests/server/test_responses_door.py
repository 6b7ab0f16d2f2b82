"""The Responses API door through the official openai SDK (strict validation), against a real
Trooper answering from fake upstreams: text, function calls continued by previous_response_id,
images, usage, truncation, reasoning, streams, kept responses, bad input and failures."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import httpx
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC
from tests.fakes.behaviours import echo, reply_text, reply_tool_calls, stream_cut, tool_call
from tests.harness import TrooperThread, settings_from
from tests.images import TINY_PNG
from tests.wire.sdk import response_fields

UPSTREAMS = ["claude", "openai", "ollama"]
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
OPENAI_KEY = "sk-test-openai-0123456789abcdef"
WEATHER = {"type": "function", "name": "get_weather", "description": "Current weather for a city", "parameters": WEATHER_TOOL_ANTHROPIC["input_schema"]}


def claude_env(fake: Any) -> dict[str, str]:
    return {"CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake.messages_url}


@pytest.fixture
def upstream(request, fake_anthropic, fake_openai, fake_ollama, make_trooper):
    """(trooper server, the fake that will answer, its kind) for the parametrised upstream kind."""
    kind = request.param
    if kind == "claude":
        env, fake = claude_env(fake_anthropic), fake_anthropic
    elif kind == "openai":
        env, fake = {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_URL": fake_openai.chat_completions_url}, fake_openai
    else:
        env, fake = {"FALLBACK_URL": fake_ollama.api_chat_url}, fake_ollama
    return make_trooper(**env), fake, kind


@pytest.fixture
def claude(fake_anthropic, make_trooper):
    return make_trooper(**claude_env(fake_anthropic)), fake_anthropic


def sdk(server: TrooperThread) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


def ask(client: openai.OpenAI, stream: bool, **request: Any) -> Any:
    """One response, created or streamed (then as the SDK's stream accumulates it)."""
    if not stream:
        return client.responses.create(**request)
    with client.responses.stream(**request) as events:
        return events.get_final_response()


def chats(fake: Any) -> list[Any]:
    """The requests a fake answered (not Ollama's model look-ups)."""
    return [r for r in fake.requests if r.path in ("/v1/messages", "/v1/chat/completions", "/api/chat")]


def sent(fake: Any) -> str:
    return json.dumps(chats(fake)[-1].json, ensure_ascii=False)


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_text_round_trip_created_and_streamed(upstream):
    server, fake, kind = upstream
    fake.default = reply_text("Seven days.", chunks=["Seven ", "days."])
    with sdk(server) as client:
        raw = client.responses.with_raw_response.create(model="gpt-5", instructions="Be terse.", input="how many days in a week")
        raw_stream = client.responses.with_raw_response.create(model="gpt-5", input="and in a fortnight?", stream=True)
        events = list(raw_stream.parse())
    response = raw.parse()
    assert response.output_text == "Seven days." and response.status == "completed" and response.id.startswith("resp_")
    assert response.instructions == "Be terse." and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert "Be terse." in json.dumps(chats(fake)[0].json)
    for answer in (raw, raw_stream):
        assert answer.headers["x-trooper-provider"] == kind and answer.headers["x-trooper-session"]
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["Seven ", "days."], "chunks arrive as they come"
    assert events[-1].type == "response.completed" and events[-1].response.output_text == "Seven days."


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_a_function_call_and_its_output_continue_by_previous_response_id(upstream, stream):
    server, fake, kind = upstream
    arguments = {"city": "Zürich", "units": ["c", "f"], "days": 3}
    fake.enqueue(reply_tool_calls(tool_call("get_weather", arguments), stop_reason="end_turn" if kind == "ollama" else None))
    fake.enqueue(echo())
    with sdk(server) as client:
        first = ask(client, stream, model="gpt-5", input="weather in Zürich?", tools=[WEATHER])
        (call,) = first.output
        assert call.type == "function_call" and call.name == "get_weather" and json.loads(call.arguments) == arguments
        output = {"type": "function_call_output", "call_id": call.call_id, "output": "21 C, sunny"}
        second = ask(client, stream, model="gpt-5", previous_response_id=first.id, input=[output], tools=[WEATHER])
    assert second.output_text == "21 C, sunny" and second.previous_response_id == first.id
    history = sent(fake)
    assert "weather in Zürich?" in history and "Zürich" in history and "21 C, sunny" in history, "the upstream gets the whole conversation"
    assert kind == "ollama" or call.call_id in history, "the call and its result keep the call's id"


def test_images_reach_the_upstream(claude):
    server, fake = claude
    fake.default = reply_text("A red pixel.")
    image = [
        {"type": "input_text", "text": "what is in these images?"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{TINY_PNG}", "detail": "auto"},
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"},
    ]
    with sdk(server) as client:
        response = client.responses.create(model="gpt-5", input=[{"role": "user", "content": image}], temperature=0.2)
    assert response.output_text == "A red pixel." and response.temperature == 0.2
    assert fake.requests[-1].json["temperature"] == 0.2
    blocks = fake.requests[-1].json["messages"][-1]["content"]
    assert {"type": "base64", "media_type": "image/png", "data": TINY_PNG} in [b.get("source") for b in blocks]
    assert {"type": "url", "url": "https://example.com/cat.png"} in [b.get("source") for b in blocks]


LONG_INSTRUCTIONS = "You review pull requests for the payments service. " * 200  # past OpenAI's 1,024-token floor


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_usage_counts_cached_and_reasoning_tokens(fake_openai, make_trooper, stream):
    fake_openai.default = reply_text("Looks fine.", thinking="The diff only renames a variable.")
    server = make_trooper(OPENAI_API_KEY=OPENAI_KEY, OPENAI_URL=fake_openai.chat_completions_url)
    with sdk(server) as client:
        first = ask(client, stream, model="gpt-5", instructions=LONG_INSTRUCTIONS, input="review PR 7")
        second = ask(client, stream, model="gpt-5", instructions=LONG_INSTRUCTIONS, input="and PR 8?", previous_response_id=first.id)
    assert first.usage.input_tokens_details.cached_tokens == 0
    usage = second.usage
    assert 0 < usage.input_tokens_details.cached_tokens <= usage.input_tokens, "input_tokens count the cached ones too"
    assert usage.output_tokens_details.reasoning_tokens == 7 and usage.output_tokens == 7 + 3
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    reasoning, message = second.output
    assert reasoning.type == "reasoning" and reasoning.content[0].text == "The diff only renames a variable."
    assert message.type == "message" and second.output_text == "Looks fine."


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_max_output_tokens_reached_is_an_incomplete_response(claude, stream):
    server, fake = claude
    fake.default = reply_text("The answer is cut sho", stop_reason="max_tokens")
    request = {"model": "gpt-5", "input": "explain WAL at length", "max_output_tokens": 16}
    with sdk(server) as client:
        if stream:
            events = list(client.responses.create(stream=True, **request))
            assert events[-1].type == "response.incomplete"
            response = events[-1].response
        else:
            response = client.responses.create(**request)
    assert fake.requests[-1].json["max_tokens"] == 16
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output[-1].status == "incomplete" and response.output_text == "The answer is cut sho"
    assert response.max_output_tokens == 16


def test_reasoning_effort_makes_claude_think_and_its_signed_thinking_goes_back(claude):
    server, fake = claude
    fake.default = reply_text("Use WAL.", thinking="Readers must not block the writer.")
    with sdk(server) as client:
        first = client.responses.create(model="gpt-5", input="which journal mode?", reasoning={"effort": "low", "summary": "auto"})
        second = client.responses.create(model="gpt-5", input="why?", previous_response_id=first.id)
    assert fake.requests[0].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert first.reasoning.effort == "low"
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.content[0].text == "Readers must not block the writer."
    assert reasoning.encrypted_content and second.output_text == "Use WAL."
    thinking = fake.requests[1].json["messages"][1]["content"][0]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "Readers must not block the writer."
    assert thinking["signature"].startswith("sig_"), "Claude gets its thinking back with its signature"


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_openai_s_encrypted_reasoning_is_left_out_for_any_other_upstream(upstream):
    """A client that talked to OpenAI before resends its reasoning items: only OpenAI's Responses
    API can read their ``encrypted_content``, and only for a reasoning model, so another upstream
    (and OpenAI asked for a model that does not reason, by Chat Completions) gets the conversation
    without it, and answers."""
    server, fake, kind = upstream
    fake.default = reply_text("Monday.")
    blob = "gAAAAABopaque-reasoning-0123456789abcdefghijklmnopqrstuvwxyz"
    reasoning = {"type": "reasoning", "id": "rs_openai_1", "summary": [{"type": "summary_text", "text": "Check the notes."}], "encrypted_content": blob}
    conversation = [
        {"role": "user", "content": "when did trooper 2.0 ship?"},
        reasoning,
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "On Monday."}]},
        {"role": "user", "content": "which day again?"},
    ]
    with sdk(server) as client:
        response = client.responses.create(model="gpt-4.1", input=conversation, store=False)
    assert response.output_text == "Monday."
    assert blob not in sent(fake) and "rs_openai_1" not in sent(fake)
    assert "On Monday." in sent(fake), "the answer it preceded is kept"


# ---------------------------------------------------------------- streams and kept responses


def normalised(response: Any) -> dict[str, Any]:
    """A response without what differs between two responses to the same answer: ids, time, and
    the prompt's cache (the second request reads what the first wrote)."""
    fields = response_fields(response)
    for key in ("id", "created_at"):
        fields.pop(key)
    if fields.get("usage"):
        fields["usage"].pop("input_tokens_details")
    for item in fields["output"]:
        item.pop("id")
    return fields


def test_a_stream_accumulates_to_the_created_response_and_both_are_kept(claude):
    server, fake = claude
    fake.default = reply_tool_calls(tool_call("get_weather", {"city": "Oslo"}, id="toolu_01fixed"), text="Let me check.", thinking="Oslo is cold.")
    choice = {"type": "function", "name": "get_weather"}
    request = {"model": "gpt-5", "input": "weather in Oslo?", "tools": [WEATHER], "tool_choice": choice, "metadata": {"ticket": "T-9"}}
    with sdk(server) as client:
        created = client.responses.create(**request)
        with client.responses.stream(**request) as stream:
            events = list(stream)
            streamed = stream.get_final_response()
        kept_created = client.responses.retrieve(created.id)
        kept_streamed = client.responses.retrieve(streamed.id)
    assert normalised(streamed) == normalised(created)
    assert fake.requests[-1].json["tool_choice"] == {"type": "tool", "name": "get_weather"} and created.tool_choice.name == "get_weather"
    assert [item.type for item in created.output] == ["reasoning", "message", "function_call"]
    assert response_fields(kept_created) == response_fields(created)
    assert response_fields(kept_streamed) == response_fields(streamed)
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(numbers)))
    assert [e.type for e in events][:2] == ["response.created", "response.in_progress"] and events[-1].type == "response.completed"


def final_event_response(sse: str) -> tuple[str, str]:
    """(the response id, the JSON text of the response) of a stream's ``response.completed``, as sent."""
    (data,) = [line.removeprefix("data: ") for line in sse.splitlines() if line.startswith('data: {"type":"response.completed"')]
    text = data[data.index('"response":') + len('"response":') : -1]
    return json.loads(text)["id"], text


def test_a_streamed_kept_response_is_stored_as_the_bytes_its_client_received(fake_anthropic, make_trooper, tmp_path):
    fake_anthropic.default = reply_tool_calls(tool_call("get_weather", {"city": "Oslo"}), text="Let me check.", thinking="Oslo is cold.")
    database = tmp_path / "trooper.db"
    server = make_trooper(**claude_env(fake_anthropic), TROOPER_DB=str(database))
    body = {"model": "gpt-5", "input": "weather in Oslo, «today»?", "tools": [WEATHER], "metadata": {"ticket": "T-9"}, "stream": True}
    with httpx.Client(base_url=server.url) as client:
        sse = client.post("/v1/responses", json=body).text
    response_id, sent = final_event_response(sse)
    server.flush()
    with sqlite3.connect(database) as db:
        (stored,) = db.execute("SELECT body FROM responses WHERE id = ?", (response_id,)).fetchone()
    assert stored == sent, "one encoding serves the stream's last event and the store"


def test_an_unknown_or_unkept_response_is_not_found(claude):
    server, fake = claude
    fake.default = reply_text("ok")
    with sdk(server) as client:
        with pytest.raises(openai.NotFoundError) as missing:
            client.responses.retrieve("resp_nope")
        unkept = client.responses.create(model="gpt-5", input="hi", store=False)
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(unkept.id)
        with pytest.raises(openai.BadRequestError) as unknown:
            client.responses.create(model="gpt-5", input="more", previous_response_id=unkept.id)
    assert missing.value.body == {"message": "Response with id 'resp_nope' not found.", "type": "invalid_request_error", "param": None, "code": "not_found"}
    assert unknown.value.code == "previous_response_not_found" and unknown.value.param == "previous_response_id"
    assert len(fake.requests) == 1, "a turn that names an unknown response never reaches the upstream"


def test_continuing_an_older_response_forks_the_conversation(claude):
    server, fake = claude
    fake.default = echo()
    with sdk(server) as client:
        r1 = client.responses.create(model="gpt-5", input="one")
        r2 = client.responses.create(model="gpt-5", input="two", previous_response_id=r1.id)
        r3 = client.responses.create(model="gpt-5", input="three", previous_response_id=r1.id)
        client.responses.create(model="gpt-5", input="four", previous_response_id=r2.id)  # back on the first branch
    texts = [[m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in r.json["messages"]] for r in fake.requests]
    assert texts[2] == ["one", "one", "three"]
    assert texts[3] == ["one", "one", "two", "two", "four"]
    assert r3.output_text == "three"


def test_kept_responses_survive_a_restart_and_continue_from_the_store(fake_anthropic, make_trooper, tmp_path):
    fake_anthropic.default = echo()
    env = {**claude_env(fake_anthropic), "TROOPER_DB": str(tmp_path / "trooper.db")}
    first_run = TrooperThread(settings_from(env)).start()
    try:
        with sdk(first_run) as client:
            before = client.responses.create(model="gpt-5", input="remember tangerine")
    finally:
        first_run.stop()
    with sdk(make_trooper(**env)) as client:
        assert response_fields(client.responses.retrieve(before.id)) == response_fields(before)
        after = client.responses.create(model="gpt-5", input="what did I say?", previous_response_id=before.id)
    assert after.output_text == "what did I say?"
    messages = fake_anthropic.requests[-1].json["messages"]
    assert [(m["role"], m["content"][0]["text"]) for m in messages] == [
        ("user", "remember tangerine"), ("assistant", "remember tangerine"), ("user", "what did I say?"),
    ], "the history came from the store"


# ---------------------------------------------------------------- failures


BAD_BODIES = [
    # Built-in tools with no OpenAI configured (tests/server/test_responses_builtin_tools.py has the rest).
    ({"model": "gpt-5", "input": "x", "tools": [{"type": "web_search"}]}, "'web_search' run only on OpenAI's servers"),
    ({"model": "gpt-5", "input": "x", "tools": [{"type": "local_shell"}]}, "'local_shell' run only on OpenAI's servers"),
    ({"model": "gpt-5", "input": "x", "tools": [{"type": "custom", "name": "p", "format": {"type": "grammar", "syntax": "ebnf", "definition": "s"}}]},
     "tools[0].format.syntax: must be one of lark, regex"),
    ({"model": "gpt-5", "input": [{"type": "item_reference", "id": "msg_1"}]}, "'item_reference' items are not supported"),
    ({"model": "gpt-5", "input": "x", "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}, "text.format.name: field required"),
    ({"model": "gpt-5", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}, "file_data: field required (Trooper has no file store"),
    ({"model": "gpt-5", "input": "x", "metadata": {"n": 1}}, "metadata.n: must be a string"),
    ({"model": "gpt-5"}, "input: field required"),
]


@pytest.mark.parametrize("body,mentions", BAD_BODIES)
def test_bad_input_is_a_400_in_openai_shape_and_nothing_is_kept(claude, body, mentions):
    server, fake = claude
    with httpx.Client(base_url=server.url) as client:
        response = client.post("/v1/responses", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "invalid_request_error" and mentions in error["message"] and "param" in error and "code" in error
        assert client.get("/sessions").json()["sessions"] == [], "nothing is stored"
    assert fake.requests == []


def test_a_stream_that_breaks_and_cannot_be_rescued_ends_with_response_failed(claude):
    server, fake = claude
    fake.default = stream_cut(3, "one two three four five six")
    with sdk(server) as client:
        with client.responses.stream(model="gpt-5", input="count to six") as stream:
            events = list(stream)
        assert events[-1].type == "response.failed"
        failed = events[-1].response
        assert failed.status == "failed" and failed.error.code == "server_error" and failed.error.message
        assert "".join(e.delta for e in events if e.type == "response.output_text.delta").startswith("one two")
        fake.default = reply_text("back")
        assert client.responses.create(model="gpt-5", input="again").output_text == "back", "the server still serves"
