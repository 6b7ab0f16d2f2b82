"""Every pairing of client protocol and upstream, through the official SDKs with strict validation.

Trooper runs as a real server; each upstream is a fake HTTP server speaking the provider's wire
format. The SDKs must get correct text, usage, stop reasons and tool calls whichever provider
answers, streaming and not, sync and async.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from tests.client_tools import WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_OPENAI
from tests.fakes.behaviours import echo, reply_text, reply_tool_calls, tool_call
from tests.images import TINY_PNG

UPSTREAMS = ["claude", "openai", "gemini", "ollama"]
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture
def upstream(request, fake_anthropic, fake_openai, fake_gemini, fake_ollama, make_trooper):
    """(trooper server, the fake that will answer) for the parametrised upstream kind."""
    kind = request.param
    if kind == "claude":
        env, fake = {"CLAUDE_API_KEY": ANTHROPIC_KEY, "CLAUDE_URL": fake_anthropic.messages_url}, fake_anthropic
    elif kind == "openai":
        env, fake = {"OPENAI_API_KEY": "sk-test-openai-0123456789", "OPENAI_URL": fake_openai.chat_completions_url}, fake_openai
    elif kind == "gemini":
        env, fake = {"GEMINI_API_KEY": "AIza-test-0123456789abcdef", "GEMINI_URL": fake_gemini.chat_completions_url}, fake_gemini
    else:
        env, fake = {"FALLBACK_URL": fake_ollama.api_chat_url}, fake_ollama
    return make_trooper(**env), fake, kind


def anthropic_client(server, cls=anthropic.Anthropic):
    return cls(base_url=server.url, api_key="local", max_retries=0, _strict_response_validation=True)


def openai_client(server, cls=openai.OpenAI):
    return cls(base_url=server.url + "/v1", api_key="local", max_retries=0, _strict_response_validation=True)


# ---------------------------------------------------------------- text


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_anthropic_client_gets_text_and_usage(upstream):
    server, fake, kind = upstream
    fake.enqueue(reply_text("Seven days.", chunks=["Seven ", "days."]))
    with anthropic_client(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "how many days in a week"}]
        )
    message = raw.parse()
    assert message.content[0].type == "text" and message.content[0].text == "Seven days."
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0 and message.usage.input_tokens > 0
    assert raw.headers["x-trooper-provider"] == kind
    assert raw.headers["x-trooper-session"]


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_anthropic_client_streams_text(upstream):
    server, fake, kind = upstream
    fake.enqueue(reply_text("One two three four.", chunks=["One ", "two ", "three ", "four."]))
    with anthropic_client(server) as client:
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "count to four"}]
        ) as stream:
            pieces = list(stream.text_stream)
            message = stream.get_final_message()
    assert "".join(pieces) == "One two three four."
    assert len(pieces) >= 2, "chunks must arrive as they come, not as one buffered answer"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_openai_client_gets_text_and_usage(upstream):
    server, fake, kind = upstream
    fake.enqueue(reply_text("Seven days."))
    with openai_client(server) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "how many days in a week"}]
        )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Seven days."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens > 0
    assert raw.headers["x-trooper-provider"] == kind


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_openai_client_streams_text_with_usage(upstream):
    server, fake, _ = upstream
    fake.enqueue(reply_text("One two three four."))
    with openai_client(server) as client:
        with client.chat.completions.stream(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "count to four"}],
            stream_options={"include_usage": True},
        ) as stream:
            deltas = [e.delta for e in stream if e.type == "content.delta"]
            completion = stream.get_final_completion()
    assert "".join(deltas) == "One two three four."
    assert len(deltas) >= 2
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


@pytest.mark.parametrize("upstream", ["claude", "ollama"], indirect=True)
async def test_async_clients(upstream):
    server, fake, _ = upstream
    fake.default = reply_text("Async works.")
    async with anthropic_client(server, anthropic.AsyncAnthropic) as client:
        async with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            message = await stream.get_final_message()
        assert message.content[0].text == "Async works."
    async with openai_client(server, openai.AsyncOpenAI) as client:
        completion = await client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert completion.choices[0].message.content == "Async works."


# ---------------------------------------------------------------- tools


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_anthropic_tool_round_trip(upstream):
    server, fake, kind = upstream
    arguments = {"city": "Zürich", "units": ["c", "f"], "days": 3}
    fake.enqueue(reply_tool_calls(tool_call("get_weather", arguments), stop_reason="end_turn" if kind == "ollama" else None))
    fake.enqueue(reply_text("It is 21 °C in Zürich."))
    question = {"role": "user", "content": "weather in Zürich?"}
    with anthropic_client(server) as client:
        with client.messages.stream(
            model="claude-haiku-4-5", max_tokens=128, tools=[WEATHER_TOOL_ANTHROPIC], messages=[question]
        ) as stream:
            first = stream.get_final_message()
        assert first.stop_reason == "tool_use"
        call = next(b for b in first.content if b.type == "tool_use")
        assert call.name == "get_weather" and call.input == arguments
        final = client.messages.create(
            model="claude-haiku-4-5",
            max_tokens=128,
            tools=[WEATHER_TOOL_ANTHROPIC],
            messages=[
                question,
                {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21 C, sunny"}]},
            ],
        )
    assert final.content[0].text == "It is 21 °C in Zürich."
    assert final.stop_reason == "end_turn"
    assert "21 C, sunny" in json.dumps(fake.requests[-1].json, ensure_ascii=False)


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_openai_parallel_tool_calls_stream_in_fragments(upstream):
    server, fake, kind = upstream
    calls = [tool_call("get_weather", {"city": "Paris"}), tool_call("get_weather", {"city": "Oslo", "note": "a,b\"c"})]
    fake.enqueue(reply_tool_calls(*calls, stop_reason="end_turn" if kind == "ollama" else None))
    with openai_client(server) as client:
        with client.chat.completions.stream(
            model="gpt-4o-mini", tools=[WEATHER_TOOL_OPENAI], messages=[{"role": "user", "content": "Paris and Oslo?"}]
        ) as stream:
            completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    received = [(c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls]
    assert received == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo", "note": "a,b\"c"})]
    assert len({c.id for c in choice.message.tool_calls}) == 2


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_openai_tool_result_round_trip(upstream):
    server, fake, _ = upstream
    fake.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Lima"})))
    fake.enqueue(echo())
    messages = [{"role": "user", "content": "weather in Lima?"}]
    with openai_client(server) as client:
        first = client.chat.completions.create(model="gpt-4o-mini", tools=[WEATHER_TOOL_OPENAI], messages=messages)
        call = first.choices[0].message.tool_calls[0]
        assert first.choices[0].finish_reason == "tool_calls"
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "18 C and cloudy"},
        ]
        final = client.chat.completions.create(model="gpt-4o-mini", tools=[WEATHER_TOOL_OPENAI], messages=messages)
    assert "18 C and cloudy" in final.choices[0].message.content


# ---------------------------------------------------------------- what reaches the upstream


@pytest.mark.parametrize("upstream", UPSTREAMS, indirect=True)
def test_system_history_and_images_survive(upstream):
    server, fake, kind = upstream
    fake.enqueue(reply_text("A red pixel."))
    with anthropic_client(server) as client:
        raw = client.messages.with_raw_response.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system="You are terse.",
            messages=[
                {"role": "user", "content": "remember the word tangerine"},
                {"role": "assistant", "content": "Remembered."},
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": TINY_PNG}},
                        {"type": "text", "text": "what is in this image?"},
                    ],
                },
            ],
        )
    sent = json.dumps(fake.requests[-1].json)
    assert "You are terse." in sent
    assert "tangerine" in sent and "Remembered." in sent
    if kind == "ollama":
        # The fake's llama3.1:8b has no "vision" capability: the image becomes a visible note,
        # and the caller is told so, not only the model.
        assert TINY_PNG not in sent and "image omitted" in sent
        assert "images omitted" in raw.headers["x-trooper-decision"]
    else:
        assert TINY_PNG in sent
        assert "images omitted" not in raw.headers["x-trooper-decision"]
    # A Claude model name is never sent to another provider.
    assert kind == "claude" or "claude-haiku-4-5" not in sent


def test_client_anthropic_headers_are_forwarded(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with anthropic_client(server) as client:
        client.messages.create(
            model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}],
            extra_headers={"anthropic-beta": "tools-2024-05-16"},
        )
    headers = fake_anthropic.requests[-1].headers
    assert headers["anthropic-beta"] == "tools-2024-05-16"
    assert headers["x-api-key"] == ANTHROPIC_KEY, "a placeholder client key must not replace the configured one"


def test_a_claude_code_history_with_redacted_thinking_reaches_claude_unchanged(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    thinking = [
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIw"},
        {"type": "thinking", "thinking": "The user wants the file list.", "signature": "EqQBCkYIBxgCKkBa"},
    ]
    history = [
        {"role": "user", "content": "list the files"},
        {"role": "assistant", "content": [*thinking, {"type": "text", "text": "Here they are."}]},
        {"role": "user", "content": "and the hidden ones?"},
    ]
    with anthropic_client(server) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=history)
    assert fake_anthropic.last_request.json["messages"][1]["content"][:2] == thinking


def test_client_key_of_the_provider_is_used(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    own_key = "sk-ant-client-own-key-99999999"
    with anthropic.Anthropic(base_url=server.url, api_key=own_key, max_retries=0) as client:
        client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert fake_anthropic.requests[-1].headers["x-api-key"] == own_key


# ---------------------------------------------------------------- models, count_tokens, health


def test_models_list_validates_in_both_sdks(fake_anthropic, fake_ollama, make_trooper):
    server = make_trooper(
        CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url
    )
    with anthropic_client(server) as client:
        ids = [m.id for m in client.models.list()]
    with openai_client(server) as client:
        assert [m.id for m in client.models.list()] == ids
    assert "claude-haiku-4-5-20251001" in ids and "llama3.1:8b" in ids


def test_a_model_is_retrieved_by_id_in_both_sdks_and_an_unknown_one_is_their_404(fake_anthropic, fake_ollama, make_trooper):
    server = make_trooper(
        CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url, FALLBACK_URL=fake_ollama.api_chat_url
    )
    with anthropic_client(server) as client:
        claude = client.models.retrieve("claude-haiku-4-5-20251001")
        with pytest.raises(anthropic.NotFoundError) as unknown:
            client.models.retrieve("claude-unknown")
    with openai_client(server) as client:
        local = client.models.retrieve("llama3.1:8b")  # an Ollama tag's colon stays in the path
        with pytest.raises(openai.NotFoundError) as missing:
            client.models.retrieve("gpt-unknown")
    assert (claude.id, claude.display_name) == ("claude-haiku-4-5-20251001", "claude-haiku-4-5-20251001 (claude, cloud)")
    assert (local.id, local.owned_by) == ("llama3.1:8b", "ollama")
    assert unknown.value.response.json()["error"]["type"] == "not_found_error" and "llama3.1:8b" in unknown.value.message
    assert missing.value.response.json()["error"]["code"] == "model_not_found" and "'gpt-unknown'" in missing.value.message


def test_count_tokens(fake_anthropic, make_trooper):
    server = make_trooper(CLAUDE_API_KEY=ANTHROPIC_KEY, CLAUDE_URL=fake_anthropic.messages_url)
    with anthropic_client(server) as client:
        short = client.messages.count_tokens(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
        long = client.messages.count_tokens(
            model="claude-haiku-4-5", messages=[{"role": "user", "content": "hello there, " * 200}]
        )
    assert 0 < short.input_tokens < long.input_tokens
    paths = [r.path for r in fake_anthropic.requests]
    assert paths == ["/v1/messages/count_tokens"] * 2, "Claude's own count, and no answer is asked for"
