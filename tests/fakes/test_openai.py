"""FakeOpenAI and FakeGemini speak Chat Completions well enough for the official SDK in strict mode."""

from __future__ import annotations

import json
from typing import Iterator

import httpx
import openai
import pytest

from tests.fakes import (
    FakeGemini,
    FakeOpenAI,
    context_too_long,
    echo,
    invalid_api_key,
    missing_terminator,
    model_not_found,
    out_of_credit,
    overloaded,
    rate_limited,
    reply_text,
    reply_tool_calls,
    stream_error,
    tool_call,
)

MODEL = "gpt-4o-mini"
USER = [{"role": "user", "content": "What is the weather in Paris?"}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}}}]


def sdk_for(fake: FakeOpenAI, base_path: str = "/v1") -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=fake.url + base_path, max_retries=0, _strict_response_validation=True)


@pytest.fixture
def client(fake_openai: FakeOpenAI) -> Iterator[openai.OpenAI]:
    sdk = sdk_for(fake_openai)
    yield sdk
    sdk.close()


def data_lines(raw: str) -> list[str]:
    return [line[6:] for line in raw.splitlines() if line.startswith("data: ")]


def test_sdk_reads_a_completion(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.enqueue(reply_text("Sunny and mild."))
    completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "Sunny and mild."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (7, 4, 11)
    assert fake_openai.last_request.api_key == "sk-test"


def test_sdk_streams_chunks_with_usage_last(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.enqueue(reply_text("Hello", chunks=["Hel", "lo"]))
    stream = client.chat.completions.create(model=MODEL, messages=USER, stream=True, stream_options={"include_usage": True})  # type: ignore[arg-type]
    chunks = list(stream)
    assert [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content] == ["Hel", "lo"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 1
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_stream_without_include_usage_has_no_usage_and_ends_with_done(fake_openai: FakeOpenAI) -> None:
    raw = httpx.post(fake_openai.chat_completions_url, json={"model": MODEL, "messages": USER, "stream": True}).text
    lines = data_lines(raw)
    assert lines[-1] == "[DONE]"
    assert all("usage" not in json.loads(line) for line in lines[:-1])


def test_reasoning_content_and_reasoning_tokens(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = reply_text("Mild.", thinking="Spring in Paris.")
    body = httpx.post(fake_openai.chat_completions_url, json={"model": MODEL, "messages": USER}).json()
    assert body["choices"][0]["message"]["reasoning_content"] == "Spring in Paris."
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 4
    assert body["usage"]["completion_tokens"] == 4 + 2
    raw = httpx.post(fake_openai.chat_completions_url, json={"model": MODEL, "messages": USER, "stream": True}).text
    deltas = [json.loads(line)["choices"][0]["delta"] for line in data_lines(raw)[:-1] if json.loads(line)["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "Spring in Paris."


def test_sdk_reads_parallel_tool_calls(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"}), tool_call("get_time", {"tz": "CET"})))
    completion = client.chat.completions.create(model=MODEL, messages=USER, tools=TOOLS)  # type: ignore[arg-type]
    message = completion.choices[0].message
    assert message.content is None
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []] == [  # type: ignore[union-attr]
        ("get_weather", {"city": "Paris"}),
        ("get_time", {"tz": "CET"}),
    ]
    assert all(c.id.startswith("call_") for c in message.tool_calls or [])
    assert completion.choices[0].finish_reason == "tool_calls"


def test_streamed_tool_calls_split_arguments_by_index(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    call = tool_call("get_weather", {"city": "Paris"}, fragments=['{"ci', 'ty": "Paris"}'])
    fake_openai.enqueue(reply_tool_calls(call, tool_call("get_time", {"tz": "CET"}), text="Checking."))
    arguments: dict[int, str] = {}
    names: dict[int, str] = {}
    fragments: list[str] = []
    finish = None
    for chunk in client.chat.completions.create(model=MODEL, messages=USER, tools=TOOLS, stream=True):  # type: ignore[arg-type]
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            if delta.function and delta.function.name:
                names[delta.index] = delta.function.name
            piece = (delta.function.arguments if delta.function else None) or ""
            arguments[delta.index] = arguments.get(delta.index, "") + piece
            if piece:
                fragments.append(piece)
    assert names == {0: "get_weather", 1: "get_time"}
    assert {i: json.loads(a) for i, a in arguments.items()} == {0: {"city": "Paris"}, 1: {"tz": "CET"}}
    assert fragments[:2] == ['{"ci', 'ty": "Paris"}']
    assert finish == "tool_calls"


def test_forced_stop_reason_imitates_a_lying_upstream(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.enqueue(reply_tool_calls(tool_call("get_weather"), stop_reason="end_turn"))
    completion = client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.tool_calls


def test_echo_reflects_a_tool_message(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.default = echo()
    messages = [
        *USER,
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, clear"},
    ]
    completion = client.chat.completions.create(model=MODEL, messages=messages)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "18C, clear"


def test_in_stream_error_reaches_the_sdk(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.enqueue(stream_error(after=1))
    with pytest.raises(openai.APIError, match="overloaded"):
        list(client.chat.completions.create(model=MODEL, messages=USER, stream=True))  # type: ignore[arg-type]


def test_missing_terminator_drops_only_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(missing_terminator(text="all of it"))
    lines = data_lines(httpx.post(fake_openai.chat_completions_url, json={"model": MODEL, "messages": USER, "stream": True}).text)
    assert "[DONE]" not in lines
    assert json.loads(lines[-1])["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("behaviour", "exception", "status", "error_type", "code"),
    [
        (out_of_credit(), openai.RateLimitError, 429, "insufficient_quota", "insufficient_quota"),
        (rate_limited(), openai.RateLimitError, 429, "requests", "rate_limit_exceeded"),
        (invalid_api_key(), openai.AuthenticationError, 401, "invalid_request_error", "invalid_api_key"),
        (context_too_long(), openai.BadRequestError, 400, "invalid_request_error", "context_length_exceeded"),
        (model_not_found(), openai.NotFoundError, 404, "invalid_request_error", "model_not_found"),
        (overloaded(), openai.InternalServerError, 503, "server_error", None),
    ],
)
def test_errors_have_the_real_status_and_shape(
    fake_openai: FakeOpenAI,
    client: openai.OpenAI,
    behaviour: object,
    exception: type[openai.APIStatusError],
    status: int,
    error_type: str,
    code: str | None,
) -> None:
    fake_openai.enqueue(behaviour)  # type: ignore[arg-type]
    with pytest.raises(exception) as caught:
        client.chat.completions.create(model=MODEL, messages=USER)  # type: ignore[arg-type]
    assert caught.value.status_code == status
    assert caught.value.type == error_type
    assert caught.value.code == code


def test_retry_after_headers(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(rate_limited(retry_after=1), rate_limited(retry_after_ms=250), rate_limited())
    responses = [httpx.post(fake_openai.chat_completions_url, json={"model": MODEL, "messages": USER}) for _ in range(3)]
    assert responses[0].headers["retry-after"] == "1"
    assert responses[1].headers["retry-after-ms"] == "250" and "retry-after" not in responses[1].headers
    assert "retry-after" not in responses[2].headers and "retry-after-ms" not in responses[2].headers
    assert responses[2].headers["x-ratelimit-remaining-requests"] == "0"


def test_model_without_tool_support_rejects_tools() -> None:
    with FakeOpenAI(supports_tools=False) as fake:
        with_tools = httpx.post(fake.chat_completions_url, json={"model": "qwen-local", "messages": USER, "tools": TOOLS})
        without = httpx.post(fake.chat_completions_url, json={"model": "qwen-local", "messages": USER})
    assert with_tools.status_code == 400
    assert with_tools.json()["error"]["message"] == "qwen-local does not support tools"
    assert without.status_code == 200


def test_lists_models_for_local_servers(fake_openai: FakeOpenAI, client: openai.OpenAI) -> None:
    fake_openai.models = ["qwen2.5-7b-instruct"]
    assert [m.id for m in client.models.list()] == ["qwen2.5-7b-instruct"]


# ---------------------------------------------------------------- Gemini


def test_gemini_endpoint_works_with_the_openai_sdk(fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(reply_text("Hello", chunks=["Hel", "lo"]))
    sdk = sdk_for(fake_gemini, "/v1beta/openai")
    chunks = list(sdk.chat.completions.create(model="gemini-2.0-flash", messages=USER, stream=True, stream_options={"include_usage": True}))  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert fake_gemini.last_request.path == "/v1beta/openai/chat/completions"


def test_gemini_sends_each_tool_call_whole(fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(reply_tool_calls(tool_call("get_weather", {"city": "Paris"})))
    raw = httpx.post(fake_gemini.chat_completions_url, json={"model": "gemini-2.0-flash", "messages": USER, "stream": True}).text
    pieces = [
        call["function"]["arguments"]
        for line in data_lines(raw)[:-1]
        for call in json.loads(line)["choices"][0]["delta"].get("tool_calls", [])
        if call["function"].get("arguments")
    ]
    assert pieces == ['{"city": "Paris"}']


def test_gemini_errors_are_a_list_with_google_status(fake_gemini: FakeGemini) -> None:
    fake_gemini.enqueue(rate_limited(retry_after=2))
    response = httpx.post(fake_gemini.chat_completions_url, json={"model": "gemini-2.0-flash", "messages": USER})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json() == [
        {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED"}}
    ]
